package containerd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/namespaces"
)

// The journal helper is this test binary run again with journalEnv set
// (see TestJournalHelper): a second process on the test's root.
const (
	journalEnv     = "DCTR_TEST_JOURNAL"
	journalRootEnv = "DCTR_TEST_JOURNAL_ROOT"
)

// TestJournalHelper is the second process of the journal tests, not a
// test: it skips unless run with journalEnv set. It opens a client on
// the root in namespace "svc", subscribes, prints "ready", then for each
// line "blob N" or "publish N" on its standard input commits a blob of
// N bytes (printing its digest) or publishes /test/helper {"n":N},
// printing "published" either way. At the end of its input it waits for
// a /test/parent event of the test's process, prints "saw parent" and
// exits.
func TestJournalHelper(t *testing.T) {
	if os.Getenv(journalEnv) == "" {
		t.Skip("the second process of the journal tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := containerd.New(os.Getenv(journalRootEnv), containerd.WithNamespace("svc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, errs := c.Subscribe(ctx, "topic==/test/parent")
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		verb, arg, _ := strings.Cut(in.Text(), " ")
		n, _ := strconv.Atoi(arg)
		switch verb {
		case "blob":
			data := []byte(strings.Repeat("b", n))
			desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(n)}
			if err := content.WriteBlob(ctx, c.ContentStore(), "helper", strings.NewReader(string(data)), desc); err != nil {
				t.Fatal(err)
			}
			fmt.Println(desc.Digest)
		case "publish":
			if err := c.Publish(ctx, "/test/helper", map[string]int{"n": n}); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Println("published")
	}
	select {
	case env := <-ch:
		fmt.Println("saw parent", env.Event)
	case err := <-errs:
		t.Fatal(err)
	}
}

// journalHelper starts the helper on root and returns its input and
// output, once it is ready.
func journalHelper(t *testing.T, root string) (*exec.Cmd, *os.File, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), journalEnv+"=1", journalRootEnv+"="+root)
	cmd.Stderr = os.Stderr
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = stdin
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	t.Cleanup(func() {
		w.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("helper: %q, want ready", sc.Text())
	}
	return cmd, w, sc
}

