package containerd_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
)

// The starter is this test binary run again with starterEnv set to a mode
// (see TestReattachStarter): a process that starts tasks on a root and a
// state directory it shares with the test, and then exits or is killed.
const (
	starterEnv      = "DCTR_TEST_STARTER"
	starterRootEnv  = "DCTR_TEST_STARTER_ROOT"
	starterStateEnv = "DCTR_TEST_STARTER_STATE"
	starterImageEnv = "DCTR_TEST_STARTER_IMAGE"
	starterLogEnv   = "DCTR_TEST_STARTER_LOG"
)

// starter returns the command running the starter in mode on e's root
// and state directory. It is killed, if still running, when the test ends.
func (e *taskEnv) starter(t *testing.T, mode, logFile string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReattachStarter$", "-test.count=1")
	cmd.Env = append(os.Environ(), starterEnv+"="+mode, starterRootEnv+"="+e.root,
		starterStateEnv+"="+e.state, starterImageEnv+"="+e.img.Name(), starterLogEnv+"="+logFile)
	cmd.Stderr = os.Stderr
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// starterFacts parses the "fact: key value" lines of the starter's output.
func starterFacts(t *testing.T, out []byte) map[string]string {
	t.Helper()
	facts := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "fact: "), " "); ok && strings.HasPrefix(line, "fact: ") {
			facts[k] = v
		}
	}
	return facts
}

