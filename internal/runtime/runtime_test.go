//go:build linux && cgo

package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/internal/runtime/inithook"
	"github.com/daemonless/containerd/oci"
)

func TestRunEcho(t *testing.T) {
	e := newTestEnv(t)
	var out, errOut bytes.Buffer
	st := e.run(t, "echo", e.spec([]string{"echo", "hello"}), IO{Stdout: &out, Stderr: &errOut})
	if st.Code != 0 {
		t.Errorf("echo hello: exit %d, want 0", st.Code)
	}
	if out.String() != "hello\n" {
		t.Errorf("echo hello: stdout %q, want %q", out.String(), "hello\n")
	}
	if errOut.Len() != 0 {
		t.Errorf("echo hello: stderr %q, want nothing", errOut.String())
	}
	if st.ExitedAt.IsZero() {
		t.Error("echo hello: ExitedAt not set")
	}
}

func TestStreams(t *testing.T) {
	e := newTestEnv(t)
	script := []string{"sh", "-c", "echo out; echo err >&2"}

	t.Run("separate", func(t *testing.T) {
		var out, errOut bytes.Buffer
		e.run(t, "separate", e.spec(script), IO{Stdout: &out, Stderr: &errOut})
		if out.String() != "out\n" || errOut.String() != "err\n" {
			t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errOut.String(), "out\n", "err\n")
		}
	})
	t.Run("same writer", func(t *testing.T) {
		var both bytes.Buffer
		e.run(t, "same", e.spec(script), IO{Stdout: &both, Stderr: &both})
		if both.String() != "out\nerr\n" {
			t.Errorf("output %q, want %q", both.String(), "out\nerr\n")
		}
	})
	t.Run("file", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		e.run(t, "file", e.spec(script), IO{Stdout: f})
		got, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "out\n" {
			t.Errorf("file holds %q, want %q", got, "out\n")
		}
	})
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		st := e.run(t, "stdin", e.spec([]string{"cat"}), IO{Stdin: strings.NewReader("ping\n"), Stdout: &out})
		if st.Code != 0 || out.String() != "ping\n" {
			t.Errorf("cat: exit %d, stdout %q; want 0, %q", st.Code, out.String(), "ping\n")
		}
	})
}

func TestExitCode(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		args []string
		opts []specOpt
		want uint32
	}{
		{[]string{"true"}, nil, 0},
		{[]string{"false"}, nil, 1},
		{[]string{"sh", "-c", "exit 3"}, nil, 3},
		// Not pid 1 of a namespace: pid 1 cannot kill itself.
		{[]string{"sh", "-c", "kill -9 $$"}, []specOpt{withoutNamespace(specs.PIDNamespace)}, 128 + 9},
	} {
		st := e.run(t, "exit", e.spec(tc.args, tc.opts...), IO{})
		if st.Code != tc.want {
			t.Errorf("%q: exit %d, want %d", tc.args, st.Code, tc.want)
		}
	}
}

func TestKill(t *testing.T) {
	e := newTestEnv(t)

	// A pid 1 gets only the signals it handles (and SIGKILL): SIGTERM
	// kills sleep only where it is not its namespace's init.
	t.Run("SIGTERM", func(t *testing.T) {
		ctx := testContext(t)
		task := e.mustCreate(t, "sigterm", e.spec([]string{"sleep", "100"}, withoutNamespace(specs.PIDNamespace)), IO{})
		ch, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := task.Kill(ctx, syscall.SIGTERM, false); err != nil {
			t.Fatalf("Kill(SIGTERM) = %v", err)
		}
		if st := <-ch; st.Code != 128+15 || st.Err != nil {
			t.Errorf("sleep killed by SIGTERM: %+v, want code 143", st)
		}
		if err := task.Kill(ctx, syscall.SIGTERM, false); !errdefs.IsNotFound(err) {
			t.Errorf("Kill after exit = %v, want NotFound", err)
		}
	})
	t.Run("SIGKILL pid 1", func(t *testing.T) {
		ctx := testContext(t)
		task := e.mustCreate(t, "sigkill", e.spec([]string{"sleep", "100"}), IO{})
		ch, _ := task.Wait(ctx)
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := task.Kill(ctx, syscall.SIGKILL, false); err != nil {
			t.Fatalf("Kill(SIGKILL) = %v", err)
		}
		if st := <-ch; st.Code != 128+9 {
			t.Errorf("sleep killed by SIGKILL: %+v, want code 137", st)
		}
	})
	t.Run("all", func(t *testing.T) {
		ctx := testContext(t)
		// Two processes, neither of them pid 1 of its own namespace; the
		// script prints the pid of its child.
		outR, outW := io.Pipe()
		script := "sleep 100 >/dev/null & echo $!; wait"
		task := e.mustCreate(t, "all", e.spec([]string{"sh", "-c", script}, withoutNamespace(specs.PIDNamespace)), IO{Stdout: outW})
		ch, _ := task.Wait(ctx)
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(outR).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		child, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		// The child is not ours (the host's init reaps it): watch it
		// through a pidfd.
		pidfd, err := unix.PidfdOpen(child, 0)
		if err != nil {
			t.Fatalf("pidfd_open(%d) = %v", child, err)
		}
		defer unix.Close(pidfd)
		if err := task.Kill(ctx, syscall.SIGTERM, true); err != nil {
			t.Fatalf("Kill(SIGTERM, all) = %v", err)
		}
		if st := <-ch; st.Code != 128+15 {
			t.Errorf("sh killed by SIGTERM: %+v, want code 143", st)
		}
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, int(testTimeout/time.Millisecond)); n != 1 || err != nil {
			t.Errorf("child %d still runs after Kill(SIGTERM, all): poll = %d, %v", child, n, err)
		}
	})
}