// next reads one event, failing after d.
func next(t *testing.T, ch <-chan *events.Envelope, errs <-chan error, d time.Duration) *events.Envelope {
	t.Helper()
	select {
	case env, ok := <-ch:
		if !ok {
			t.Fatalf("subscription ended: %v", <-errs)
		}
		return env
	case err := <-errs:
		t.Fatalf("subscription: %v", err)
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return nil
}

// TestJournalOtherProcess: a subscriber sees the events of a client in
// another process, typed or in generic form, within 100 ms, and its own
// events once; the other process sees this one's.
func TestJournalOtherProcess(t *testing.T) {
	root := t.TempDir()
	c, err := containerd.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, errs := c.Subscribe(ctx, "topic==/content/create", "topic==/test/helper", "topic==/test/mine")

	cmd, in, out := journalHelper(t, root)
	var worst time.Duration
	for i := range 20 {
		if i%2 == 0 {
			fmt.Fprintf(in, "blob %d\n", 100+i)
		} else {
			fmt.Fprintf(in, "publish %d\n", i)
		}
		var want digest.Digest
		if out.Scan(); i%2 == 0 {
			want = digest.Digest(out.Text())
			out.Scan()
		}
		if out.Text() != "published" {
			t.Fatalf("helper: %q", out.Text())
		}
		// One of ours between: it comes once, straight.
		if err := c.Publish(ctx, "/test/mine", i); err != nil {
			t.Fatal(err)
		}
		got := []*events.Envelope{next(t, ch, errs, 5*time.Second), next(t, ch, errs, 5*time.Second)}
		if got[0].Topic == "/test/mine" {
			got[0], got[1] = got[1], got[0]
		}
		theirs, mine := got[0], got[1]
		if mine.Topic != "/test/mine" || mine.Event != i {
			t.Errorf("event %d: own event %s %v", i, mine.Topic, mine.Event)
		}
		if d := time.Since(theirs.Timestamp); d > worst {
			worst = d
		}
		if theirs.Namespace != "svc" {
			t.Errorf("event %d: namespace %q, want svc", i, theirs.Namespace)
		}
		switch e := theirs.Event.(type) {
		case *events.ContentCreate:
			if i%2 != 0 || e.Digest != want || e.Size != int64(100+i) {
				t.Errorf("event %d: %s %+v, want /content/create of %s", i, theirs.Topic, e, want)
			}
		case map[string]any:
			if i%2 != 1 || theirs.Topic != "/test/helper" || e["n"] != json.Number(strconv.Itoa(i)) {
				t.Errorf("event %d: %s %+v, want /test/helper n=%d", i, theirs.Topic, e, i)
			}
		default:
			t.Errorf("event %d: %s %T", i, theirs.Topic, e)
		}
	}
	t.Logf("the other process's events came within %v", worst)
	if worst > 100*time.Millisecond {
		t.Errorf("an event of the other process came after %v, over 100 ms", worst)
	}
	select {
	case env := <-ch:
		t.Errorf("an event more: %s %v", env.Topic, env.Event)
	case <-time.After(50 * time.Millisecond):
	}

	if err := c.Publish(namespaces.WithNamespace(ctx, "svc"), "/test/parent", "hello"); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if !out.Scan() || out.Text() != "saw parent hello" {
		t.Errorf("helper: %q, want saw parent hello", out.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
}

// TestJournalClients: two clients of one process on one root see each
// other's events, and their own once.
func TestJournalClients(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clients []*containerd.Client
	var chs []<-chan *events.Envelope
	var errss []<-chan error
	for range 2 {
		c, err := containerd.New(root)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ch, errs := c.Subscribe(ctx, "topic~=^/test/")
		clients, chs, errss = append(clients, c), append(chs, ch), append(errss, errs)
	}
	for i, c := range clients {
		if err := c.Publish(ctx, "/test/from", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range clients {
		var got []string
		for range 2 {
			env := next(t, chs[i], errss[i], 5*time.Second)
			got = append(got, fmt.Sprint(env.Event))
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"0", "1"}) {
			t.Errorf("client %d got %v, want 0 and 1", i, got)
		}
		select {
		case env := <-chs[i]:
			t.Errorf("client %d: an event more: %v", i, env.Event)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestSubscribeSince: a replay gives the events of every client since
// its time, then the new ones, each once and in each publisher's order,
// while two clients publish all along.
func TestSubscribeSince(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clients []*containerd.Client
	for range 2 {
		c, err := containerd.New(root)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	for i, c := range clients {
		c.Publish(ctx, "/test/old", i)
	}
	time.Sleep(2 * time.Millisecond)
	since := time.Now()

	// Both publish before, during and after the subscription.
	const each = 3000
	started := make(chan struct{}, 2)
	finished := make(chan struct{}, 2)
	for p, c := range clients {
		go func() {
			for i := range each {
				if i == each/3 {
					started <- struct{}{}
				}
				c.Publish(ctx, "/test/n", fmt.Sprint(p, ":", i))
				if i%4 == 0 { // a busy host, not a flood: the replay catches up
					time.Sleep(time.Millisecond)
				}
			}
			finished <- struct{}{}
		}()
	}
	<-started
	<-started
	ch, errs := clients[0].SubscribeSince(ctx, since, "topic~=^/test/")

	next := [2]int{}
	for next[0] < each || next[1] < each {
		env := nextEvent(t, ch, errs)
		if env.Topic == "/test/old" {
			t.Fatalf("replayed an event from before since: %v", env.Event)
		}
		s, _ := env.Event.(string)
		ps, is, _ := strings.Cut(s, ":")
		p, _ := strconv.Atoi(ps)
		i, _ := strconv.Atoi(is)
		if i != next[p] {
			t.Fatalf("publisher %d: event %d after %d", p, i, next[p]-1)
		}
		next[p]++
	}
	<-finished
	<-finished
	select {
	case env := <-ch:
		t.Errorf("an event more: %v", env.Event)
	case <-time.After(50 * time.Millisecond):
	}
}

func nextEvent(t *testing.T, ch <-chan *events.Envelope, errs <-chan error) *events.Envelope {
	t.Helper()
	return next(t, ch, errs, 10*time.Second)
}

// TestSubscribeSinceReplaysAll: since an old time, a new client replays
// all the journal holds, which stays within its cap, then its own new
// events.
func TestSubscribeSinceReplaysAll(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := containerd.New(root, containerd.WithEventJournal(100, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		c.Publish(ctx, "/test/n", i)
	}
	c.Close()
	var files int
	var size int64
	entries, _ := os.ReadDir(filepath.Join(root, "events"))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".jsonl") {
			files++
			size += fi.Size()
		}
	}
	if files == 0 || files > 8 || size > 64<<10 {
		t.Errorf("journal: %d files of %d bytes in all, want 1 to 8 within 64 KiB", files, size)
	}

	c2, err := containerd.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ch, errs := c2.SubscribeSince(ctx, time.Time{})
	c2.Publish(ctx, "/test/end", "end")
	var got []int
	for {
		env := nextEvent(t, ch, errs)
		if env.Topic == "/test/end" {
			break
		}
		n, _ := env.Event.(json.Number).Int64()
		got = append(got, int(n))
	}
	t.Logf("replayed %d events, %d to %d", len(got), got[0], got[len(got)-1])
	if len(got) > 100 || len(got) < 87 || got[len(got)-1] != 999 {
		t.Errorf("replayed %d events ending with %d, want 87 to 100 ending with 999", len(got), got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("replayed %d after %d", got[i], got[i-1])
		}
	}
}

// TestWithoutEventJournal: a client without a journal writes none and
// sees no other client's events; bad caps are refused.
func TestWithoutEventJournal(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet, err := containerd.New(root, containerd.WithoutEventJournal)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	ch, errs := quiet.Subscribe(ctx)
	quiet.Publish(ctx, "/test/quiet", 1)
	if env := nextEvent(t, ch, errs); env.Event != 1 {
		t.Errorf("own event %v", env.Event)
	}
	other, err := containerd.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.Publish(ctx, "/test/other", 2)
	select {
	case env := <-ch:
		t.Errorf("without a journal, got %s %v", env.Topic, env.Event)
	case <-time.After(100 * time.Millisecond):
	}
	ch2, errs2 := other.SubscribeSince(ctx, time.Time{})
	other.Publish(ctx, "/test/end", 3)
	if env := nextEvent(t, ch2, errs2); env.Topic != "/test/other" {
		t.Errorf("replay began with %s, want /test/other: the quiet client's event journaled?", env.Topic)
	}
	for _, opt := range []containerd.ClientOpt{containerd.WithEventJournal(0, 1<<20), containerd.WithEventJournal(10, 1000)} {
		if _, err := containerd.New(root, opt); !errdefs.IsInvalidArgument(err) {
			t.Errorf("New with bad journal caps = %v, want InvalidArgument", err)
		}
	}
}
