//go:build linux && cgo

package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
)

func TestLoad(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	if _, err := e.rt.Load(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Fatalf("Load of a missing task = %v, want NotFound", err)
	}
	orig := e.mustCreate(t, "loaded", e.spec([]string{"sleep", "100"}), IO{})
	ids, err := e.rt.List(ctx)
	if err != nil || !slices.Equal(ids, []string{"loaded"}) {
		t.Fatalf("List = %v, %v; want [loaded]", ids, err)
	}

	// A task loaded while created can be started from the loaded handle.
	task, err := e.rt.Load(ctx, "loaded")
	if err != nil {
		t.Fatal(err)
	}
	if task.Pid() != orig.Pid() {
		t.Errorf("loaded Pid = %d, want %d", task.Pid(), orig.Pid())
	}
	if st, err := task.Status(ctx); err != nil || st != Created {
		t.Fatalf("loaded Status = %v, %v; want created", st, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("Start of the loaded task: %v", err)
	}
	if st, err := orig.Status(ctx); err != nil || st != Running {
		t.Fatalf("Status after the loaded task started = %v, %v; want running", st, err)
	}
	pids, err := task.Pids(ctx)
	if err != nil || !slices.Contains(pids, ProcessInfo{Pid: orig.Pid()}) {
		t.Errorf("loaded Pids = %v, %v; want to hold %d", pids, err, orig.Pid())
	}
	// A handle released stops watching, and leaves the task alone.
	other, err := e.rt.Load(ctx, "loaded")
	if err != nil {
		t.Fatal(err)
	}
	released := mustWait(t, other)
	other.Release()
	if st := <-released; st.Code != UnknownExitStatus || st.Err == nil {
		t.Errorf("Wait of a released handle = %+v, want unknown with an error", st)
	}
	if st, err := orig.Status(ctx); err != nil || st != Running {
		t.Fatalf("Status after another handle was released = %v, %v; want running", st, err)
	}
	waitLoaded, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := task.Delete(ctx, false); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete of a running loaded task = %v, want FailedPrecondition", err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	// The parent learns the status; the loaded handle is told it can't.
	if st := <-mustWait(t, orig); st.Code != 137 {
		t.Errorf("parent's status = %+v, want 137", st)
	}
	st := <-waitLoaded
	if st.Code != UnknownExitStatus || !errors.Is(st.Err, ErrNotParent) {
		t.Errorf("loaded task's status = %+v, want unknown with ErrNotParent", st)
	}
	if st, err := task.Status(ctx); err != nil || st != Stopped {
		t.Errorf("loaded Status after the exit = %v, %v", st, err)
	}
	if _, err := task.Delete(ctx, false); err != nil {
		t.Fatalf("Delete of the stopped loaded task: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.rt.StateDir(), "loaded")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after Delete: %v, want gone", err)
	}
	if ids, _ := e.rt.List(ctx); len(ids) != 0 {
		t.Errorf("List after Delete = %v", ids)
	}
}

func mustWait(t *testing.T, task *Task) <-chan ExitStatus {
	t.Helper()
	ch, err := task.Wait(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
