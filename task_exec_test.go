package containerd_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

// startSleeper starts a task of container id running sleep, deleted with
// the test.
func (e *taskEnv) startSleeper(t *testing.T, id string, opts ...oci.SpecOpts) (containerd.Container, containerd.Task) {
	t.Helper()
	ctx := context.Background()
	ct := e.container(t, id, append([]oci.SpecOpts{oci.WithProcessArgs("sleep", "1000")}, opts...)...)
	task, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		t.Fatalf("NewTask = %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	return ct, task
}

// execSpec is the task's spec's process with args.
func execSpec(t *testing.T, task containerd.Task, args ...string) *specs.Process {
	t.Helper()
	s, err := task.Spec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := *s.Process
	p.Args = args
	return &p
}

// lockedBuffer is a bytes.Buffer safe for a concurrent writer and reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func runExec(t *testing.T, task containerd.Task, id string, spec *specs.Process, creator containerd.IOCreator) containerd.ExitStatus {
	t.Helper()
	ctx := context.Background()
	p, err := task.Exec(ctx, id, spec, creator)
	if err != nil {
		t.Fatalf("Exec(%s) = %v", id, err)
	}
	ch, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start of exec %s = %v", id, err)
	}
	var st containerd.ExitStatus
	select {
	case st = <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("exec %s did not exit", id)
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Fatalf("Delete of exec %s = %v", id, err)
	}
	return st
}