func TestExitBeforeWait(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	task := e.mustCreate(t, "early", e.spec([]string{"sh", "-c", "exit 7"}), IO{})
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-task.exited // reaped, and nobody waited
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait after exit = %v", err)
	}
	if st := <-ch; st.Code != 7 || st.Err != nil {
		t.Errorf("Wait after exit: %+v, want code 7", st)
	}
	st, err := task.Delete(ctx, false)
	if err != nil || st.Code != 7 {
		t.Errorf("Delete = %+v, %v; want code 7", st, err)
	}
}

func TestManyWaiters(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	task := e.mustCreate(t, "waiters", e.spec([]string{"sh", "-c", "exit 5"}), IO{})
	ch1, _ := task.Wait(ctx)
	ch2, _ := task.Wait(ctx)
	select {
	case st := <-ch1:
		t.Fatalf("Wait before Start returned %+v", st)
	default:
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st1, st2 := <-ch1, <-ch2
	ch3, _ := task.Wait(ctx)
	st3 := <-ch3
	if st1.Code != 5 || st2 != st1 || st3 != st1 {
		t.Errorf("waiters got %+v, %+v, %+v; want the same status, code 5", st1, st2, st3)
	}
	if _, ok := <-ch1; ok {
		t.Error("Wait channel not closed after its status")
	}
}

func TestWaitContext(t *testing.T) {
	e := newTestEnv(t)
	task := e.mustCreate(t, "waitctx", e.spec([]string{"true"}), IO{})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	st := <-ch
	if st.Code != UnknownExitStatus || !errors.Is(st.Err, context.Canceled) {
		t.Errorf("Wait with canceled context: %+v, want UnknownExitStatus and Canceled", st)
	}
}

func TestStatus(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	stdinR, stdinW := io.Pipe()
	var out bytes.Buffer
	task := e.mustCreate(t, "status", e.spec([]string{"cat"}), IO{Stdin: stdinR, Stdout: &out})
	wantStatus := func(want Status) {
		t.Helper()
		if got, err := task.Status(ctx); got != want || err != nil {
			t.Fatalf("Status = %q, %v; want %q", got, err, want)
		}
	}
	wantStatus(Created)
	ch, _ := task.Wait(ctx)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(Running)
	if err := task.Start(ctx); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("second Start = %v, want FailedPrecondition", err)
	}
	if err := task.Pause(ctx); err != nil {
		t.Fatalf("Pause = %v", err)
	}
	wantStatus(Paused)
	if _, err := task.Delete(ctx, false); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete of a paused task = %v, want FailedPrecondition", err)
	}
	if err := task.Resume(ctx); err != nil {
		t.Fatalf("Resume = %v", err)
	}
	wantStatus(Running)
	if _, err := stdinW.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	stdinW.Close() // cat's EOF: it exits
	if st := <-ch; st.Code != 0 {
		t.Errorf("cat: %+v, want code 0", st)
	}
	wantStatus(Stopped)
	if out.String() != "ping\n" {
		t.Errorf("cat: stdout %q, want %q", out.String(), "ping\n")
	}
	if _, err := task.Delete(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Status(ctx); !errdefs.IsNotFound(err) {
		t.Errorf("Status after Delete = %v, want NotFound", err)
	}
	if _, err := task.Wait(ctx); !errdefs.IsNotFound(err) {
		t.Errorf("Wait after Delete = %v, want NotFound", err)
	}
}

