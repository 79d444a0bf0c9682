package containerd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// leakCycles is how many containers TestTaskCyclesLeakNothing runs.
const leakCycles = 1000

// TestTaskCyclesLeakNothing runs leakCycles containers one after another
// in this process (new container and snapshot, NewTask, Wait, Start, the
// exit, Task.Delete, Container.Delete with its snapshot) and checks that
// they left nothing: no mount, no cgroup, no file descriptor, no
// goroutine, no state directory, no snapshot, no container, and that
// every thread of the process is still in its mount namespace.
//
// Each cycle has its own container id, as most programs use them: a
// cgroup, state directory, bundle or snapshot left by one cycle is then
// counted, where with one id reused the next cycle could clean it up, or
// trip over it, and hide it. Every other cycle runs with its output
// copied through pipes (the copying goroutines, the pipes' descriptors),
// the others with NullIO.
//
// The client works in a namespace of its own, so that its cgroups
// (/dctr/<namespace>/<id>) and state directories are its alone, and the
// temporary directory is the test's, so that every mount the library
// makes lies below a directory of the test: mounts elsewhere on the host,
// by tests of other packages running meanwhile, are not this test's.
//
// The state is taken once a first cycle has run, which makes what is made
// once and kept (the namespace's cgroup parents, the runtime's state
// directory).
func TestTaskCyclesLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skipf("runs %d containers", leakCycles)
	}
	testutil.RequiresContainers(t)
	t.Setenv("TMPDIR", t.TempDir())
	ns := fmt.Sprintf("leaktest-%d", os.Getpid())
	e := &taskEnv{root: t.TempDir(), state: t.TempDir()}
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state), containerd.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
	if e.img, err = pullUnpacked(t, c, testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, h := range cgroupHierarchies(t) {
			os.Remove(filepath.Join(h, "dctr", ns))
		}
	})
	l := &leakProbe{t: t, c: c, ns: ns, dirs: []string{os.TempDir(), e.root, e.state}}

	start := time.Now()
	runCycle(t, e, 0)
	before := l.take()
	for i := 1; i <= leakCycles; i++ {
		runCycle(t, e, i)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cycles in %v", leakCycles+1, time.Since(start).Round(time.Millisecond))

	// Goroutines that announced an exit may still be returning: give
	// them a moment, re-checking, before calling any of them leaked.
	after := l.take()
	for deadline := time.Now().Add(10 * time.Second); after.goroutines > before.goroutines && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		after = l.take()
	}
	l.compare(before, after)
}

// runCycle makes container i, runs its task to its end and deletes both.
func runCycle(t *testing.T, e *taskEnv, i int) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("leak-%d", i)
	args, want := []string{"/bin/true"}, ""
	var out bytes.Buffer
	ioc := containerd.NullIO
	if i%2 == 1 {
		args, want = []string{"/bin/sh", "-c", "echo out; echo err >&2"}, "out\nerr\n"
		ioc = containerd.NewCreator(containerd.WithStreams(nil, &out, &out))
	}
	ct, err := e.c.NewContainer(ctx, id, containerd.WithImage(e.img), containerd.WithNewSnapshot(id, e.img),
		containerd.WithNewSpec(oci.WithImageConfig(e.img), oci.WithProcessArgs(args...)))
	if err != nil {
		t.Fatalf("cycle %d: NewContainer = %v", i, err)
	}
	task, err := ct.NewTask(ctx, ioc)
	if err != nil {
		t.Fatalf("cycle %d: NewTask = %v", i, err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("cycle %d: Wait = %v", i, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("cycle %d: Start = %v", i, err)
	}
	select {
	case st := <-ch:
		if st.ExitCode() != 0 || st.Error() != nil {
			t.Errorf("cycle %d: exit %d (%v)", i, st.ExitCode(), st.Error())
		}
	case <-time.After(time.Minute):
		t.Fatalf("cycle %d: no exit after a minute", i)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Fatalf("cycle %d: Task.Delete = %v", i, err)
	}
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatalf("cycle %d: Container.Delete = %v", i, err)
	}
	if out.String() != want {
		t.Errorf("cycle %d: output %q, want %q", i, out.String(), want)
	}
}

// leakProbe takes the state of the process and of a client's namespace.
type leakProbe struct {
	t    *testing.T
	c    *containerd.Client
	ns   string
	dirs []string // the directories the library mounts below
}

// leakState is what leakProbe.take saw. The lists name what they count,
// so that a failure says what was left.
type leakState struct {
	mntNS      string   // the main thread's mount namespace
	strayNS    []string // threads in another mount namespace
	mounts     []string // mount points below the test's directories
	allMounts  int      // mounts in the namespace, anyone's
	fds        []string // open descriptors and what they are
	goroutines int
	cgroups    []string // cgroups below /dctr/<ns> in each hierarchy
	state      []string // <state>/<ns>/runc/* and <state>/<ns>/tasks/*
	snapshots  []string
	containers []string
}

