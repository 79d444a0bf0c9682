package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/namespaces"
)

// eventsProc is a running "dctr events".
type eventsProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
}

// startEvents starts dctr events args... on c's root.
func (c *cli) startEvents(args ...string) *eventsProc {
	c.t.Helper()
	t := c.t.(*testing.T)
	p := &eventsProc{t: t, lines: make(chan string, 100)}
	p.cmd = exec.Command(dctrBin, append([]string{"--root", c.root, "events"}, args...)...)
	p.cmd.Env = c.environ()
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// line returns the next line dctr events prints, within 10 s.
func (p *eventsProc) line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("dctr events ended: %s", p.stderr.String())
		}
		return l
	case <-time.After(10 * time.Second):
		p.t.Fatalf("dctr events printed nothing in 10 s")
	}
	return ""
}

// none checks that dctr events prints nothing for a while.
func (p *eventsProc) none() {
	p.t.Helper()
	select {
	case l := <-p.lines:
		p.t.Errorf("dctr events printed %q, want nothing", l)
	case <-time.After(200 * time.Millisecond):
	}
}

// interrupt stops dctr events as ^C does and checks it ends well.
func (p *eventsProc) interrupt() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatal(err)
	}
	for range p.lines {
	}
	if err := p.cmd.Wait(); err != nil || p.stderr.Len() > 0 {
		p.t.Errorf("dctr events after ^C: %v, stderr %q; want exit 0, nothing", err, p.stderr.String())
	}
}

// checkEventLine checks a line of dctr events: time, namespace, topic,
// JSON.
func checkEventLine(t *testing.T, line, ns, topic string) map[string]any {
	t.Helper()
	f := strings.SplitN(line, " ", 4)
	if len(f) != 4 {
		t.Fatalf("line %q: want time, namespace, topic and JSON", line)
	}
	at, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil || time.Since(at) > time.Hour || !strings.HasSuffix(f[0], "Z") {
		t.Errorf("line %q: time %q: %v", line, f[0], err)
	}
	if f[1] != ns || f[2] != topic {
		t.Errorf("line %q: want namespace %s, topic %s", line, ns, topic)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(f[3]), &v); err != nil {
		t.Errorf("line %q: JSON: %v", line, err)
	}
	return v
}

// TestEvents: dctr events prints the events of other processes on its
// root as they happen (those of a library client here and of another
// dctr), with --since those before it too, and ends at ^C.
func TestEvents(t *testing.T) {
	c := newCLI(t)
	lib, err := containerd.New(c.root)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	ctx := namespaces.WithNamespace(context.Background(), "svc")
	if err := lib.Publish(ctx, "/example/before", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}

	p := c.startEvents("--since", "10m")
	if v := checkEventLine(t, p.line(), "svc", "/example/before"); v["n"] != 1.0 {
		t.Errorf("replayed event %v, want n=1", v)
	}
	// Replayed: dctr events is following now.
	if err := lib.Publish(ctx, "/example/after", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if v := checkEventLine(t, p.line(), "svc", "/example/after"); v["n"] != 2.0 {
		t.Errorf("event %v, want n=2", v)
	}
	// Another dctr.
	c.ok(nil, "namespaces", "create", "team", "owner=ops")
	if v := checkEventLine(t, p.line(), "team", "/namespaces/create"); v["name"] != "team" {
		t.Errorf("event %v, want the namespace team", v)
	}
	p.none()
	p.interrupt()
}

// TestEventsFilter: filters keep what they match; without --since,
// nothing from before.
func TestEventsFilter(t *testing.T) {
	c := newCLI(t)
	lib, err := containerd.New(c.root)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	ctx := context.Background()
	lib.Publish(ctx, "/example/a", map[string]int{"n": 0})

	p := c.startEvents("--filter", "topic==/example/b", "--filter", "topic==/example/a,event.n==2")
	// Publish until dctr events is surely subscribed: the first b it
	// prints.
	deadline := time.Now().Add(10 * time.Second)
	var first string
	for first == "" && time.Now().Before(deadline) {
		lib.Publish(ctx, "/example/b", map[string]string{"k": "start"})
		select {
		case first = <-p.lines:
		case <-time.After(50 * time.Millisecond):
		}
	}
	checkEventLine(t, first, "default", "/example/b")
	for len(p.lines) > 0 { // the other starts
		<-p.lines
	}
	lib.Publish(ctx, "/example/a", map[string]int{"n": 1})
	lib.Publish(ctx, "/example/a", map[string]int{"n": 2})
	lib.Publish(ctx, "/example/c", map[string]int{"n": 2})
	if v := checkEventLine(t, p.line(), "default", "/example/a"); v["n"] != 2.0 {
		t.Errorf("event %v, want n=2", v)
	}
	p.none()
	p.interrupt()
}

func TestEventsBadInput(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "--since", "yesterday"}, "--since"},
		{[]string{"events", "--since", "-5m"}, "--since"},
		{[]string{"events", "--filter", "topic=="}, "events:"},
		{[]string{"events", "extra"}, "takes no arguments"},
	} {
		checkFailure(t, c.run(nil, tc.args...), exitUsage, tc.want)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2025-01-02T15:00:00Z":        time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC),
		"2025-01-02T16:00:00.5+01:00": time.Date(2025, 1, 2, 15, 0, 0, 5e8, time.UTC),
		"10m":                         now.Add(-10 * time.Minute),
		"1h30m":                       now.Add(-90 * time.Minute),
		"0s":                          now,
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