func TestDelete(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	task, err := e.rt.Create(ctx, "del", e.spec([]string{"sleep", "100"}), IO{}, WithCgroupParent(e.parent+"/sub"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := task.container.State()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cgroups: %v", state.CgroupPaths)
	if len(state.CgroupPaths) == 0 {
		t.Fatal("no cgroup paths")
	}
	for _, p := range state.CgroupPaths {
		if !strings.HasSuffix(p, e.parent+"/sub/del") {
			t.Errorf("cgroup %s is not below WithCgroupParent's %s", p, e.parent+"/sub")
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("cgroup of a created task: %v", err)
		}
	}
	stateDir := filepath.Join(e.rt.StateDir(), "del")
	if _, err := os.Stat(stateDir); err != nil {
		t.Errorf("state directory of a created task: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Delete(ctx, false); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Delete(force=false) of a running task = %v, want FailedPrecondition", err)
	}
	st, err := task.Delete(ctx, true)
	if err != nil {
		t.Fatalf("Delete(force=true) = %v", err)
	}
	if st.Code != 128+9 {
		t.Errorf("Delete(force=true) = %+v, want code 137", st)
	}
	for _, p := range state.CgroupPaths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s after Delete: %v, want it gone", p, err)
		}
	}
	if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after Delete: %v, want it gone", err)
	}
	if _, err := task.Delete(ctx, false); !errdefs.IsNotFound(err) {
		t.Errorf("second Delete = %v, want NotFound", err)
	}
	removeCgroup(e.parent + "/sub")
}

func TestDeleteCreated(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	task, err := e.rt.Create(ctx, "created", e.spec([]string{"true"}), IO{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := task.Delete(ctx, false)
	if err != nil {
		t.Fatalf("Delete of a created task = %v", err)
	}
	if st.Code != 128+9 {
		t.Errorf("Delete of a created task = %+v, want code 137 (killed init)", st)
	}
}

func TestCreateErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)

	relative := e.spec([]string{"true"})
	relative.Root.Path = "rootfs"
	rlimit := e.spec([]string{"true"})
	rlimit.Process.Rlimits = append(rlimit.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS"})
	relativeBind := e.spec([]string{"true"})
	relativeBind.Mounts = append(relativeBind.Mounts, specs.Mount{Destination: "/mnt", Source: "data", Options: []string{"rbind"}})
	for _, tc := range []struct {
		name string
		id   string
		spec *specs.Spec
		is   func(error) bool
	}{
		{"bad id", "a/b", e.spec([]string{"true"}), errdefs.IsInvalidArgument},
		{"no spec", "nospec", nil, errdefs.IsInvalidArgument},
		{"relative root", "relative", relative, errdefs.IsInvalidArgument},
		{"no args", "noargs", e.spec(nil), errdefs.IsInvalidArgument},
		{"unknown rlimit", "rlimit", rlimit, errdefs.IsInvalidArgument},
		{"relative bind source", "relbind", relativeBind, errdefs.IsInvalidArgument},
		{"missing binary", "missing", e.spec([]string{"/bin/nope"}), errdefs.IsUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.rt.Create(ctx, tc.id, tc.spec, IO{})
			t.Logf("Create: %v", err)
			if !tc.is(err) {
				t.Fatalf("Create = %v, wrong kind", err)
			}
			if !strings.Contains(err.Error(), tc.id) {
				t.Errorf("Create = %v, does not name the task %q", err, tc.id)
			}
			assertNoTrace(t, e, tc.id)
		})
	}

	t.Run("duplicate", func(t *testing.T) {
		e.mustCreate(t, "dup", e.spec([]string{"true"}), IO{})
		if _, err := e.rt.Create(ctx, "dup", e.spec([]string{"true"}), IO{}); !errdefs.IsAlreadyExists(err) {
			t.Errorf("second Create = %v, want AlreadyExists", err)
		}
	})
}

// assertNoTrace checks a failed Create left no state directory and no
// cgroup.
func assertNoTrace(t *testing.T, e *testEnv, id string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(e.rt.StateDir(), id)); !errors.Is(err, os.ErrNotExist) && id != "a/b" {
		t.Errorf("state directory after a failed Create: %v, want none", err)
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*" + e.parent + "/" + id)
	if len(cgroups) > 0 {
		t.Errorf("cgroups after a failed Create: %v, want none", cgroups)
	}
}

