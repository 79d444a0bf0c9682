package events

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
)

// drain reads a subscription until both its channels are closed and
// returns what it got.
func drain(t *testing.T, ch <-chan *events.Envelope, errs <-chan error) ([]*events.Envelope, []error) {
	t.Helper()
	var got []*events.Envelope
	var gotErrs []error
	for ch != nil || errs != nil {
		select {
		case env, ok := <-ch:
			if !ok {
				ch = nil
				continue
			}
			got = append(got, env)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			gotErrs = append(gotErrs, err)
		}
	}
	return got, gotErrs
}

// waitFor polls cond, which the exchange makes true shortly after a
// subscription's channels are closed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPublishSubscribe(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 7200))
	x := New(WithClock(func() time.Time { return at }))
	ctx, cancel := context.WithCancel(context.Background())
	ch, errs := x.Subscribe(ctx)
	exit := &events.TaskExit{ContainerID: "c", ID: "c", Pid: 7, ExitStatus: 1}
	if err := x.Publish("ns1", exit.Topic(), exit); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	if err := x.Publish("ns2", "/example/mine", "payload"); err != nil {
		t.Fatalf("Publish(own topic) = %v", err)
	}
	cancel()
	got, gotErrs := drain(t, ch, errs)
	if len(gotErrs) != 0 {
		t.Errorf("errors after cancel = %v, want none", gotErrs)
	}
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	if e := got[0]; e.Namespace != "ns1" || e.Topic != "/tasks/exit" || e.Event != exit || !e.Timestamp.Equal(at) || e.Timestamp.Location() != time.UTC {
		t.Errorf("first envelope = %+v", e)
	}
	if e := got[1]; e.Namespace != "ns2" || e.Topic != "/example/mine" || e.Event != "payload" {
		t.Errorf("second envelope = %+v", e)
	}
	waitFor(t, "the subscriber to go", func() bool { return x.subscribers() == 0 })
}

func TestPublishRefuses(t *testing.T) {
	x := New()
	for _, tc := range []struct {
		ns, topic string
		ev        any
	}{
		{"ns", "tasks/exit", &events.TaskExit{}},
		{"ns", "", &events.TaskExit{}},
		{"ns", "/a//b", &events.TaskExit{}},
		{"", "/tasks/exit", &events.TaskExit{}},
		{"ns", "/tasks/exit", nil},
	} {
		if err := x.Publish(tc.ns, tc.topic, tc.ev); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Publish(%q, %q, %v) = %v, want InvalidArgument", tc.ns, tc.topic, tc.ev, err)
		}
	}
}