// TestReattachStarter is the starter process, not a test: run by the
// tests below with starterEnv set, it skips otherwise. Its modes:
//
//   - start: container "reattach" runs a task that logs "started" to the
//     log file and sleeps; the starter closes its client and exits.
//   - exec: container "reattach-exec" runs a sleeping task and an exec'd
//     sleep, "exec-1"; the starter exits.
//   - crash: containers "crashed" (a task that exits once /done exists in
//     its root), "running" (a sleep) and "exited" (exits at once, waited
//     for); the starter prints "fact: ready 1" and sleeps until killed.
func TestReattachStarter(t *testing.T) {
	mode := os.Getenv(starterEnv)
	if mode == "" {
		t.Skip("the starter process of the reattach tests")
	}
	ctx := context.Background()
	c, err := containerd.New(os.Getenv(starterRootEnv), containerd.WithStateDir(os.Getenv(starterStateEnv)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := c.GetImage(ctx, os.Getenv(starterImageEnv))
	if err != nil {
		t.Fatal(err)
	}
	start := func(id string, io containerd.IOCreator, args ...string) containerd.Task {
		t.Helper()
		ct, err := c.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id+"-rootfs", img),
			containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs(args...)))
		if err != nil {
			t.Fatalf("NewContainer(%s) = %v", id, err)
		}
		task, err := ct.NewTask(ctx, io)
		if err != nil {
			t.Fatalf("NewTask(%s) = %v", id, err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatalf("Start(%s) = %v", id, err)
		}
		fmt.Printf("fact: %s-pid %d\n", id, task.Pid())
		return task
	}
	switch mode {
	case "start":
		start("reattach", containerd.LogFile(os.Getenv(starterLogEnv)), "sh", "-c", "echo started; exec sleep 1000")
	case "exec":
		task := start("reattach-exec", containerd.NullIO, "sleep", "1000")
		spec, err := task.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps := *spec.Process
		ps.Args = []string{"sleep", "1000"}
		p, err := task.Exec(ctx, "exec-1", &ps, containerd.NullIO)
		if err != nil {
			t.Fatalf("Exec = %v", err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatalf("Start of exec-1 = %v", err)
		}
		fmt.Printf("fact: exec-1-pid %d\n", p.Pid())
	case "crash":
		start("crashed", containerd.NullIO, "sh", "-c", "until [ -e /done ]; do sleep 0.05; done")
		start("running", containerd.NullIO, "sleep", "1000")
		exited := start("exited", containerd.NullIO, "true")
		ch, err := exited.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		fmt.Println("fact: ready 1")
		time.Sleep(time.Hour) // until killed: the client and its tasks stay held
	default:
		t.Fatalf("unknown starter mode %q", mode)
	}
	// Without deleting anything: the tasks keep running.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// deleteContainerAtEnd deletes container id of c, with its task, when the
// test ends.
func deleteContainerAtEnd(t *testing.T, c *containerd.Client, id string) {
	t.Cleanup(func() {
		ctx := context.Background()
		ct, err := c.LoadContainer(ctx, id)
		if err != nil {
			return
		}
		if task, err := ct.Task(ctx, nil); err == nil {
			task.Delete(ctx, containerd.WithProcessKill)
		}
		ct.Delete(ctx, containerd.WithSnapshotCleanup)
	})
}

// loadTask loads the task of container id through c.
func loadTask(t *testing.T, c *containerd.Client, id string) (containerd.Container, containerd.Task) {
	t.Helper()
	ctx := context.Background()
	ct, err := c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("LoadContainer(%s) = %v", id, err)
	}
	task, err := ct.Task(ctx, nil)
	if err != nil {
		t.Fatalf("Task(%s) = %v", id, err)
	}
	return ct, task
}

// execEcho runs echo in task from this process, which is its parent:
// its output and exit code are known.
func execEcho(t *testing.T, task containerd.Task, id, word string) {
	t.Helper()
	ctx := context.Background()
	spec, err := task.Spec(ctx)
	if err != nil {
		t.Fatalf("Spec = %v", err)
	}
	ps := *spec.Process
	ps.Args = []string{"echo", word}
	var out lockedBuffer
	p, err := task.Exec(ctx, id, &ps, containerd.NewCreator(containerd.WithStreams(nil, &out, &out)))
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
	select {
	case st := <-ch:
		if code, _, err := st.Result(); code != 0 || err != nil {
			t.Errorf("exec %s exit = %d, %v; want 0", id, code, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("exec %s did not exit", id)
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Fatalf("Delete of exec %s = %v", id, err)
	}
	if got := out.String(); got != word+"\n" {
		t.Errorf("exec %s output %q, want %q", id, got, word+"\n")
	}
}

// killLoaded kills a task this process did not start and checks what its
// Wait, Status and Delete report: the exit status is unknown here.
func killLoaded(t *testing.T, task containerd.Task) {
	t.Helper()
	ctx := context.Background()
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatalf("Kill = %v", err)
	}
	select {
	case st := <-ch:
		if st.ExitCode() != containerd.UnknownExitStatus || !errors.Is(st.Error(), containerd.ErrNotParent) {
			t.Errorf("Wait's status = %d, %v; want %d with ErrNotParent", st.ExitCode(), st.Error(), containerd.UnknownExitStatus)
		}
		if st.ExitTime().IsZero() {
			t.Error("Wait's status has no exit time")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not return after SIGKILL")
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Stopped || st.ExitStatus != containerd.UnknownExitStatus {
		t.Errorf("Status after the exit = %+v, %v; want stopped, exit status unknown", st, err)
	}
	st, err := task.Delete(ctx)
	if err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if st.ExitCode() != containerd.UnknownExitStatus || !errors.Is(st.Error(), containerd.ErrNotParent) {
		t.Errorf("Delete's status = %d, %v; want %d with ErrNotParent", st.ExitCode(), st.Error(), containerd.UnknownExitStatus)
	}
}

// TestTaskReattach: a task started by a process that has exited is found
// by a new client, works as one this process made, and is killed and
// deleted from here; its exit status is unknown here.
func TestTaskReattach(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	logFile := filepath.Join(t.TempDir(), "task.log")
	deleteContainerAtEnd(t, e.c, "reattach")
	out, err := e.starter(t, "start", logFile).Output()
	if err != nil {
		t.Fatalf("starter = %v; output:\n%s", err, out)
	}
	pid, _ := strconv.Atoi(starterFacts(t, out)["reattach-pid"])
	if pid == 0 {
		t.Fatalf("starter gave no pid; output:\n%s", out)
	}

	// New's cleanup leaves a running task alone, and says so.
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.Cleanup(ctx)
	if err != nil || len(rep.Removed) != 0 || !slices.Equal(rep.Detached, []containerd.TaskRef{{Namespace: "default", ID: "reattach"}}) {
		t.Errorf("Cleanup = %+v, %v; want reattach detached, nothing removed", rep, err)
	}

	ct, task := loadTask(t, c, "reattach")
	if task.Pid() != uint32(pid) {
		t.Errorf("Pid = %d, the starter's %d", task.Pid(), pid)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Fatalf("Status = %+v, %v; want running", st, err)
	}
	// Cleanup leaves a task this client holds.
	if rep, err := c.Cleanup(ctx); err != nil || len(rep.Removed)+len(rep.Detached) != 0 {
		t.Errorf("Cleanup with the task held = %+v, %v; want nothing", rep, err)
	}
	// The log keeps what the task wrote before and after its starter
	// exited.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(logFile)
		if err == nil && string(b) == "started\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log file = %q, %v; want %q", b, err, "started\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pids, err := task.Pids(ctx)
	if err != nil || !slices.Contains(pids, containerd.ProcessInfo{Pid: uint32(pid)}) {
		t.Errorf("Pids = %v, %v; want the init %d", pids, err, pid)
	}
	execEcho(t, task, "echo-1", "hi")
	m, err := task.Metrics(ctx)
	if err != nil || m.Pids.Current < 1 || m.Memory.Usage == 0 {
		t.Errorf("Metrics = %+v, %v", m, err)
	}
	if err := task.Pause(ctx); err != nil {
		t.Fatalf("Pause = %v", err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Paused {
		t.Errorf("Status after Pause = %+v, %v", st, err)
	}
	if err := task.Resume(ctx); err != nil {
		t.Fatalf("Resume = %v", err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Errorf("Status after Resume = %+v, %v", st, err)
	}
	killLoaded(t, task)
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatalf("container Delete = %v", err)
	}
	e.assertNoTrace(t, "reattach", "/dctr/default")
}

// TestTaskReattachExec: a process exec'd by a process that has exited is
// listed by Pids with its exec id and loaded by LoadProcess.
func TestTaskReattachExec(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	deleteContainerAtEnd(t, e.c, "reattach-exec")
	out, err := e.starter(t, "exec", "").Output()
	if err != nil {
		t.Fatalf("starter = %v; output:\n%s", err, out)
	}
	facts := starterFacts(t, out)
	execPid, _ := strconv.Atoi(facts["exec-1-pid"])
	if execPid == 0 {
		t.Fatalf("starter gave no exec pid; output:\n%s", out)
	}
	ct, task := loadTask(t, e.c, "reattach-exec")
	pids, err := task.Pids(ctx)
	if err != nil || !slices.Contains(pids, containerd.ProcessInfo{Pid: uint32(execPid), ExecID: "exec-1"}) {
		t.Errorf("Pids = %v, %v; want exec-1 as %d", pids, err, execPid)
	}
	p, err := task.LoadProcess(ctx, "exec-1", nil)
	if err != nil {
		t.Fatalf("LoadProcess(exec-1) = %v", err)
	}
	if p.Pid() != uint32(execPid) {
		t.Errorf("loaded exec's Pid = %d, want %d", p.Pid(), execPid)
	}
	if st, err := p.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Errorf("loaded exec's Status = %+v, %v; want running", st, err)
	}
	if _, err := task.LoadProcess(ctx, "exec-2", nil); !errdefs.IsNotFound(err) {
		t.Errorf("LoadProcess(exec-2) = %v, want NotFound", err)
	}
	ch, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatalf("Kill of exec-1 = %v", err)
	}
	select {
	case st := <-ch:
		if st.ExitCode() != containerd.UnknownExitStatus || !errors.Is(st.Error(), containerd.ErrNotParent) {
			t.Errorf("exec-1's status = %d, %v; want unknown with ErrNotParent", st.ExitCode(), st.Error())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("exec-1's Wait did not return after SIGKILL")
	}
	if _, err := p.Delete(ctx); err != nil {
		t.Fatalf("Delete of exec-1 = %v", err)
	}
	if pids, err := task.Pids(ctx); err != nil || len(pids) != 1 || pids[0].ExecID != "" {
		t.Errorf("Pids after exec-1 ended = %v, %v; want the init alone", pids, err)
	}
	killLoaded(t, task)
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatalf("container Delete = %v", err)
	}
	e.assertNoTrace(t, "reattach-exec", "/dctr/default")
}

// TestTaskCleanupAfterCrash: the starter is killed with SIGKILL while its
// tasks run. Cleanup removes each task no one holds once it has exited —
// mount, cgroup, state and bundle — and leaves those still running, and
// those a live client holds, whatever their state.
func TestTaskCleanupAfterCrash(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	for _, id := range []string{"crashed", "running", "exited"} {
		deleteContainerAtEnd(t, e.c, id)
	}
	// A task this process holds, whose init has exited.
	held := e.container(t, "held", oci.WithProcessArgs("true"))
	heldTask, err := held.NewTask(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	heldExit := mustWaitTask(t, heldTask)
	if err := heldTask.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-heldExit

	cmd := e.starter(t, "crash", "")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "fact: ready 1" {
			break
		}
	}
	facts := starterFacts(t, out.Bytes())
	if facts["ready"] != "1" {
		cmd.Wait()
		t.Fatalf("starter did not get ready; output:\n%s", out.String())
	}
	crashedPid, _ := strconv.Atoi(facts["crashed-pid"])

	// While the starter lives, it holds its tasks, even the one that
	// exited.
	rep, err := e.c.Cleanup(ctx)
	if err != nil || len(rep.Removed)+len(rep.Detached) != 0 {
		t.Errorf("Cleanup while the starter lives = %+v, %v; want nothing", rep, err)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The task that had exited goes; the others run on.
	rep, err = e.c.Cleanup(ctx)
	want := containerd.CleanupReport{
		Removed:  []containerd.TaskRef{{Namespace: "default", ID: "exited"}},
		Detached: []containerd.TaskRef{{Namespace: "default", ID: "crashed"}, {Namespace: "default", ID: "running"}},
	}
	if err != nil || !slices.Equal(rep.Removed, want.Removed) || !slices.Equal(rep.Detached, want.Detached) {
		t.Errorf("Cleanup after the crash = %+v, %v; want %+v", rep, err, want)
	}
	e.assertTaskGone(t, "exited")

	// The crashed task exits, reaped by whoever inherited it.
	done := filepath.Join(e.state, "default", "tasks", "crashed", "rootfs", "done")
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !exitedOrZombie(crashedPid) {
		if time.Now().After(deadline) {
			t.Fatalf("crashed task's init %d did not exit", crashedPid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := filepath.Join(e.state, "default", "tasks", "crashed", "rootfs"); !slices.Contains(testutil.MountsBelow(t, e.state), m) {
		t.Fatalf("the crashed task's root is not mounted at %s before New", m)
	}

	// New cleans it.
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	defer c.Close()
	for _, m := range testutil.MountsBelow(t, e.state) {
		if !strings.Contains(m, "/running/") && !strings.Contains(m, "/held/") {
			t.Errorf("mount left after New: %s", m)
		}
	}
	e.assertTaskGone(t, "crashed")
	if rep, err := c.Cleanup(ctx); err != nil || len(rep.Removed) != 0 {
		t.Errorf("Cleanup after New = %+v, %v; want nothing removed", rep, err)
	}

	// The task another client holds is there still, and its starter
	// learns how it ended.
	if st, err := heldTask.Delete(ctx); err != nil || st.ExitCode() != 0 || st.Error() != nil {
		t.Errorf("Delete of the held task = %v, %v; want exit 0", st, err)
	}
	e.assertTaskGone(t, "held")

	// The running task is left alone and works.
	ct, task := loadTask(t, c, "running")
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		t.Fatalf("Status of the running task = %+v, %v", st, err)
	}
	execEcho(t, task, "echo-1", "alive")
	killLoaded(t, task)
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatalf("Delete(running) = %v", err)
	}
	e.assertNoTrace(t, "running", "/dctr/default")
	for _, id := range []string{"crashed", "exited"} {
		ct, err := c.LoadContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			t.Errorf("Delete(%s) after Cleanup = %v", id, err)
		}
	}
}

// TestCleanupAfterClose: Close lets go of the tasks the client holds;
// Cleanup then removes each once it has exited. It removes a bundle left
// without state and a state directory an interrupted create left without
// its state file.
func TestCleanupAfterClose(t *testing.T) {
	e := newTaskEnv(t)
	ctx := context.Background()
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deleteContainerAtEnd(t, e.c, "closed")
	ct, err := c.NewContainer(ctx, "closed", containerd.WithImage(e.img), containerd.WithNewSnapshot("closed-rootfs", e.img),
		containerd.WithNewSpec(oci.WithImageConfig(e.img), oci.WithProcessArgs("true")))
	if err != nil {
		t.Fatal(err)
	}
	task, err := ct.NewTask(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := mustWaitTask(t, task)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-ch
	if rep, err := e.c.Cleanup(ctx); err != nil || len(rep.Removed) != 0 {
		t.Errorf("Cleanup while the client holds the task = %+v, %v; want nothing removed", rep, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Remains of a crash during NewTask: a bundle without state, and a
	// state directory without its state file.
	for _, d := range []string{"tasks/nostate/rootfs", "runc/halfmade"} {
		if err := os.MkdirAll(filepath.Join(e.state, "default", d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.state, "default", "runc", "halfmade", "exec.fifo"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := e.c.Cleanup(ctx)
	want := []containerd.TaskRef{{Namespace: "default", ID: "closed"}, {Namespace: "default", ID: "halfmade"}, {Namespace: "default", ID: "nostate"}}
	if err != nil || !slices.Equal(rep.Removed, want) || len(rep.Detached) != 0 {
		t.Errorf("Cleanup after Close = %+v, %v; want %v removed", rep, err, want)
	}
	for _, id := range []string{"closed", "halfmade", "nostate"} {
		e.assertNoTrace(t, id, "/dctr/default")
	}
	ct, err = e.c.LoadContainer(ctx, "closed")
	if err != nil {
		t.Fatal(err)
	}
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Errorf("container Delete after Cleanup = %v", err)
	}
	// An empty or missing state directory is nothing to clean.
	if rep, err := e.c.Cleanup(ctx); err != nil || len(rep.Removed)+len(rep.Detached) != 0 {
		t.Errorf("Cleanup of a clean state directory = %+v, %v", rep, err)
	}
	other, err := containerd.New(e.root, containerd.WithStateDir(filepath.Join(t.TempDir(), "none")))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if rep, err := other.Cleanup(ctx); err != nil || len(rep.Removed)+len(rep.Detached) != 0 {
		t.Errorf("Cleanup of a missing state directory = %+v, %v", rep, err)
	}
}

// assertTaskGone checks that task id left no mount, state, bundle or
// cgroup: assertNoTrace for one task while others still run.
func (e *taskEnv) assertTaskGone(t *testing.T, id string) {
	t.Helper()
	for _, m := range testutil.MountsBelow(t, e.state) {
		if strings.Contains(m, "/"+id+"/") {
			t.Errorf("mount of %s left: %s", id, m)
		}
	}
	for _, p := range []string{filepath.Join(e.state, "default", "tasks", id), filepath.Join(e.state, "default", "runc", id)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	for _, h := range []string{"memory", "pids", "cpu", "unified", ""} {
		p := filepath.Join("/sys/fs/cgroup", h, "dctr", "default", id)
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s left behind (%v)", p, err)
		}
	}
}

// exitedOrZombie reports whether process pid has exited: gone, or a
// zombie no one has reaped yet.
func exitedOrZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