func TestLoopback(t *testing.T) {
	e := newTestEnv(t)
	var out bytes.Buffer
	st := e.run(t, "net", e.spec([]string{"sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"}), IO{Stdout: &out})
	if st.Code != 0 {
		t.Fatalf("exit %d, output %q", st.Code, out.String())
	}
	lines := strings.Fields(out.String())
	if len(lines) != 2 || lines[0] != "lo" {
		t.Fatalf("output %q, want only lo and its flags", out.String())
	}
	flags, err := strconv.ParseUint(lines[1], 0, 32)
	if err != nil {
		t.Fatal(err)
	}
	if flags&syscall.IFF_UP == 0 {
		t.Errorf("lo flags %#x: not up", flags)
	}
}

func TestIODrainTimeout(t *testing.T) {
	// Without a pid namespace a background process outlives the init and
	// keeps its stdout open: the exit is reported after the drain timeout,
	// with the output written until then.
	e := newTestEnv(t, WithIODrainTimeout(100*time.Millisecond))
	var out bytes.Buffer
	spec := e.spec([]string{"sh", "-c", "sleep 100 & echo done"}, withoutNamespace(specs.PIDNamespace))
	st := e.run(t, "drain", spec, IO{Stdout: &out})
	if st.Code != 0 || out.String() != "done\n" {
		t.Errorf("exit %d, stdout %q; want 0, %q", st.Code, out.String(), "done\n")
	}
}

func TestOCIDefaultSpec(t *testing.T) {
	e := newTestEnv(t)
	spec, err := oci.GenerateSpec(testContext(t), nil, nil, oci.WithProcessArgs("sh", "-c", "echo ok; ls /sys/fs/cgroup >/dev/null"))
	if err != nil {
		t.Fatal(err)
	}
	spec.Root.Path = e.rootfs
	var out, errOut bytes.Buffer
	st := e.run(t, "ocidefault", spec, IO{Stdout: &out, Stderr: &errOut})
	if st.Code != 0 || out.String() != "ok\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q", st.Code, out.String(), errOut.String(), "ok\n")
	}
}

