//go:build linux && cgo

package runtime

import (
	"bufio"
	"os"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMetrics(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	limit, pids := int64(64<<20), int64(50)
	spec := e.spec([]string{"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100 & echo ready; wait"}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	task := e.mustCreate(t, "metrics", spec, IO{Stdout: w})
	w.Close()
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// sh has looped and started sleep once it says ready.
	if line, err := bufio.NewReader(r).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory.Limit != uint64(limit) || m.Memory.Usage == 0 {
		t.Errorf("memory %+v, want limit %d and some usage", m.Memory, limit)
	}
	if m.Pids.Limit != uint64(pids) || m.Pids.Current < 2 {
		t.Errorf("pids %+v, want limit %d and sh plus sleep", m.Pids, pids)
	}
	if m.CPU.Usage == 0 || m.Timestamp.IsZero() {
		t.Errorf("cpu %+v at %v, want some usage", m.CPU, m.Timestamp)
	}
	if err := task.Kill(ctx, syscall.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	<-mustWait(t, task)
	if _, err := task.Delete(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Metrics(ctx); err == nil {
		t.Error("Metrics of a deleted task succeeded")
	}
}
