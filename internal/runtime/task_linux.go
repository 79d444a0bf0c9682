//go:build cgo

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/cgroups"
	// Device rules of the cgroup v1 and v2 drivers: without it the
	// cgroup manager fails on a spec that lists devices, as all do.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Create creates container id from spec, whose Root.Path is an absolute,
// already mounted root filesystem, with its init's streams from stdio.
// When Create returns, the init exists, in its namespaces and cgroup, and
// waits: Pid is known, the user's program starts with Task.Start. The
// task is reaped by a goroutine of this package as soon as it exits.
//
// id must be unique under the Runtime's state directory (AlreadyExists)
// and made of letters, digits, '_', '+', '-' and '.' (InvalidArgument).
// The spec is not changed; a spec the runtime cannot run is
// InvalidArgument, one asking for what is not supported (seccomp without
// seccomp support, not being root) NotImplemented. The init gets a
// pseudo-terminal when stdio.Terminal or spec.Process.Terminal asks for
// one. On
// failure nothing is left behind: no state directory, no cgroup, no
// process. Create cannot be interrupted once the init is being started;
// ctx is checked before.
func (r *Runtime) Create(ctx context.Context, id string, spec *specs.Spec, stdio IO, opts ...CreateOpt) (_ *Task, retErr error) {
	const op = "create"
	if err := ctx.Err(); err != nil {
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	co := createOptions{cgroupParent: r.opts.cgroupParent}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&co); err != nil {
			return nil, taskError(id, op, err, errdefs.ErrInvalidArgument)
		}
	}
	if os.Geteuid() != 0 {
		return nil, taskError(id, op, errors.New("rootless containers are not supported yet"), errdefs.ErrNotImplemented)
	}
	if err := checkSpec(spec); err != nil {
		return nil, taskError(id, op, err, errdefs.ErrInvalidArgument)
	}
	cfg, err := newConfig(id, spec, co.cgroupParent)
	if err != nil {
		return nil, taskError(id, op, err, errdefs.ErrInvalidArgument)
	}

	c, err := libcontainer.Create(r.stateDir, id, cfg)
	if err != nil {
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	defer func() {
		if retErr != nil {
			// The init, if started, is gone already: libcontainer kills
			// and reaps it when its start fails.
			_ = c.Destroy()
		}
	}()
	// A terminal when the spec or the IO asks for one.
	stdio.Terminal = stdio.Terminal || spec.Process.Terminal
	streams, err := newStdio(stdio)
	if err != nil {
		return nil, taskError(id, op, fmt.Errorf("stdio: %w", err), errdefs.ErrUnknown)
	}
	defer func() {
		if retErr != nil {
			streams.close()
		}
	}()
	process := newProcess(spec, streams, stdio)
	if err := c.Start(process); err != nil {
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	streams.started()
	pid, err := process.Pid()
	if err == nil {
		err = streams.attachConsole()
	}
	if err != nil {
		// Do not leave an init nobody reaps.
		_ = c.Signal(unix.SIGKILL)
		_, _ = process.Wait()
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	t := &Task{
		id:         id,
		container:  c,
		stateDir:   filepath.Join(r.stateDir, id),
		process:    process,
		pid:        pid,
		io:         streams,
		privatePID: cfg.Namespaces.IsPrivate(configs.NEWPID),
		exited:     make(chan struct{}),
		events:     r.opts.events,
		drain:      r.opts.ioDrainTimeout,
	}
	t.watchOOM()
	go t.reap()
	return t, nil
}

// Task is a container and its init process, made by Runtime.Create. Its
// methods are safe for concurrent use. After Delete, every method but ID
// and Pid fails with NotFound.
type Task struct {
	id         string
	container  *libcontainer.Container
	stateDir   string                // the container's state directory
	events     func(Event)           // the Runtime's handler, or nil
	drain      time.Duration         // the Runtime's IO drain timeout
	process    *libcontainer.Process // nil for a loaded task
	pid        int
	io         *stdio   // nil for a loaded task
	privatePID bool     // the task has its own pid namespace
	pidfd      *os.File // the init's pidfd, watched, for a loaded task

	// exited is closed when the init has been reaped and its output
	// drained; exit is set before.
	exited chan struct{}
	exit   ExitStatus

	mu      sync.Mutex
	deleted bool

	// oomFile is the eventfd watchOOM waits on (cgroup v1), closed by
	// Delete.
	oomFile *os.File
	// oomSeen counts the OOM kills given to exits (takeOOMKill),
	// oomReported those reported as events (reportOOMKills).
	oomMu       sync.Mutex
	oomSeen     uint64
	oomReported uint64

	// cgm is the manager of the task's cgroup, once made (cgroupManager).
	cgmMu sync.Mutex
	cgm   cgroups.Manager

	// freezeMu is held by Pause, and shared by the start of an exec'd
	// process, which a frozen task would never let finish.
	freezeMu sync.RWMutex

	// sigkilled is set once this process sent the init SIGKILL (Kill,
	// Delete): its death is then not the OOM killer's.
	sigkilled atomic.Bool

	// execs are the processes Exec made in this process, by exec id.
	execMu sync.Mutex
	execs  map[string]*Process
}

// ID returns the task's container id.
func (t *Task) ID() string { return t.id }

// Pid returns the pid of the task's init, in the caller's pid namespace.
func (t *Task) Pid() int { return t.pid }

// Start lets the init execute the user's program. It fails with
// FailedPrecondition if the task was started already or its init has
// exited.
func (t *Task) Start(ctx context.Context) error {
	const op = "start"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.hasExited() {
		return taskError(t.id, op, errors.New("init has exited"), errdefs.ErrFailedPrecondition)
	}
	if err := t.container.Exec(); err != nil {
		return taskError(t.id, op, err, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// Kill sends sig to the task's init, or with all to every process of the
// task (those of its cgroup). A task whose init has exited is NotFound.
//
// The init of a task with its own pid namespace is pid 1 there: the kernel
// delivers it only the signals it handles, and SIGKILL. SIGKILL to such an
// init kills every process of the namespace.
func (t *Task) Kill(ctx context.Context, sig syscall.Signal, all bool) error {
	const op = "kill"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.hasExited() {
		return taskError(t.id, op, os.ErrProcessDone, errdefs.ErrNotFound)
	}
	if sig == unix.SIGKILL {
		t.sigkilled.Store(true)
	}
	if all && sig != unix.SIGKILL {
		return taskError(t.id, op, t.signalAll(sig), errdefs.ErrUnknown)
	}
	// libcontainer signals the init through a pidfd, never a reused pid.
	// SIGKILL reaches every process of the task either way: the kernel
	// kills a pid namespace with its init, and libcontainer sends SIGKILL
	// to the whole cgroup of a task without its own pid namespace.
	return taskError(t.id, op, t.container.Signal(sig), errdefs.ErrUnknown)
}

// signalAll sends sig to every process in the task's cgroup, frozen
// meanwhile so that none forks past it.
func (t *Task) signalAll(sig unix.Signal) error {
	m, err := t.cgroupManager()
	if err != nil {
		return err
	}
	if !m.Exists() {
		return libcontainer.ErrNotRunning
	}
	wasFrozen := false
	if fs, err := m.GetFreezerState(); err == nil && fs == cgroups.Frozen {
		wasFrozen = true
	} else {
		// Freezing is best effort, as for libcontainer: without it a
		// process forking meanwhile may escape the signal.
		_ = m.Freeze(cgroups.Frozen)
	}
	pids, err := m.GetAllPids()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && kerr != unix.ESRCH && err == nil {
				err = fmt.Errorf("kill %d: %w", pid, kerr)
			}
		}
	}
	// A frozen process dies of SIGKILL only once thawed.
	if !wasFrozen || sig == unix.SIGKILL {
		if terr := m.Freeze(cgroups.Thawed); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// Wait returns a channel that receives the task's ExitStatus once its init
// has exited and its output is drained, then is closed. It may be called
// before Start, after the exit, and by any number of callers: each gets the
// same status. If ctx ends first, the channel receives an ExitStatus with
// Code UnknownExitStatus and Err the context's error instead.
func (t *Task) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	if err := t.check(ctx, "wait"); err != nil {
		return nil, err
	}
	return waitFor(ctx, t.id, t.exited, &t.exit), nil
}

// Status returns the state of the task: Created, Running, Paused or
// Stopped.
func (t *Task) Status(ctx context.Context) (Status, error) {
	const op = "status"
	if err := t.check(ctx, op); err != nil {
		return "", err
	}
	if t.hasExited() {
		return Stopped, nil
	}
	st, err := t.container.Status()
	if err != nil {
		return "", taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	switch st {
	case libcontainer.Created:
		return Created, nil
	case libcontainer.Running:
		return Running, nil
	case libcontainer.Paused:
		return Paused, nil
	case libcontainer.Stopped:
		return Stopped, nil
	}
	return "", taskError(t.id, op, fmt.Errorf("unknown libcontainer status %v", st), errdefs.ErrUnknown)
}

// Pause freezes every process of the task (its cgroup's freezer).
func (t *Task) Pause(ctx context.Context) error {
	const op = "pause"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.hasExited() {
		return taskError(t.id, op, errors.New("init has exited"), errdefs.ErrFailedPrecondition)
	}
	// Not while a process is being exec'd: it would be frozen before it
	// is set up, with libcontainer's lock held.
	t.freezeMu.Lock()
	defer t.freezeMu.Unlock()
	if st, err := t.container.Status(); err == nil && st == libcontainer.Paused {
		return taskError(t.id, op, errors.New("paused already"), errdefs.ErrFailedPrecondition)
	}
	return taskError(t.id, op, t.container.Pause(), errdefs.ErrUnknown)
}

// Resume thaws the processes of a paused task.
func (t *Task) Resume(ctx context.Context) error {
	const op = "resume"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.hasExited() {
		return taskError(t.id, op, errors.New("init has exited"), errdefs.ErrFailedPrecondition)
	}
	return taskError(t.id, op, t.container.Resume(), errdefs.ErrUnknown)
}

// CloseIO ends the standard input of the task's init: it reads EOF (on a
// terminal, an end-of-file character is typed). A loaded task's streams
// are not this process's: FailedPrecondition.
func (t *Task) CloseIO(ctx context.Context) error {
	const op = "close io"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.io == nil {
		return taskError(t.id, op, errors.New("its streams are not this process's"), errdefs.ErrFailedPrecondition)
	}
	return taskError(t.id, op, t.io.closeStdin(), errdefs.ErrUnknown)
}

// Resize sets the size of the init's terminal; a task without one (or
// loaded, whose terminal is not this process's) is FailedPrecondition.
func (t *Task) Resize(ctx context.Context, width, height uint16) error {
	const op = "resize"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if t.io == nil {
		return taskError(t.id, op, errNoConsole, errdefs.ErrFailedPrecondition)
	}
	err := t.io.resize(width, height)
	if errors.Is(err, errNoConsole) {
		return taskError(t.id, op, err, errdefs.ErrFailedPrecondition)
	}
	return taskError(t.id, op, err, errdefs.ErrUnknown)
}

// Delete removes the task: its cgroup and its state directory, and returns
// how its init exited. A running or paused task is FailedPrecondition
// unless force is set: then Delete kills every process of the task and
// waits for the init to be reaped, or for ctx to end. A created task,
// whose user program never ran, is killed without force, as runc delete
// does.
func (t *Task) Delete(ctx context.Context, force bool) (*ExitStatus, error) {
	const op = "delete"
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	if !t.hasExited() {
		st, err := t.Status(ctx)
		if err != nil {
			return nil, err
		}
		if (st == Running || st == Paused) && !force {
			return nil, taskError(t.id, op, fmt.Errorf("task is %s", st), errdefs.ErrFailedPrecondition)
		}
		if err := t.Kill(ctx, unix.SIGKILL, true); err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		select {
		case <-t.exited:
		case <-ctx.Done():
			return nil, taskError(t.id, op, ctx.Err(), errdefs.ErrUnknown)
		}
	}
	if err := t.container.Destroy(); err != nil {
		return nil, taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	if t.oomFile != nil {
		t.oomFile.Close()
	}
	t.mu.Lock()
	t.deleted = true
	t.mu.Unlock()
	st := t.exit
	return &st, nil
}

// check fails when ctx has ended or the task is deleted.
func (t *Task) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	t.mu.Lock()
	deleted := t.deleted
	t.mu.Unlock()
	if deleted {
		return taskError(t.id, op, errors.New("deleted"), errdefs.ErrNotFound)
	}
	return nil
}

// Exit returns the task's ExitStatus once its exit has been reported (the
// init reaped and its output drained), and whether it has.
func (t *Task) Exit() (ExitStatus, bool) {
	if !t.hasExited() {
		return ExitStatus{}, false
	}
	return t.exit, true
}

func (t *Task) hasExited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// reap waits for the init to exit, keeps its status, drains its output
// and then announces the exit. It is the only caller of the process's Wait.
func (t *Task) reap() {
	awaitExit(t.pid)
	ps, err := t.process.Wait()
	oom := t.oomCount()
	st := t.exitStatus(ps, err, t.sigkilled.Load(), oom)
	if t.io != nil {
		t.io.drain(t.drain)
	}
	t.exit = st
	// Reported before the waiters are told: whoever learns of the exit
	// through Wait finds the event published, after the OOM kill's.
	if t.events != nil {
		t.reportOOMKills(oom())
		t.events(Event{Type: EventExit, TaskID: t.id, Pid: t.pid, Exit: st})
	}
	close(t.exited)
}

// exitStatus makes the ExitStatus of a process of the task from what its
// Wait returned; oomKills gives the task's OOM kill count (oomCount).
func (t *Task) exitStatus(ps *os.ProcessState, err error, sigkilled bool, oomKills func() uint64) ExitStatus {
	st := ExitStatus{Code: UnknownExitStatus, ExitedAt: time.Now()}
	if ps == nil {
		if err == nil {
			err = errors.New("no exit status")
		}
		st.Err = taskError(t.id, "wait", err, errdefs.ErrUnknown)
		return st
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		st.Err = taskError(t.id, "wait", fmt.Errorf("unexpected wait status %T", ps.Sys()), errdefs.ErrUnknown)
		return st
	}
	switch {
	case ws.Exited():
		st.Code = uint32(ws.ExitStatus())
	case ws.Signaled():
		st.Code = 128 + uint32(ws.Signal())
		// An OOM kill not given to an exit yet is this SIGKILL, unless
		// this process sent one.
		st.OOMKilled = ws.Signal() == unix.SIGKILL && t.takeOOMKill(oomKills()) && !sigkilled
	default:
		st.Err = taskError(t.id, "wait", fmt.Errorf("unexpected wait status %#x", uint32(ws)), errdefs.ErrUnknown)
	}
	return st
}

// cgroupManager returns the manager of the task's cgroup, made once: its
// paths do not change while the task lives.
func (t *Task) cgroupManager() (cgroups.Manager, error) {
	t.cgmMu.Lock()
	defer t.cgmMu.Unlock()
	if t.cgm != nil {
		return t.cgm, nil
	}
	state, err := t.container.State()
	if err != nil {
		return nil, err
	}
	cfg := t.container.Config()
	m, err := manager.NewWithPaths(cfg.Cgroups, state.CgroupPaths)
	if err != nil {
		return nil, err
	}
	t.cgm = m
	return m, nil
}

// takeOOMKill reports whether the OOM killer killed processes of the
// task that no exit was given yet, and gives them to the caller's: the
// kills of an OOM go to the first exit by SIGKILL after them (the OOM
// killer may kill several processes, some not tracked here). n is the
// task's OOM kill count now.
func (t *Task) takeOOMKill(n uint64) bool {
	t.oomMu.Lock()
	defer t.oomMu.Unlock()
	if n > t.oomSeen {
		t.oomSeen = n
		return true
	}
	return false
}

// oomCount returns a function returning the task's OOM kill count, read
// on its first call only: an exit needs it for its status and its
// events.
func (t *Task) oomCount() func() uint64 {
	var (
		n    uint64
		read bool
	)
	return func() uint64 {
		if !read {
			n, read = t.oomKills(), true
		}
		return n
	}
}

// oomKills returns how many processes the OOM killer killed in the task's
// cgroup, 0 when it cannot be read.
func (t *Task) oomKills() uint64 {
	m, err := t.cgroupManager()
	if err != nil {
		return 0
	}
	n, err := m.OOMKillCount()
	if err != nil {
		return 0
	}
	return n
}

// watchOOM reports the OOM kills of the task's cgroup to the Runtime's
// event handler, until the cgroup is removed or the task deleted. On
// cgroup v1 it waits on an eventfd registered with memory.oom_control,
// through Go's poller (no thread is held), and Delete closes it.
func (t *Task) watchOOM() {
	if t.events == nil {
		return
	}
	if cgroups.IsCgroup2UnifiedMode() {
		ch, err := t.container.NotifyOOM()
		if err != nil {
			return // no memory controller: no OOM events, as with runc
		}
		go func() {
			for range ch {
				t.events(Event{Type: EventOOM, TaskID: t.id})
			}
		}()
		return
	}
	state, err := t.container.State()
	if err != nil || state.CgroupPaths["memory"] == "" {
		return
	}
	dir := state.CgroupPaths["memory"]
	ef, err := registerOOMEventfd(dir)
	if err != nil {
		return
	}
	t.oomFile = ef
	go func() {
		defer ef.Close()
		buf := make([]byte, 8)
		for {
			if _, err := ef.Read(buf); err != nil {
				return // closed by Delete
			}
			// The eventfd is signalled when the cgroup is removed too.
			if _, err := os.Lstat(filepath.Join(dir, "cgroup.event_control")); err != nil {
				return
			}
			t.reportOOMKills(t.oomKills())
		}
	}()
}

// reportOOMKills reports an EventOOM for each OOM kill in the task's
// cgroup not reported yet. The kernel signals each time the cgroup is out
// of memory, many times before it kills; a kill is reported once, by the
// watcher or, at the latest, before the exit of a process it killed. n is
// the task's OOM kill count now.
func (t *Task) reportOOMKills(n uint64) {
	if t.events == nil {
		return
	}
	t.oomMu.Lock()
	k := uint64(0)
	if n > t.oomReported {
		k, t.oomReported = n-t.oomReported, n
	}
	t.oomMu.Unlock()
	for range k {
		t.events(Event{Type: EventOOM, TaskID: t.id})
	}
}

// registerOOMEventfd returns a non-blocking eventfd the kernel signals on
// each OOM in the cgroup v1 memory cgroup dir.
func registerOOMEventfd(dir string) (*os.File, error) {
	oc, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, err
	}
	// The control file is needed only to register: the kernel keeps what
	// it needs of it.
	defer oc.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("eventfd", err)
	}
	ef := os.NewFile(uintptr(efd), "oom-eventfd")
	reg := fmt.Sprintf("%d %d", efd, oc.Fd())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0o600); err != nil {
		ef.Close()
		return nil, err
	}
	return ef, nil
}

// Metrics reads the counters of the task's cgroup: CPU, memory, pids and
// block IO. A stopped task's cgroup may be gone: NotFound then.
func (t *Task) Metrics(ctx context.Context) (*Metrics, error) {
	const op = "metrics"
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	st, err := t.container.Stats()
	if err != nil {
		return nil, taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	cg := st.CgroupStats
	if cg == nil {
		return nil, taskError(t.id, op, errors.New("no cgroup statistics"), errdefs.ErrNotFound)
	}
	m := &Metrics{Timestamp: time.Now()}
	cpu := cg.CpuStats
	m.CPU = CPUMetrics{
		Usage: cpu.CpuUsage.TotalUsage, User: cpu.CpuUsage.UsageInUsermode, Kernel: cpu.CpuUsage.UsageInKernelmode,
		Periods: cpu.ThrottlingData.Periods, ThrottledPeriods: cpu.ThrottlingData.ThrottledPeriods, ThrottledTime: cpu.ThrottlingData.ThrottledTime,
	}
	mem := cg.MemoryStats
	m.Memory = MemoryMetrics{Usage: mem.Usage.Usage, MaxUsage: mem.Usage.MaxUsage, Limit: mem.Usage.Limit, Cache: mem.Cache, Failcnt: mem.Usage.Failcnt}
	m.Pids = PidsMetrics{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}
	for _, e := range cg.BlkioStats.IoServiceBytesRecursive {
		switch e.Op {
		case "Read", "read":
			m.IO.ReadBytes += e.Value
		case "Write", "write":
			m.IO.WriteBytes += e.Value
		}
	}
	return m, nil
}
