package containerd_test

import (
	"context"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/oci"
)

// TestTaskEvents: each /tasks topic fires once, with the right payload, at
// each step of a task's life and of an exec'd process's, OOM included.
func TestTaskEvents(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	rec := record(t, e.c, "topic~=^/tasks/")
	limit := int64(32 << 20)
	ct := e.container(t, "evt", oci.WithProcessArgs("sleep", "1000"), oci.WithMemoryLimit(uint64(limit)))
	expect := func(step string, want ...string) []*events.Envelope {
		t.Helper()
		got := rec.next()
		var tops []string
		for _, env := range got {
			if env.Topic != markTopic {
				tops = append(tops, env.Topic)
			}
		}
		if !slices.Equal(tops, want) {
			t.Errorf("%s: topics %v, want %v", step, tops, want)
		}
		return got
	}

	task, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	if c := only[events.TaskCreate](t, expect("NewTask", events.TopicTaskCreate), "default"); len(c) == 1 &&
		(c[0].ContainerID != "evt" || c[0].Pid != task.Pid() || c[0].Bundle == "") {
		t.Errorf("TaskCreate = %+v", c[0])
	}
	ch := mustWaitTask(t, task)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if s := only[events.TaskStart](t, expect("Start", events.TopicTaskStart), "default"); len(s) == 1 && (s[0].ContainerID != "evt" || s[0].Pid != task.Pid()) {
		t.Errorf("TaskStart = %+v", s[0])
	}

	spec := execSpec(t, task, "/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
	p, err := task.Exec(ctx, "hog", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := only[events.TaskExecAdded](t, expect("Exec", events.TopicTaskExecAdded), "default"); len(a) == 1 && (a[0].ContainerID != "evt" || a[0].ExecID != "hog") {
		t.Errorf("TaskExecAdded = %+v", a[0])
	}
	pch, _ := p.Wait(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-pch
	got := expect("exec'd hog", events.TopicTaskExecStarted, events.TopicTaskOOM, events.TopicTaskExit)
	if s := only[events.TaskExecStarted](t, got, "default"); len(s) == 1 && (s[0].ExecID != "hog" || s[0].Pid != p.Pid()) {
		t.Errorf("TaskExecStarted = %+v", s[0])
	}
	if o := only[events.TaskOOM](t, got, "default"); len(o) == 1 && o[0].ContainerID != "evt" {
		t.Errorf("TaskOOM = %+v", o[0])
	}
	if x := only[events.TaskExit](t, got, "default"); len(x) == 1 && (x[0].ID != "hog" || x[0].ContainerID != "evt" || x[0].ExitStatus != 137 || x[0].Pid != p.Pid() || x[0].ExitedAt.IsZero()) {
		t.Errorf("TaskExit of the exec = %+v", x[0])
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if d := only[events.TaskDelete](t, expect("exec Delete", events.TopicTaskDelete), "default"); len(d) == 1 && (d[0].ID != "hog" || d[0].ExitStatus != 137) {
		t.Errorf("TaskDelete of the exec = %+v", d[0])
	}

	if err := task.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	expect("Pause", events.TopicTaskPaused)
	if err := task.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	expect("Resume", events.TopicTaskResumed)
	// Failed steps publish nothing.
	if err := task.Resume(ctx); err == nil {
		t.Error("Resume of a running task succeeded")
	}
	if err := task.Update(ctx, containerd.WithResources(&specs.LinuxResources{})); err != nil {
		t.Fatal(err)
	}
	expect("failed Resume, Update")

	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-ch
	if x := only[events.TaskExit](t, expect("Kill", events.TopicTaskExit), "default"); len(x) == 1 && (x[0].ID != "evt" || x[0].ExitStatus != 137 || x[0].Pid != task.Pid()) {
		t.Errorf("TaskExit of the init = %+v", x[0])
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if d := only[events.TaskDelete](t, expect("Delete", events.TopicTaskDelete), "default"); len(d) == 1 && (d[0].ID != "evt" || d[0].ContainerID != "evt" || d[0].ExitStatus != 137) {
		t.Errorf("TaskDelete = %+v", d[0])
	}
}
