package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
)

func env(topic string, v any) *events.Envelope {
	return &events.Envelope{Timestamp: time.Now().UTC(), Namespace: "default", Topic: topic, Event: v}
}

// TestFeed: added envelopes pass the filters and reach the subscriber
// beside the published ones.
func TestFeed(t *testing.T) {
	x := New()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := x.SubscribeFeed(ctx, false, "topic==/a", "topic==/b")
	if err != nil {
		t.Fatalf("SubscribeFeed = %v", err)
	}
	if f.From() != 1 {
		t.Errorf("From() = %d, want 1", f.From())
	}
	x.Publish("default", "/a", 1)
	if !f.Add(env("/b", 2)) || !f.Add(env("/c", 3)) {
		t.Fatal("Add = false on a standing subscription")
	}
	x.Publish("default", "/c", 4)
	cancel()
	got, errs := drain(t, f.Events(), f.Errors())
	if len(got) != 2 || got[0].Event != 1 || got[1].Event != 2 || len(errs) != 0 {
		t.Errorf("got %d events, errors %v; want 1 and 2", len(got), errs)
	}
	<-f.Context().Done()
	if f.Add(env("/a", 5)) {
		t.Error("Add after the end = true")
	}
	if _, err := x.SubscribeFeed(context.Background(), false, "topic=="); !errdefs.IsInvalidArgument(err) {
		t.Errorf("SubscribeFeed(bad filter) = %v, want InvalidArgument", err)
	}
}

// TestFeedCut: with publishers running, the subscription gets exactly
// the events numbered from its cut on, and the sink has had all those
// before it when SubscribeFeed returns.
func TestFeedCut(t *testing.T) {
	var mu sync.Mutex
	sunk := map[uint64]bool{}
	x := New(WithBuffer(100_000), WithSink(func(seq uint64, env *events.Envelope) {
		mu.Lock()
		sunk[seq] = true
		mu.Unlock()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const publishers, each = 4, 2000
	var wg sync.WaitGroup
	start := make(chan struct{})
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				x.Publish("default", "/n", p*each+i)
			}
		}()
	}
	close(start)
	time.Sleep(time.Millisecond)
	f, err := x.SubscribeFeed(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	from := f.From()
	mu.Lock()
	for seq := uint64(1); seq < from; seq++ {
		if !sunk[seq] {
			t.Errorf("event %d, before the cut %d, not sunk when SubscribeFeed returned", seq, from)
		}
	}
	mu.Unlock()
	wg.Wait()
	cancel()
	got, _ := drain(t, f.Events(), f.Errors())
	if want := publishers*each - int(from-1); len(got) != want {
		t.Errorf("cut at %d: got %d events, want %d", from, len(got), want)
	}
	seen := map[any]bool{}
	for _, e := range got {
		if seen[e.Event] {
			t.Errorf("event %v twice", e.Event)
		}
		seen[e.Event] = true
	}
}

// TestFeedHold: held back, the published events come after what is
// added before Release, in their order.
func TestFeedHold(t *testing.T) {
	x := New(WithBuffer(4))
	ctx, cancel := context.WithCancel(context.Background())
	f, err := x.SubscribeFeed(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	x.Publish("default", "/live", 10)
	x.Publish("default", "/live", 11)
	for i := range 3 {
		if !f.Add(env("/replay", i)) {
			t.Fatal("Add = false")
		}
	}
	// The buffer has room for one: Release holds on.
	if f.Release() {
		t.Fatal("Release with no room = true")
	}
	got := []any{(<-f.Events()).Event, (<-f.Events()).Event}
	if !f.Release() {
		t.Fatal("Release with room = false")
	}
	x.Publish("default", "/live", 12)
	cancel()
	rest, errs := drain(t, f.Events(), f.Errors())
	for _, e := range rest {
		got = append(got, e.Event)
	}
	want := []any{0, 1, 2, 10, 11, 12}
	if len(got) != len(want) || len(errs) != 0 {
		t.Fatalf("got %v, errors %v; want %v", got, errs, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestFeedHoldOverflow: more published events than the buffer while
// held back is an overflow.
func TestFeedHoldOverflow(t *testing.T) {
	x := New(WithBuffer(2))
	f, err := x.SubscribeFeed(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		x.Publish("default", "/live", i)
	}
	got, errs := drain(t, f.Events(), f.Errors())
	if len(errs) != 1 || !errdefs.IsResourceExhausted(errs[0]) {
		t.Errorf("errors %v, want one ResourceExhausted", errs)
	}
	if len(got) != 2 {
		t.Errorf("got %d events after the overflow, want the 2 held", len(got))
	}
	<-f.Context().Done() // ends with the subscription
	waitFor(t, "the subscriber to go", func() bool { return x.subscribers() == 0 })
}

// TestFeedAddWaits: Add waits for room, leaving some to the published
// events, and gives up when the subscription ends; End ends it with its
// error.
func TestFeedAddWaits(t *testing.T) {
	x := New(WithBuffer(8))
	f, err := x.SubscribeFeed(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	added := make(chan int)
	go func() {
		n := 0
		for f.Add(env("/j", n)) {
			n++
			added <- n
		}
		close(added)
	}()
	for range 6 { // 8 less the quarter spared
		<-added
	}
	select {
	case n := <-added:
		t.Fatalf("Add went on to %d with the buffer nearly full", n)
	case <-time.After(50 * time.Millisecond):
	}
	if err := x.Publish("default", "/live", "x"); err != nil {
		t.Fatal(err)
	}
	// The published event took a slot: two reads make room for one more.
	<-f.Events()
	<-f.Events()
	if n := <-added; n != 7 {
		t.Errorf("after two reads, Add reached %d, want 7", n)
	}
	boom := errors.New("boom")
	f.End(boom)
	<-f.Context().Done()
	for range added {
	}
	got, errs := drain(t, f.Events(), f.Errors())
	if len(errs) != 1 || !errors.Is(errs[0], boom) || len(got) != 6 {
		t.Errorf("after End: %d events, errors %v; want 6 and boom", len(got), errs)
	}
	waitFor(t, "the subscriber to go", func() bool { return x.subscribers() == 0 })
}