func TestFilters(t *testing.T) {
	type pub struct {
		ns string
		ev events.Event
	}
	pubs := []pub{
		{"a", &events.ImageCreate{Name: "docker.io/library/busybox:1"}},
		{"a", &events.ImageDelete{Name: "docker.io/library/redis:7"}},
		{"b", &events.ImageCreate{Name: "docker.io/library/redis:7"}},
		{"a", &events.TaskExit{ContainerID: "web", ExitStatus: 0}},
		{"b", &events.TaskExit{ContainerID: "db", ExitStatus: 137}},
		{"a", &events.ContainerDelete{ID: "web"}},
	}
	for _, tc := range []struct {
		filters []string
		want    []int // indexes into pubs
	}{
		{nil, []int{0, 1, 2, 3, 4, 5}},
		{[]string{"topic==/tasks/exit"}, []int{3, 4}},
		{[]string{"topic~=^/images/"}, []int{0, 1, 2}},
		{[]string{"topic~=|/images/.*|"}, []int{0, 1, 2}},
		{[]string{"namespace==b"}, []int{2, 4}},
		{[]string{"namespace!=b"}, []int{0, 1, 3, 5}},
		{[]string{"topic~=^/images/,namespace==a"}, []int{0, 1}},
		{[]string{"topic==/tasks/exit", "topic==/containers/delete"}, []int{3, 4, 5}},
		{[]string{"topic==/images/create,namespace==a", "namespace==b,topic==/tasks/exit"}, []int{0, 4}},
		{[]string{"event.name~=redis"}, []int{1, 2}},
		{[]string{"event.exit_status==137"}, []int{4}},
		{[]string{"event.container_id==web", "event.id==web"}, []int{3, 5}},
		{[]string{"topic==/nothing"}, nil},
	} {
		x := New()
		ctx, cancel := context.WithCancel(context.Background())
		ch, errs := x.Subscribe(ctx, tc.filters...)
		for _, p := range pubs {
			if err := x.Publish(p.ns, p.ev.Topic(), p.ev); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		got, gotErrs := drain(t, ch, errs)
		if len(gotErrs) != 0 {
			t.Errorf("Subscribe(%q): errors %v", tc.filters, gotErrs)
		}
		var gotIdx []int
		for _, env := range got {
			for i, p := range pubs {
				if env.Event == p.ev {
					gotIdx = append(gotIdx, i)
				}
			}
		}
		if fmt.Sprint(gotIdx) != fmt.Sprint(tc.want) {
			t.Errorf("Subscribe(%q) got events %v, want %v", tc.filters, gotIdx, tc.want)
		}
	}
}

func TestSubscribeInvalidFilter(t *testing.T) {
	x := New()
	for _, f := range []string{"", "topic==", "topic~=(", "labels.==x"} {
		ch, errs := x.Subscribe(context.Background(), "topic==/ok", f)
		got, gotErrs := drain(t, ch, errs)
		if len(got) != 0 || len(gotErrs) != 1 || !errdefs.IsInvalidArgument(gotErrs[0]) {
			t.Errorf("Subscribe(%q) = %d events, errors %v; want one InvalidArgument", f, len(got), gotErrs)
		}
	}
	if n := x.subscribers(); n != 0 {
		t.Errorf("%d subscribers after invalid filters, want 0", n)
	}
}

func TestSlowSubscriber(t *testing.T) {
	const buffer, total = 16, 1000
	x := New(WithBuffer(buffer))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slowCh, slowErrs := x.Subscribe(ctx) // never read until the end
	fastCh, fastErrs := x.Subscribe(ctx)
	// The fast subscriber keeps up: it reads each batch of a buffer's
	// worth of events before the next is published.
	batchRead := make(chan struct{})
	fastDone := make(chan []*events.Envelope)
	go func() {
		var got []*events.Envelope
		for env := range fastCh {
			got = append(got, env)
			if len(got)%buffer == 0 {
				batchRead <- struct{}{}
			}
			if len(got) == total {
				break
			}
		}
		fastDone <- got
	}()
	sent := make([]*events.TaskExit, total)
	for i := range total {
		sent[i] = &events.TaskExit{ContainerID: "c", Pid: uint32(i)}
		// The slow subscriber's full buffer must not block this:
		// were it to, the test would hang here.
		if err := x.Publish("default", events.TopicTaskExit, sent[i]); err != nil {
			t.Fatal(err)
		}
		if (i+1)%buffer == 0 {
			<-batchRead
		}
	}
	fast := <-fastDone
	for i, env := range fast {
		if env.Event != sent[i] {
			t.Fatalf("fast subscriber's event %d is %+v, want pid %d", i, env.Event, i)
		}
	}
	select {
	case err := <-fastErrs:
		t.Fatalf("fast subscriber's error = %v", err)
	default:
	}

	slow, errs := drain(t, slowCh, slowErrs)
	if len(slow) != buffer {
		t.Errorf("slow subscriber got %d events, want the %d buffered", len(slow), buffer)
	}
	for i, env := range slow {
		if env.Event != sent[i] {
			t.Errorf("slow subscriber's event %d is %+v, want pid %d", i, env.Event, i)
		}
	}
	if len(errs) != 1 || !errdefs.IsResourceExhausted(errs[0]) || !strings.Contains(errs[0].Error(), fmt.Sprintf("fell %d events behind", buffer)) ||
		!strings.Contains(errs[0].Error(), "/tasks/exit") {
		t.Errorf("slow subscriber's errors = %v, want one ResourceExhausted saying it fell %d behind", errs, buffer)
	}
	if n := x.subscribers(); n != 1 {
		t.Errorf("%d subscribers after the overflow, want 1 (the fast one)", n)
	}
}

func TestContextEnds(t *testing.T) {
	x := New()
	// A cancelled context closes both channels with no error.
	ctx, cancel := context.WithCancel(context.Background())
	ch, errs := x.Subscribe(ctx)
	cancel()
	if got, gotErrs := drain(t, ch, errs); len(got) != 0 || len(gotErrs) != 0 {
		t.Errorf("after cancel: %d events, errors %v; want none", len(got), gotErrs)
	}
	// A deadline is reported.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	ch, errs = x.Subscribe(dctx)
	if _, gotErrs := drain(t, ch, errs); len(gotErrs) != 1 || !errors.Is(gotErrs[0], context.DeadlineExceeded) {
		t.Errorf("after the deadline: errors %v, want DeadlineExceeded", gotErrs)
	}
	// So is a cause.
	cause := errors.New("shutting down")
	cctx, ccancel := context.WithCancelCause(context.Background())
	ch, errs = x.Subscribe(cctx)
	ccancel(cause)
	if _, gotErrs := drain(t, ch, errs); len(gotErrs) != 1 || !errors.Is(gotErrs[0], cause) {
		t.Errorf("after cancel with a cause: errors %v, want the cause", gotErrs)
	}
	// A context already done ends the subscription at once.
	ch, errs = x.Subscribe(ctx)
	if got, gotErrs := drain(t, ch, errs); len(got) != 0 || len(gotErrs) != 0 {
		t.Errorf("with a done context: %d events, errors %v; want none", len(got), gotErrs)
	}
	waitFor(t, "the subscribers to go", func() bool { return x.subscribers() == 0 })
	// Publishing afterwards is fine.
	if err := x.Publish("default", "/x", 1); err != nil {
		t.Fatal(err)
	}
}

func TestSink(t *testing.T) {
	var mu sync.Mutex
	var sunk []*events.Envelope
	var seqs []uint64
	x := New(WithSink(func(seq uint64, env *events.Envelope) {
		mu.Lock()
		sunk = append(sunk, env)
		seqs = append(seqs, seq)
		mu.Unlock()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	ch, errs := x.Subscribe(ctx, "topic==/b")
	x.Publish("default", "/a", 1)
	x.Publish("default", "/b", 2)
	x.Publish("default", "a b", 3) // refused: not sunk
	cancel()
	got, _ := drain(t, ch, errs)
	if len(sunk) != 2 || sunk[0].Topic != "/a" || sunk[1].Topic != "/b" {
		t.Errorf("sink got %v, want /a and /b", sunk)
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Errorf("sink got numbers %v, want [1 2]", seqs)
	}
	if len(got) != 1 || got[0] != sunk[1] {
		t.Errorf("subscriber got %v, want the sink's /b envelope", got)
	}
}

// TestConcurrent publishes from several goroutines while subscriptions
// come and go; run with -race.
func TestConcurrent(t *testing.T) {
	const publishers, each = 4, 500
	x := New(WithBuffer(publishers * each))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, errs := x.Subscribe(ctx)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if err := x.Publish("default", "/p", [2]int{p, i}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			sctx, scancel := context.WithCancel(ctx)
			c, e := x.Subscribe(sctx, "topic==/p")
			scancel()
			drain(t, c, e)
		}
	})
	wg.Wait()
	cancel()
	got, gotErrs := drain(t, ch, errs)
	if len(got) != publishers*each || len(gotErrs) != 0 {
		t.Fatalf("got %d events and errors %v, want %d and none", len(got), gotErrs, publishers*each)
	}
	// Each publisher's events arrive in its order.
	next := make([]int, publishers)
	for _, env := range got {
		pi := env.Event.([2]int)
		if pi[1] != next[pi[0]] {
			t.Fatalf("publisher %d's event %d came when %d was due", pi[0], pi[1], next[pi[0]])
		}
		next[pi[0]]++
	}
}

// TestNoGoroutines: a subscription holds no goroutine, and ending one
// leaves none behind.
func TestNoGoroutines(t *testing.T) {
	x := New()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	type sub struct {
		ch   <-chan *events.Envelope
		errs <-chan error
	}
	var subs []sub
	for range 100 {
		ch, errs := x.Subscribe(ctx, "topic==/x")
		subs = append(subs, sub{ch, errs})
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines with 100 subscriptions, %d before", n, before)
	}
	x.Publish("default", "/x", 1)
	cancel()
	for _, s := range subs {
		if got, _ := drain(t, s.ch, s.errs); len(got) != 1 {
			t.Errorf("subscription got %d events, want 1", len(got))
		}
	}
	waitFor(t, "the subscribers and their goroutines to go", func() bool {
		return x.subscribers() == 0 && runtime.NumGoroutine() <= before
	})
}
