package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
)

// taskEnv is a client with its own root and state directory, and a pulled
// busybox image.
type taskEnv struct {
	c     *containerd.Client
	img   containerd.Image
	root  string
	state string
}

func newTaskEnv(t *testing.T, cfg ...ocispec.ImageConfig) *taskEnv {
	t.Helper()
	testutil.RequiresContainers(t)
	e := &taskEnv{root: t.TempDir(), state: t.TempDir()}
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
	img := testutil.BusyboxImage(t)
	if len(cfg) > 0 {
		img = img.WithImageConfig(t, cfg[0])
	}
	if e.img, err = pullUnpacked(t, c, img); err != nil {
		t.Fatal(err)
	}
	return e
}

// container makes container id from the image with a new snapshot; it is
// deleted, with its task, when the test ends.
func (e *taskEnv) container(t *testing.T, id string, specOpts ...oci.SpecOpts) containerd.Container {
	t.Helper()
	ctx := context.Background()
	ct, err := e.c.NewContainer(ctx, id,
		containerd.WithImage(e.img),
		containerd.WithNewSnapshot(id+"-rootfs", e.img),
		containerd.WithNewSpec(append([]oci.SpecOpts{oci.WithImageConfig(e.img)}, specOpts...)...))
	if err != nil {
		t.Fatalf("NewContainer(%s) = %v", id, err)
	}
	t.Cleanup(func() {
		if task, err := ct.Task(ctx, nil); err == nil {
			task.Delete(ctx, containerd.WithProcessKill)
		}
		ct.Delete(ctx, containerd.WithSnapshotCleanup)
	})
	return ct
}