func (l *leakProbe) take() leakState {
	t := l.t
	t.Helper()
	var s leakState
	var err error
	if s.mntNS, err = os.Readlink("/proc/self/ns/mnt"); err != nil {
		t.Fatal(err)
	}
	// Every thread, not only the main one: a thread libcontainer moved
	// into a container's mount namespace and that Go parked instead of
	// ending would hold that namespace, and its mounts, alive.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if n, err := os.Readlink(filepath.Join("/proc/self/task", tk.Name(), "ns/mnt")); err == nil && n != s.mntNS {
			s.strayNS = append(s.strayNS, fmt.Sprintf("thread %s in %s", tk.Name(), n))
		}
	}
	runtime.LockOSThread()
	here, err := os.Readlink("/proc/thread-self/ns/mnt")
	info, ierr := os.ReadFile("/proc/thread-self/mountinfo")
	runtime.UnlockOSThread()
	if err != nil || ierr != nil {
		t.Fatal(err, ierr)
	}
	if here != s.mntNS {
		s.strayNS = append(s.strayNS, "the test's thread in "+here)
	}
	for line := range strings.Lines(string(info)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		s.allMounts++
		for _, d := range l.dirs {
			if f[4] == d || strings.HasPrefix(f[4], d+"/") {
				s.mounts = append(s.mounts, f[4])
				break
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			// The listing's own descriptor, closed once it is read,
			// or one closed meanwhile: not open now.
			continue
		}
		s.fds = append(s.fds, fd.Name()+" -> "+target)
	}
	s.goroutines = runtime.NumGoroutine()
	for _, h := range cgroupHierarchies(t) {
		s.cgroups = append(s.cgroups, subdirs(t, filepath.Join(h, "dctr", l.ns))...)
	}
	state := l.c.StateDir()
	s.state = append(dirEntries(t, filepath.Join(state, l.ns, "runc")), dirEntries(t, filepath.Join(state, l.ns, "tasks"))...)
	ctx := context.Background()
	err = l.c.SnapshotService("").Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		s.snapshots = append(s.snapshots, info.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cts, err := l.c.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range cts {
		s.containers = append(s.containers, ct.ID())
	}
	return s
}

// compare fails the test for anything after has that before had not.
func (l *leakProbe) compare(before, after leakState) {
	t := l.t
	t.Helper()
	if after.mntNS != before.mntNS {
		t.Errorf("the main thread moved from mount namespace %s to %s", before.mntNS, after.mntNS)
	}
	if len(after.strayNS) > 0 {
		t.Errorf("threads outside the process's mount namespace %s: %v", after.mntNS, after.strayNS)
	}
	leaked := func(what string, b, a []string) {
		if extra := added(b, a); len(extra) > 0 {
			if len(extra) > 20 {
				extra = append(extra[:20], "...")
			}
			t.Errorf("%s leaked: %d before, %d after; new: %v", what, len(b), len(a), extra)
		}
	}
	leaked("mounts", before.mounts, after.mounts)
	leaked("file descriptors", before.fds, after.fds)
	leaked("cgroups", before.cgroups, after.cgroups)
	leaked("state directories", before.state, after.state)
	leaked("snapshots", before.snapshots, after.snapshots)
	leaked("containers", before.containers, after.containers)
	if after.goroutines > before.goroutines {
		var stacks bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Errorf("goroutines leaked: %d before, %d after:\n%s", before.goroutines, after.goroutines, stacks.String())
	}
	if after.allMounts != before.allMounts {
		// Not ours unless listed above: tests of other packages mount
		// in the same namespace meanwhile.
		t.Logf("mounts in the namespace: %d before, %d after (none below the test's directories)", before.allMounts, after.allMounts)
	}
	t.Logf("before and after: %d mounts in the namespace, %d below the test's directories, %d fds, %d goroutines (%d after), %d cgroups, %d state entries, %d snapshots, %d containers",
		before.allMounts, len(before.mounts), len(before.fds), before.goroutines, after.goroutines, len(before.cgroups), len(before.state), len(before.snapshots), len(before.containers))
}

// added returns the entries of a that b has fewer of.
func added(b, a []string) []string {
	n := map[string]int{}
	for _, x := range b {
		n[x]++
	}
	var out []string
	for _, x := range a {
		if n[x] > 0 {
			n[x]--
		} else {
			out = append(out, x)
		}
	}
	return out
}

// cgroupHierarchies returns the mounted cgroup hierarchies: each v1
// controller's directory and a hybrid host's unified one, or the root of
// a v2 host.
func cgroupHierarchies(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	return subdirs(t, "/sys/fs/cgroup")
}

// subdirs lists the directories in dir (none if dir is missing).
func subdirs(t *testing.T, dir string) []string { return listDir(t, dir, true) }

// dirEntries lists the names in dir, whatever they are (none if dir is
// missing).
func dirEntries(t *testing.T, dir string) []string { return listDir(t, dir, false) }

// listDir lists the entries of dir (none if dir is missing), only its
// directories if dirsOnly.
func listDir(t *testing.T, dir string, dirsOnly bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !dirsOnly || e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
