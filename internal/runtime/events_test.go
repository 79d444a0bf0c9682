//go:build cgo

package runtime

import (
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestEvents: the handler of WithEventHandler hears of the OOM kill of an
// exec'd process and of the exits of the exec'd process and the init.
func TestEvents(t *testing.T) {
	var (
		mu     sync.Mutex
		events []Event
	)
	e := newTestEnv(t, WithEventHandler(func(ev Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	ctx := testContext(t)
	limit := int64(32 << 20)
	spec := e.spec([]string{"sleep", "1000"}, func(s *specs.Spec) {
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	})
	task := e.mustCreate(t, "events", spec, IO{})
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hog := *spec.Process
	hog.Args = []string{"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"}
	p, err := task.Exec(ctx, "hog", &hog, IO{})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := p.Wait(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := <-ch; st.Code != 137 || !st.OOMKilled {
		t.Errorf("hog exit = %+v; want 137, OOM killed", st)
	}
	if err := task.Kill(ctx, 9, false); err != nil {
		t.Fatal(err)
	}
	tch, _ := task.Wait(ctx)
	if st := <-tch; st.Code != 137 || st.OOMKilled {
		t.Errorf("init exit = %+v; want 137, not OOM killed", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		var oom, hogExit, initExit int
		for _, ev := range events {
			switch {
			case ev.Type == EventOOM && ev.TaskID == "events":
				oom++
			case ev.Type == EventExit && ev.ExecID == "hog" && ev.Exit.Code == 137:
				hogExit++
			case ev.Type == EventExit && ev.ExecID == "" && ev.Pid == task.Pid():
				initExit++
			}
		}
		got := append([]Event(nil), events...)
		mu.Unlock()
		if oom == 1 && hogExit == 1 && initExit == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events = %+v; want an OOM, the hog's exit and the init's", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