func TestSeccomp(t *testing.T) {
	e := newTestEnv(t)
	ctx := testContext(t)
	spec, err := oci.GenerateSpec(ctx, nil, nil, oci.WithProcessArgs("cat", "/proc/self/status"), oci.WithDefaultSeccompProfile)
	if err != nil {
		t.Fatal(err)
	}
	spec.Root.Path = e.rootfs
	if !seccomp.Enabled {
		_, err := e.rt.Create(ctx, "seccomp", spec, IO{})
		if !errdefs.IsNotImplemented(err) {
			t.Fatalf("Create with a seccomp profile, built without seccomp = %v, want NotImplemented", err)
		}
		assertNoTrace(t, e, "seccomp")
		t.Logf("built without seccomp: %v", err)
		return
	}
	var out bytes.Buffer
	if st := e.run(t, "seccomp", spec, IO{Stdout: &out}); st.Code != 0 {
		t.Errorf("exit %d under the default seccomp profile, want 0", st.Code)
	}
	if !strings.Contains(out.String(), "\nSeccomp:\t2\n") {
		t.Errorf("/proc/self/status in the container says no seccomp filter:\n%s", out.String())
	}

	// In effect: unshare(CLONE_NEWUSER) needs no capability, so only the
	// profile (which allows unshare only with CAP_SYS_ADMIN, as Docker's
	// does) stops it.
	unshare := func(profile bool) (uint32, string) {
		opts := []oci.SpecOpts{oci.WithProcessArgs("unshare", "-U", "true")}
		if profile {
			opts = append(opts, oci.WithDefaultSeccompProfile)
		}
		spec, err := oci.GenerateSpec(ctx, nil, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		spec.Root.Path = e.rootfs
		var out bytes.Buffer
		st := e.run(t, fmt.Sprintf("unshare-%v", profile), spec, IO{Stdout: &out, Stderr: &out})
		return st.Code, out.String()
	}
	if code, out := unshare(false); code != 0 {
		t.Skipf("unshare -U fails without seccomp too (%d: %s): user namespaces are off here", code, out)
	}
	if code, out := unshare(true); code == 0 || !strings.Contains(out, "not permitted") {
		t.Errorf("unshare -U under the default profile: exit %d, %q; want EPERM", code, out)
	}
}

func TestManyContainers(t *testing.T) {
	e := newTestEnv(t)
	for i := range 20 {
		id := fmt.Sprintf("loop-%d", i)
		if st := e.run(t, id, e.spec([]string{"sh", "-c", "exit " + strconv.Itoa(i)}), IO{}); st.Code != uint32(i) {
			t.Errorf("%s: exit %d, want %d", id, st.Code, i)
		}
	}
	entries, err := os.ReadDir(e.rt.StateDir())
	if err != nil || len(entries) != 0 {
		t.Errorf("state directory after 20 runs: %v, %v; want empty", entries, err)
	}
}

func TestConcurrent(t *testing.T) {
	e := newTestEnv(t)
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id := fmt.Sprintf("par-%d", i)
			var out bytes.Buffer
			ctx := testContext(t)
			task, err := e.rt.Create(ctx, id, e.spec([]string{"sh", "-c", "echo $0", id}), IO{Stdout: &out})
			if err != nil {
				errs <- err
				return
			}
			ch, _ := task.Wait(ctx)
			if err := task.Start(ctx); err != nil {
				errs <- err
				return
			}
			st := <-ch
			if _, err := task.Delete(ctx, false); err != nil {
				errs <- err
				return
			}
			if st.Code != 0 || out.String() != id+"\n" {
				errs <- fmt.Errorf("%s: exit %d, stdout %q", id, st.Code, out.String())
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestInitHook checks the hook leaves alone a process libcontainer did not
// start, even with the embedder's own "init" argument.
func TestInitHook(t *testing.T) {
	if inithook.IsInit() {
		t.Fatal("IsInit in a normal process")
	}
	// The embedder's own "init" argument reaches its code (TestMain),
	// with or without an empty libcontainer variable.
	for _, env := range [][]string{nil, {inithook.InitPipeEnv + "="}} {
		cmd := exec.Command(os.Args[0], "init", "a", "b")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil || string(out) != "embedder init: a b\n" {
			t.Errorf("%s init a b (env %q) = %q, %v; want the embedder's init", os.Args[0], env, out, err)
		}
	}
}

// TestInitHookReexec runs a container from the binary whose TestMain has
// its own "init": libcontainer's re-execution of it is a container init.
func TestInitHookReexec(t *testing.T) {
	e := newTestEnv(t)
	var out bytes.Buffer
	if st := e.run(t, "hook", e.spec([]string{"echo", "from the container"}), IO{Stdout: &out}); st.Code != 0 || out.String() != "from the container\n" {
		t.Errorf("container: exit %d, stdout %q", st.Code, out.String())
	}
}

func TestNew(t *testing.T) {
	if _, err := New("relative"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("New(relative) = %v, want InvalidArgument", err)
	}
	if _, err := New(t.TempDir(), WithDefaultCgroupParent("dctr")); !errdefs.IsInvalidArgument(err) {
		t.Errorf("WithDefaultCgroupParent(relative) = %v, want InvalidArgument", err)
	}
	if _, err := New(t.TempDir(), WithIODrainTimeout(-1)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("WithIODrainTimeout(-1) = %v, want InvalidArgument", err)
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	r, err := New(dir)
	if err != nil {
		t.Fatalf("New(%q) = %v", dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if r.StateDir() != dir {
		t.Errorf("StateDir = %q, want %q", r.StateDir(), dir)
	}
}

// BenchmarkRunTrue measures a whole run of /bin/true (create, start, wait,
// delete) and each step: with the tests' minimal spec, and with the oci
// package's default one (more mounts: /dev/mqueue, /run, the cgroup
// hierarchies under /sys/fs/cgroup).
func BenchmarkRunTrue(b *testing.B) {
	e := newTestEnv(b)
	b.Run("spec=minimal", func(b *testing.B) {
		benchmarkRun(b, e, e.spec([]string{"true"}))
	})
	b.Run("spec=oci-default", func(b *testing.B) {
		spec, err := oci.GenerateSpec(context.Background(), nil, nil, oci.WithProcessArgs("true"))
		if err != nil {
			b.Fatal(err)
		}
		spec.Root.Path = e.rootfs
		benchmarkRun(b, e, spec)
	})
}

func benchmarkRun(b *testing.B, e *testEnv, spec *specs.Spec) {
	ctx := context.Background()
	var create, start, wait, del time.Duration
	for i := 0; b.Loop(); i++ {
		id := "bench-" + strconv.Itoa(i)
		t0 := time.Now()
		task, err := e.rt.Create(ctx, id, spec, IO{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ch, err := task.Wait(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if st := <-ch; st.Code != 0 {
			b.Fatalf("exit %+v", st)
		}
		t3 := time.Now()
		if _, err := task.Delete(ctx, false); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		create += t1.Sub(t0)
		start += t2.Sub(t1)
		wait += t3.Sub(t2)
		del += t4.Sub(t3)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	b.ReportMetric(ms(create+start+wait+del), "ms/run")
	b.ReportMetric(ms(create), "create-ms")
	b.ReportMetric(ms(start), "start-ms")
	b.ReportMetric(ms(wait), "wait-ms")
	b.ReportMetric(ms(del), "delete-ms")
}