// runTask runs container ct's task to its end with out as stdout and stderr,
// deletes it and returns its exit status.
func runTask(t *testing.T, ct containerd.Container, out *bytes.Buffer) containerd.ExitStatus {
	t.Helper()
	ctx := context.Background()
	task, err := ct.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(nil, out, out)))
	if err != nil {
		t.Fatalf("NewTask = %v", err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	st := <-ch
	deleted, err := task.Delete(ctx)
	if err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if deleted.ExitCode() != st.ExitCode() {
		t.Errorf("Delete's status %d, Wait's %d", deleted.ExitCode(), st.ExitCode())
	}
	return st
}

// assertNoTrace checks that task id left no mount, state or cgroup.
func (e *taskEnv) assertNoTrace(t *testing.T, id, cgroupParent string) {
	t.Helper()
	if m := testutil.MountsBelow(t, e.state); len(m) > 0 {
		t.Errorf("mounts left under the state directory: %v", m)
	}
	for _, p := range []string{filepath.Join(e.state, "default", "tasks", id), filepath.Join(e.state, "default", "runc", id)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	for _, h := range []string{"memory", "pids", "cpu", "unified", ""} {
		p := filepath.Join("/sys/fs/cgroup", h, cgroupParent, id)
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left behind (%v)", p, err)
		}
	}
}

func TestTaskRun(t *testing.T) {
	e := newTaskEnv(t)
	ct := e.container(t, "hello", oci.WithProcessArgs("/bin/sh", "-c", "cat /etc/motd; echo to-stderr >&2; hostname; id -u; touch /new-file && echo rw"),
		oci.WithHostname("box"))
	var out bytes.Buffer
	st := runTask(t, ct, &out)
	if code, at, err := st.Result(); code != 0 || err != nil || at.IsZero() {
		t.Fatalf("exit = %d %v %v; output:\n%s", code, at, err, out.String())
	}
	want := "hello from a busybox container\nto-stderr\nbox\n0\nrw\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	e.assertNoTrace(t, "hello", "/dctr/default")
	// The file the task wrote is in the container's snapshot, and a
	// second task sees it.
	out.Reset()
	if err := ct.Update(context.Background(), containerd.UpdateSpec(oci.WithProcessArgs("/bin/ls", "/new-file"))); err != nil {
		t.Fatal(err)
	}
	if st := runTask(t, ct, &out); st.ExitCode() != 0 || out.String() != "/new-file\n" {
		t.Errorf("second task: %d %q", st.ExitCode(), out.String())
	}
}

func TestTaskExitCodes(t *testing.T) {
	e := newTaskEnv(t)
	for _, tc := range []struct {
		script string
		want   uint32
	}{
		{"exit 7", 7},
		{"exit 255", 255},
		{"exit 1", 1},
		{"/bin/nonexistent", 127},
	} {
		ct := e.container(t, "code", oci.WithProcessArgs("/bin/sh", "-c", tc.script))
		var out bytes.Buffer
		if st := runTask(t, ct, &out); st.ExitCode() != tc.want || st.Error() != nil {
			t.Errorf("%q: exit %d (%v), want %d", tc.script, st.ExitCode(), st.Error(), tc.want)
		}
		if err := ct.Delete(context.Background(), containerd.WithSnapshotCleanup); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTaskSignals(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "sig", oci.WithProcessArgs("/bin/sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	task, err := ct.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(nil, w, w)))
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Created {
		t.Fatalf("Status before Start = %+v, %v", st, err)
	}
	if task.Pid() == 0 {
		t.Fatal("Pid of a created task is 0")
	}
	if _, err := ct.NewTask(ctx, nil); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second NewTask = %v, want AlreadyExists", err)
	}
	if err := ct.Delete(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete of a container with a task = %v, want FailedPrecondition", err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := r.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	pids, err := task.Pids(ctx)
	if err != nil || len(pids) == 0 || pids[0].Pid == 0 {
		t.Fatalf("Pids = %v, %v", pids, err)
	}
	if m, err := task.Metrics(ctx); err != nil || m.Pids.Current < 1 || m.Memory.Usage == 0 || m.CPU.Usage == 0 {
		t.Errorf("Metrics = %+v, %v; want a process, some memory and CPU", m, err)
	}
	if _, err := task.Delete(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete of a running task = %v, want FailedPrecondition", err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st := <-ch
	if st.ExitCode() != 3 {
		t.Errorf("exit after SIGTERM = %d (%v), want 3", st.ExitCode(), st.Error())
	}
	rest := make([]byte, 64)
	n, _ := r.Read(rest)
	if !strings.Contains(string(rest[:n]), "got TERM") {
		t.Errorf("output after SIGTERM %q", rest[:n])
	}
	if s, err := task.Status(ctx); err != nil || s.Status != containerd.Stopped || s.ExitStatus != 3 {
		t.Errorf("Status after the exit = %+v, %v", s, err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); !errdefs.IsNotFound(err) {
		t.Errorf("Kill of an exited task = %v, want NotFound", err)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	e.assertNoTrace(t, "sig", "/dctr/default")
}

func TestTaskDeleteWithProcessKill(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "killme", oci.WithProcessArgs("/bin/sleep", "100"))
	task, err := ct.NewTask(ctx, nil, containerd.WithCgroupParent("/dctr-test/sub"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/sys/fs/cgroup/memory/dctr-test/sub")
	if _, err := os.Stat("/sys/fs/cgroup/pids/dctr-test/sub/killme"); err != nil {
		t.Errorf("cgroup under WithCgroupParent: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := task.Delete(ctx, containerd.WithProcessKill)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode() != 137 {
		t.Errorf("Delete(WithProcessKill) status %d, want 137", st.ExitCode())
	}
	e.assertNoTrace(t, "killme", "/dctr-test/sub")
	if _, err := ct.Task(ctx, nil); !errdefs.IsNotFound(err) {
		t.Errorf("Task after Delete = %v, want NotFound", err)
	}
	for _, h := range []string{"memory", "pids", "cpu", "freezer", "devices", "blkio", "cpuset"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", h, "dctr-test/sub"))
		os.Remove(filepath.Join("/sys/fs/cgroup", h, "dctr-test"))
	}
}

func TestTaskLogFile(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	log := filepath.Join(t.TempDir(), "task.log")
	os.WriteFile(log, []byte("before\n"), 0o600)
	ct := e.container(t, "logged", oci.WithProcessArgs("/bin/sh", "-c", "echo out; echo err >&2"))
	task, err := ct.NewTask(ctx, containerd.LogFile(log))
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := task.Wait(ctx)
	task.Start(ctx)
	<-ch
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(log); string(b) != "before\nout\nerr\n" {
		t.Errorf("log %q", b)
	}
	if _, err := ct.NewTask(ctx, containerd.LogFile(filepath.Join(t.TempDir(), "no", "dir.log"))); !errdefs.IsNotFound(err) {
		t.Errorf("LogFile in a missing directory = %v, want NotFound", err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(log, link)
	for _, p := range []string{fifo, link} {
		if _, err := ct.NewTask(ctx, containerd.LogFile(p)); !errdefs.IsInvalidArgument(err) {
			t.Errorf("LogFile(%s) = %v, want InvalidArgument", p, err)
		}
	}
	e.assertNoTrace(t, "logged", "/dctr/default")
}

// TestTaskReload loads, from a second client as another process would, a
// task the first client made.
func TestTaskReload(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "shared", oci.WithProcessArgs("/bin/sleep", "100"))
	task, err := ct.NewTask(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	parentWait, _ := task.Wait(ctx)

	c2, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ct2, err := c2.LoadContainer(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	t2, err := ct2.Task(ctx, nil)
	if err != nil {
		t.Fatalf("Task from a second client = %v", err)
	}
	if t2.Pid() != task.Pid() {
		t.Errorf("loaded pid %d, want %d", t2.Pid(), task.Pid())
	}
	if st, err := t2.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Errorf("loaded Status = %+v, %v", st, err)
	}
	if spec, err := t2.Spec(ctx); err != nil || spec.Root.Path != filepath.Join(e.state, "default", "tasks", "shared", "rootfs") {
		t.Errorf("loaded Spec root = %v, %v", spec.Root, err)
	}
	ch, err := t2.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := t2.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := <-ch
	if st.ExitCode() != containerd.UnknownExitStatus || !errors.Is(st.Error(), containerd.ErrNotParent) {
		t.Errorf("loaded task's exit = %d %v, want unknown with ErrNotParent", st.ExitCode(), st.Error())
	}
	if st := <-parentWait; st.ExitCode() != 137 {
		t.Errorf("parent's exit = %d, want 137", st.ExitCode())
	}
	if _, err := t2.Delete(ctx); err != nil {
		t.Fatalf("Delete from the second client = %v", err)
	}
	e.assertNoTrace(t, "shared", "/dctr/default")

	// The first client forgets the task the second deleted: the container
	// runs again, and is deleted, from the first.
	if _, err := ct.Task(ctx, nil); !errdefs.IsNotFound(err) {
		t.Errorf("first client's Task after the second deleted it = %v, want NotFound", err)
	}
	var out bytes.Buffer
	if err := ct.Update(ctx, containerd.UpdateSpec(oci.WithProcessArgs("/bin/echo", "again"))); err != nil {
		t.Fatal(err)
	}
	if st := runTask(t, ct, &out); st.ExitCode() != 0 || out.String() != "again\n" {
		t.Errorf("run after the task was deleted elsewhere: %d %q", st.ExitCode(), out.String())
	}
}

func TestTaskBadInput(t *testing.T) {
	ctx := context.Background()
	t.Run("no command", func(t *testing.T) {
		e := newTaskEnv(t, ocispec.ImageConfig{})
		_, err := e.c.NewContainer(ctx, "nocmd", containerd.WithImage(e.img), containerd.WithNewSnapshot("nocmd", e.img), containerd.WithNewSpec(oci.WithImageConfig(e.img)))
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "no command") {
			t.Errorf("NewContainer without a command = %v, want InvalidArgument", err)
		}
		if _, err := e.c.SnapshotService("").Stat(ctx, "nocmd"); !errdefs.IsNotFound(err) {
			t.Errorf("snapshot left by the failed NewContainer: %v", err)
		}
		if cs, _ := e.c.Containers(ctx); len(cs) != 0 {
			t.Errorf("containers left: %d", len(cs))
		}
		e.assertNoTrace(t, "nocmd", "/dctr/default")
	})
	t.Run("failure after the mount", func(t *testing.T) {
		e := newTaskEnv(t)
		// The runtime refuses an unknown rlimit: after the rootfs is
		// mounted.
		ct := e.container(t, "rlimit", func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1})
			return nil
		})
		if _, err := ct.NewTask(ctx, nil); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "RLIMIT_BOGUS") {
			t.Errorf("NewTask with an unknown rlimit = %v, want InvalidArgument naming it", err)
		}
		e.assertNoTrace(t, "rlimit", "/dctr/default")
		// A program that does not exist fails in the runtime's create.
		ct2 := e.container(t, "noprog", oci.WithProcessArgs("/no/such/program"))
		if _, err := ct2.NewTask(ctx, nil); err == nil {
			t.Error("NewTask of a missing program succeeded")
		}
		e.assertNoTrace(t, "noprog", "/dctr/default")
	})
	t.Run("users", func(t *testing.T) {
		for _, user := range []string{"2147483648", "4294967296", "-1", "nosuchuser"} {
			e := newTaskEnv(t, ocispec.ImageConfig{Cmd: []string{"id"}, User: user})
			_, err := e.c.NewContainer(ctx, "u", containerd.WithNewSnapshot("u", e.img), containerd.WithNewSpec(oci.WithImageConfig(e.img)))
			if err == nil {
				t.Errorf("USER %q accepted", user)
			}
			if _, err := e.c.SnapshotService("").Stat(ctx, "u"); !errdefs.IsNotFound(err) {
				t.Errorf("USER %q: snapshot left: %v", user, err)
			}
		}
		// A numeric USER is a uid even where a name like it is root's.
		e := newTaskEnv(t, ocispec.ImageConfig{Cmd: []string{"id"}, User: "1000"})
		ct := e.container(t, "num")
		var out bytes.Buffer
		if st := runTask(t, ct, &out); st.ExitCode() != 0 || !strings.HasPrefix(out.String(), "uid=1000(app) gid=1000(app)") {
			t.Errorf("USER 1000: %d %q", st.ExitCode(), out.String())
		}
	})
	t.Run("workdir in proc", func(t *testing.T) {
		e := newTaskEnv(t, ocispec.ImageConfig{Cmd: []string{"pwd"}, WorkingDir: "/proc/self/fd/3"})
		_, err := e.c.NewContainer(ctx, "wd", containerd.WithNewSnapshot("wd", e.img), containerd.WithNewSpec(oci.WithImageConfig(e.img)))
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("WORKDIR /proc/self/fd/3 = %v, want InvalidArgument", err)
		}
	})
}

// TestTaskWaitAfterExit: a task that exits before anyone waits still
// reports its status, to every waiter.
func TestTaskWaitAfterExit(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "early", oci.WithProcessArgs("/bin/sh", "-c", "exit 5"))
	task, err := ct.NewTask(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := task.Wait(ctx)
	task.Start(ctx)
	<-first
	for range 3 {
		ch, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case st := <-ch:
			if st.ExitCode() != 5 {
				t.Errorf("late Wait = %d, want 5", st.ExitCode())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("late Wait never answered")
		}
	}
	task.Delete(ctx)
}

// TestCloseTasks: Close leaves tasks running, or with WithKillTasksOnClose
// kills and deletes them.
func TestCloseTasks(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "survivor", oci.WithProcessArgs("/bin/sleep", "100"))
	task, err := ct.NewTask(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := task.Pid()

	// A client closed without the option leaves the task running.
	c2, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatal(err)
	}
	ct2, _ := c2.LoadContainer(ctx, "survivor")
	if _, err := ct2.Task(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Fatalf("Status after a plain Close = %+v, %v", st, err)
	}

	// One with the option kills and deletes the tasks it holds.
	c3, err := containerd.New(e.root, containerd.WithStateDir(e.state), containerd.WithKillTasksOnClose)
	if err != nil {
		t.Fatal(err)
	}
	ct3, _ := c3.LoadContainer(ctx, "survivor")
	if _, err := ct3.Task(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c3.Close(); err != nil {
		t.Fatalf("Close(WithKillTasksOnClose) = %v", err)
	}
	// This process started the task: it learns how it ended.
	if st := <-mustWaitTask(t, task); st.ExitCode() != 137 {
		t.Errorf("task's exit after the killing Close = %d, want 137", st.ExitCode())
	}
	if err := syscall.Kill(int(pid), 0); err != syscall.ESRCH {
		t.Errorf("kill(%d, 0) after the killing Close = %v, want ESRCH", pid, err)
	}
	e.assertNoTrace(t, "survivor", "/dctr/default")
}

func mustWaitTask(t *testing.T, task containerd.Task) <-chan containerd.ExitStatus {
	t.Helper()
	ch, err := task.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