func TestExecStdio(t *testing.T) {
	e := newTaskEnv(t)
	_, task := e.startSleeper(t, "exec-stdio")
	ctx := context.Background()

	// stdin to stdout through cat; stderr apart; the exec's own env, cwd
	// and user.
	spec := execSpec(t, task, "sh", "-c", `cat; echo "err $FOO $(pwd) $(id -u)" >&2; exit 7`)
	spec.Env = append(spec.Env, "FOO=bar")
	spec.Cwd = "/tmp"
	spec.User = specs.User{UID: 1000, GID: 1000}
	var out, errb lockedBuffer
	st := runExec(t, task, "cat", spec, containerd.NewCreator(containerd.WithStreams(strings.NewReader("hello exec\n"), &out, &errb)))
	if st.ExitCode() != 7 || st.Error() != nil {
		t.Errorf("exit = %d, %v; want 7", st.ExitCode(), st.Error())
	}
	if out.String() != "hello exec\n" {
		t.Errorf("stdout = %q", out.String())
	}
	if errb.String() != "err bar /tmp 1000\n" {
		t.Errorf("stderr = %q", errb.String())
	}

	// The exec'd process is in the task's pid namespace and cgroup.
	p, err := task.Exec(ctx, "sleeper", execSpec(t, task, "sleep", "1000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(ctx); err != nil || st.Status != containerd.Created {
		t.Errorf("Status before Start = %v, %v", st, err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pids, err := task.Pids(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pi := range pids {
		if pi.Pid == p.Pid() {
			found = pi.ExecID == "sleeper"
		}
	}
	if !found || len(pids) != 2 {
		t.Errorf("Pids = %+v; want the init and exec sleeper (pid %d)", pids, p.Pid())
	}
	var psOut lockedBuffer
	if st := runExec(t, task, "ps", execSpec(t, task, "sh", "-c", "ls /proc | grep -c '^[0-9]'"), containerd.NewCreator(containerd.WithStreams(nil, &psOut, nil))); st.ExitCode() != 0 {
		t.Errorf("ls /proc exit %d", st.ExitCode())
	}
	// init, sleeper, sh, grep (and ls, maybe gone).
	if n := strings.TrimSpace(psOut.String()); n != "4" && n != "3" && n != "5" {
		t.Errorf("processes seen in the container's pid namespace: %q", n)
	}
	// A duplicate id, a bad id.
	if _, err := task.Exec(ctx, "sleeper", execSpec(t, task, "true"), nil); !errdefs.IsAlreadyExists(err) {
		t.Errorf("Exec of a used id = %v; want AlreadyExists", err)
	}
	if _, err := task.Exec(ctx, "../x", execSpec(t, task, "true"), nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Exec of a bad id = %v; want InvalidArgument", err)
	}
	if _, err := p.Delete(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete of a running exec = %v; want FailedPrecondition", err)
	}
	st2, err := p.Delete(ctx, containerd.WithProcessKill)
	if err != nil || st2.ExitCode() != 137 {
		t.Errorf("Delete(WithProcessKill) = %v, %v; want 137", st2, err)
	}
	// The task survives the exec's kill.
	if s, err := task.Status(ctx); err != nil || s.Status != containerd.Running {
		t.Errorf("task Status after the exec was killed = %v, %v", s, err)
	}
	if _, err := task.LoadProcess(ctx, "sleeper", nil); !errdefs.IsNotFound(err) {
		t.Errorf("LoadProcess of a deleted exec = %v; want NotFound", err)
	}
}

func TestExecCloseIO(t *testing.T) {
	e := newTaskEnv(t)
	_, task := e.startSleeper(t, "exec-closeio")
	ctx := context.Background()
	pr, pw := io.Pipe()
	defer pw.Close()
	var out lockedBuffer
	p, err := task.Exec(ctx, "wc", execSpec(t, task, "wc", "-c"), containerd.NewCreator(containerd.WithStreams(pr, &out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := p.Wait(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	// The caller's reader never ends: CloseIO is what ends wc's input.
	time.Sleep(100 * time.Millisecond)
	if err := p.CloseIO(ctx, containerd.WithStdinCloser); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-ch:
		if st.ExitCode() != 0 || strings.TrimSpace(out.String()) != "5" {
			t.Errorf("wc after CloseIO: exit %d, out %q", st.ExitCode(), out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wc did not see EOF after CloseIO")
	}
	p.Delete(ctx)
}

func TestTerminal(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	ct := e.container(t, "tty", oci.WithProcessArgs("sh", "-c", "/bin/busybox stty size; /bin/busybox tty; read x; echo got $x"))
	var out lockedBuffer
	pr, pw := io.Pipe()
	defer pw.Close()
	task, err := ct.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(pr, &out, nil), containerd.WithTerminal))
	if err != nil {
		t.Fatalf("NewTask with a terminal = %v", err)
	}
	defer task.Delete(ctx, containerd.WithProcessKill)
	if err := task.Resize(ctx, 123, 45); err != nil {
		t.Fatalf("Resize = %v", err)
	}
	ch := mustWaitTask(t, task)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("typed\n"))
	select {
	case st := <-ch:
		if st.ExitCode() != 0 {
			t.Errorf("exit %d", st.ExitCode())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit; output %q", out.String())
	}
	got := out.String()
	// The terminal echoes what is typed, and turns \n into \r\n.
	for _, want := range []string{"45 123\r\n", "/dev/pts/", "got typed\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output %q lacks %q", got, want)
		}
	}

	// An exec'd process with its own terminal, sized, and one without.
	_, sleeper := e.startSleeper(t, "tty-exec")
	var eout lockedBuffer
	spec := execSpec(t, sleeper, "sh", "-c", "/bin/busybox stty size; /bin/busybox tty")
	p, err := sleeper.Exec(ctx, "tty", spec, containerd.NewCreator(containerd.WithStreams(nil, &eout, nil), containerd.WithTerminal))
	if err != nil {
		t.Fatal(err)
	}
	// Sized before Start: the process sees its size from the first.
	if err := p.Resize(ctx, 81, 25); err != nil {
		t.Fatalf("Resize of an exec before Start = %v", err)
	}
	ech, _ := p.Wait(ctx)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-ech
	if got := eout.String(); !strings.Contains(got, "25 81\r\n") || !strings.Contains(got, "/dev/pts/") {
		t.Errorf("exec terminal output %q; want its size 25 81 and a /dev/pts tty", got)
	}
	p.Delete(ctx)
	if err := sleeper.Resize(ctx, 80, 24); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Resize of a task without a terminal = %v; want FailedPrecondition", err)
	}
	if err := sleeper.Resize(ctx, 0, 24); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Resize(0, 24) = %v; want InvalidArgument", err)
	}
}

func TestPauseResume(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	_, task := e.startSleeper(t, "pause", oci.WithProcessArgs("sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; done"))
	spec, err := task.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(spec.Root.Path, "tmp", "count")
	read := func() string {
		b, _ := os.ReadFile(counter)
		return string(b)
	}
	// advancing reports whether the counter changes within d (a read may
	// catch the file truncated by the shell's write: it changes too).
	advancing := func(d time.Duration) bool {
		a := read()
		for end := time.Now().Add(d); time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
			if read() != a {
				return true
			}
		}
		return false
	}
	if !advancing(5 * time.Second) {
		t.Fatal("the counter does not advance")
	}
	if err := task.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := task.Pause(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Pause of a paused task = %v; want FailedPrecondition", err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Paused {
		t.Errorf("Status after Pause = %v, %v", st, err)
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/freezer/dctr/default/pause/freezer.state"); err == nil && strings.TrimSpace(string(b)) != "FROZEN" {
		t.Errorf("freezer.state = %q; want FROZEN", b)
	}
	if advancing(300 * time.Millisecond) {
		t.Error("the counter advances in a paused task")
	}
	// No exec in a paused task: its process would freeze half set up.
	p, err := task.Exec(ctx, "frozen", execSpec(t, task, "true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Start of an exec in a paused task = %v; want FailedPrecondition", err)
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Errorf("Delete of the exec never started = %v", err)
	}
	if err := task.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Errorf("Status after Resume = %v, %v", st, err)
	}
	if !advancing(5 * time.Second) {
		t.Error("the counter does not advance after Resume")
	}
}

func TestUpdateAndOOM(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	_, task := e.startSleeper(t, "oom", oci.WithProcessArgs("sh", "-c", "read x < /tmp/go || true; sleep 1000"))
	limit := int64(32 << 20)
	pids := int64(50)
	if err := task.Update(ctx, containerd.WithResources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
	})); err != nil {
		t.Fatalf("Update = %v", err)
	}
	for file, want := range map[string]string{
		"/sys/fs/cgroup/memory/dctr/default/oom/memory.limit_in_bytes": "33554432",
		"/sys/fs/cgroup/pids/dctr/default/oom/pids.max":                "50",
	} {
		if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, %v; want %s", file, b, err, want)
		}
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory.Limit != uint64(limit) || m.Pids.Limit != 50 {
		t.Errorf("Metrics limits = %d, %d; want %d, 50", m.Memory.Limit, m.Pids.Limit, limit)
	}
	if err := task.Update(ctx); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Update with nothing = %v; want InvalidArgument", err)
	}

	// Exceed the limit: dd with a 200 MB buffer, one process, is killed
	// by the kernel's OOM killer.
	spec := execSpec(t, task, "/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
	st := runExec(t, task, "hog", spec, nil)
	if st.ExitCode() != 137 || !st.OOMKilled() {
		t.Errorf("hog exit = %d, OOMKilled %v; want 137 and true", st.ExitCode(), st.OOMKilled())
	}
	// A later SIGKILL is not taken for an OOM kill.
	ch := mustWaitTask(t, task)
	task.Kill(ctx, syscall.SIGKILL)
	if st := <-ch; st.OOMKilled() {
		t.Errorf("a task killed by SIGKILL reports OOMKilled")
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}

	ct := e.container(t, "oom-init", oci.WithProcessArgs("/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"),
		oci.WithMemoryLimit(uint64(limit)))
	it, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	ich := mustWaitTask(t, it)
	if err := it.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ist := <-ich:
		s, err := it.Status(ctx)
		if err != nil || !s.OOMKilled || ist.ExitCode() != 137 || !ist.OOMKilled() {
			t.Errorf("init hog: exit %d OOMKilled %v, Status %+v, %v; want 137, OOM killed", ist.ExitCode(), ist.OOMKilled(), s, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the hog was not killed")
	}
	it.Delete(ctx)
}

func TestMetricsUnderLoad(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	_, task := e.startSleeper(t, "load", oci.WithProcessArgs("sh", "-c", "read x < /tmp/none; sleep 1000"))
	before, err := task.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Busy CPU and memory for a while.
	spec := execSpec(t, task, "sh", "-c", "x=$(/bin/busybox head -c 20000000 /dev/zero | /bin/busybox tr '\\0' a); i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000")
	p, err := task.Exec(ctx, "busy", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Delete(ctx, containerd.WithProcessKill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		after, err := task.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.CPU.Usage > before.CPU.Usage+10_000_000 && after.Memory.MaxUsage > before.Memory.Usage+10<<20 && after.Pids.Current >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics did not move under load: before %+v, after %+v", before, after)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
