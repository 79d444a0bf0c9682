package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/internal/runtime"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// UnknownExitStatus is the exit code reported when a process's exit could
// not be known (ExitStatus.Error says why), as containerd reports it.
const UnknownExitStatus = runtime.UnknownExitStatus

// ErrNotParent is what ExitStatus.Error wraps for a task this process did
// not start: only the parent of a process learns how it exited.
var ErrNotParent = runtime.ErrNotParent

// ExitStatus is how a process ended.
type ExitStatus struct {
	code      uint32
	exitedAt  time.Time
	err       error
	oomKilled bool
}

// Result returns the exit code, the exit time and the error of the status.
func (s ExitStatus) Result() (uint32, time.Time, error) { return s.code, s.exitedAt, s.err }

// ExitCode is the process's exit code, 128+n if signal n killed it, or
// UnknownExitStatus when Error is set.
func (s ExitStatus) ExitCode() uint32 { return s.code }

// ExitTime is when the process's exit was seen.
func (s ExitStatus) ExitTime() time.Time { return s.exitedAt }

// Error is set when the exit could not be known: the process was started
// by another process (ErrNotParent), or the wait was given up (the
// context ended).
func (s ExitStatus) Error() error { return s.err }

// OOMKilled reports whether the kernel's OOM killer killed the process
// (ExitCode is then 137).
func (s ExitStatus) OOMKilled() bool { return s.oomKilled }

func exitStatus(st runtime.ExitStatus) ExitStatus {
	return ExitStatus{code: st.Code, exitedAt: st.ExitedAt, err: st.Err, oomKilled: st.OOMKilled}
}

// ProcessStatus is the state of a process.
type ProcessStatus string

// The states of a process.
const (
	// Created: the process exists, its user program has not started.
	Created ProcessStatus = "created"
	// Running: the program runs.
	Running ProcessStatus = "running"
	// Paused: the task's processes are frozen.
	Paused ProcessStatus = "paused"
	// Stopped: the process has exited.
	Stopped ProcessStatus = "stopped"
	// Unknown: the state could not be read.
	Unknown ProcessStatus = "unknown"
)

// Status is the state of a process and, once Stopped, how it exited.
type Status struct {
	Status ProcessStatus
	// ExitStatus and ExitTime are set when Status is Stopped and the
	// exit is known to this process.
	ExitStatus uint32
	ExitTime   time.Time
	// OOMKilled is set when the process was killed by the kernel's OOM
	// killer (the task's memory limit was hit).
	OOMKilled bool
}

// ProcessInfo is one process of a task.
type ProcessInfo struct {
	// Pid is the process's pid in the caller's pid namespace.
	Pid uint32
	// ExecID is the id of the exec'd process (Task.Exec) it is; empty for
	// the task's init and the processes they started.
	ExecID string
}

// KillInfo is what KillOpts set.
type KillInfo struct {
	// All sends the signal to every process of the task, not only its
	// init.
	All bool
}

// KillOpts configures Kill.
type KillOpts func(ctx context.Context, ki *KillInfo) error

// WithKillAll sends the signal to every process of the task.
func WithKillAll(_ context.Context, ki *KillInfo) error {
	ki.All = true
	return nil
}

// ProcessDeleteOpts run before a process is deleted.
type ProcessDeleteOpts func(ctx context.Context, p Process) error

// WithProcessKill, on Delete, kills a process still running and waits for
// its exit first: every process of a task, or an exec'd process alone.
func WithProcessKill(ctx context.Context, p Process) error {
	ch, err := p.Wait(ctx)
	if err != nil {
		return err
	}
	// A task's processes all; an exec'd process alone.
	var kopts []KillOpts
	if _, ok := p.(Task); ok {
		kopts = append(kopts, WithKillAll)
	}
	if err := p.Kill(ctx, syscall.SIGKILL, kopts...); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TaskInfo is what NewTaskOpts set.
type TaskInfo struct {
	// CgroupParent is the cgroup the task's cgroup is made under
	// (<parent>/<id>), unless the spec sets Linux.CgroupsPath. Default:
	// /dctr/<namespace>.
	CgroupParent string
}

// NewTaskOpts configures NewTask.
type NewTaskOpts func(ctx context.Context, c *Client, ti *TaskInfo) error

// WithCgroupParent makes the task's cgroup <parent>/<id>, parent being an
// absolute path in the cgroup hierarchy.
func WithCgroupParent(parent string) NewTaskOpts {
	return func(_ context.Context, _ *Client, ti *TaskInfo) error {
		ti.CgroupParent = parent
		return nil
	}
}

// Process is a process of a task: its init, or one Task.Exec made. Its
// methods are safe for concurrent use.
type Process interface {
	// ID is the process's id: the container's id for a task's init.
	ID() string
	// Pid is the process's pid in the caller's pid namespace.
	Pid() uint32
	// Start runs the user's program.
	Start(ctx context.Context) error
	// Delete removes the process and returns its exit status; a process
	// still running is FailedPrecondition unless an option
	// (WithProcessKill) ends it first.
	Delete(ctx context.Context, opts ...ProcessDeleteOpts) (*ExitStatus, error)
	// Kill sends a signal.
	Kill(ctx context.Context, sig syscall.Signal, opts ...KillOpts) error
	// Wait returns a channel receiving the exit status once the process
	// has exited. It may be called before Start and by many callers.
	Wait(ctx context.Context) (<-chan ExitStatus, error)
	// IO returns the process's IO.
	IO() IO
	// Status returns the process's state.
	Status(ctx context.Context) (Status, error)
	// CloseIO closes the process's standard input, with WithStdinCloser:
	// the process reads EOF (on a terminal, an end-of-file character is
	// typed). Without options it does nothing.
	CloseIO(ctx context.Context, opts ...IOCloserOpts) error
	// Resize sets the size of the process's terminal, in characters;
	// a process without a terminal is FailedPrecondition.
	Resize(ctx context.Context, w, h uint32) error
}

// Task is a container's running instance: its init process, cgroup,
// namespaces and mounted root filesystem.
type Task interface {
	Process
	// Pause freezes every process of the task.
	Pause(ctx context.Context) error
	// Resume thaws them.
	Resume(ctx context.Context) error
	// Pids returns the task's processes.
	Pids(ctx context.Context) ([]ProcessInfo, error)
	// Spec returns the spec the task was created with, its root being
	// the mounted root filesystem.
	Spec(ctx context.Context) (*oci.Spec, error)
	// Metrics reads the counters of the task's cgroup: CPU, memory,
	// pids and block IO (cgroup v1 and v2).
	Metrics(ctx context.Context) (*Metrics, error)
	// Exec makes a process in the task's container, to be run by its
	// Start: it joins the container's namespaces and cgroup, with the
	// user, environment, working directory and terminal of spec.
	Exec(ctx context.Context, id string, spec *specs.Process, ioCreator IOCreator) (Process, error)
	// LoadProcess returns the exec'd process id: one this client made,
	// or one another process started (whose exit status is then unknown
	// here, as a loaded task's).
	LoadProcess(ctx context.Context, id string, attach IOAttach) (Process, error)
	// Update changes the task's resource limits live (WithResources).
	Update(ctx context.Context, opts ...UpdateTaskOpts) error
}

// IOCloseInfo is what IOCloserOpts set.
type IOCloseInfo struct {
	// Stdin closes the process's standard input.
	Stdin bool
}

// IOCloserOpts configures CloseIO.
type IOCloserOpts func(*IOCloseInfo)

// WithStdinCloser closes the process's standard input.
func WithStdinCloser(r *IOCloseInfo) { r.Stdin = true }

// UpdateTaskInfo is what UpdateTaskOpts set.
type UpdateTaskInfo struct {
	// Resources are the new limits; what they leave unset stays as it
	// is.
	Resources *specs.LinuxResources
}

// UpdateTaskOpts configures Update.
type UpdateTaskOpts func(ctx context.Context, c *Client, ui *UpdateTaskInfo) error

// WithResources sets the task's memory, CPU, pids and block IO weight
// limits to those r sets.
func WithResources(r *specs.LinuxResources) UpdateTaskOpts {
	return func(_ context.Context, _ *Client, ui *UpdateTaskInfo) error {
		ui.Resources = r
		return nil
	}
}

// Metrics are the resource counters of a task's cgroup, read by
// Task.Metrics: CPU time (ns), memory (bytes), processes and block IO
// (bytes). The field types are those of internal/runtime, aliased here.
type (
	Metrics       = runtime.Metrics
	CPUMetrics    = runtime.CPUMetrics
	MemoryMetrics = runtime.MemoryMetrics
	PidsMetrics   = runtime.PidsMetrics
	IOMetrics     = runtime.IOMetrics
)

// taskKey names a task of a client.
type taskKey struct{ ns, id string }

// runtimeFor returns the runtime of namespace ns: its state under
// <state>/<ns>/runc, its cgroups under /dctr/<ns>.
func (c *Client) runtimeFor(ns string) (*runtime.Runtime, error) {
	c.taskMu.Lock()
	defer c.taskMu.Unlock()
	if rt, ok := c.runtimes[ns]; ok {
		return rt, nil
	}
	rt, err := runtime.New(filepath.Join(c.stateDir, ns, "runc"),
		runtime.WithDefaultCgroupParent("/dctr/"+ns),
		runtime.WithEventHandler(func(ev runtime.Event) { c.taskEvent(ns, ev) }))
	if err != nil {
		return nil, err
	}
	c.runtimes[ns] = rt
	return rt, nil
}

// bundleDir is where the root filesystem of task id of namespace ns is
// mounted (its rootfs directory).
func (c *Client) bundleDir(ns, id string) string {
	return filepath.Join(c.stateDir, ns, "tasks", id)
}

func (ct *container) NewTask(ctx context.Context, ioCreator IOCreator, opts ...NewTaskOpts) (_ Task, retErr error) {
	c := ct.c
	ns, err := c.namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := ct.Info(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("new task %s: %w", ct.id, err) }
	if rec.Spec == nil || rec.Spec.Process == nil || rec.Spec.Root == nil {
		return nil, fail(fmt.Errorf("container has no spec with a process and a root: %w", errdefs.ErrInvalidArgument))
	}
	if len(rec.Spec.Process.Args) == 0 {
		return nil, fail(fmt.Errorf("no command to run (the image has no Entrypoint or Cmd and no args were given): %w", errdefs.ErrInvalidArgument))
	}
	var ti TaskInfo
	for _, o := range opts {
		if err := o(ctx, c, &ti); err != nil {
			return nil, fail(err)
		}
	}
	if ioCreator == nil {
		ioCreator = NullIO
	}
	rt, err := c.runtimeFor(ns)
	if err != nil {
		return nil, fail(err)
	}
	key := taskKey{ns, ct.id}
	if c.cachedTask(key) != nil {
		return nil, fail(fmt.Errorf("container has a task: %w", errdefs.ErrAlreadyExists))
	}
	c.taskMu.Lock()
	if c.creating[key] {
		c.taskMu.Unlock()
		return nil, fail(fmt.Errorf("a task of the container is being created: %w", errdefs.ErrAlreadyExists))
	}
	c.creating[key] = true
	c.taskMu.Unlock()
	defer func() {
		c.taskMu.Lock()
		delete(c.creating, key)
		c.taskMu.Unlock()
	}()

	b, err := c.newBundle(ctx, ns, ct.id)
	if err != nil {
		return nil, fail(err)
	}
	defer b.unlock()
	defer func() {
		if retErr != nil {
			if err := b.remove(); err != nil {
				retErr = fmt.Errorf("%w (and cleaning up: %v)", retErr, err)
			}
		}
	}()

	spec := *rec.Spec
	root := *rec.Spec.Root
	spec.Root = &root
	proc := *rec.Spec.Process
	spec.Process = &proc
	switch {
	case rec.SnapshotKey != "":
		sn := c.SnapshotService(rec.Snapshotter)
		mounts, err := sn.Mounts(ctx, rec.SnapshotKey)
		if err != nil {
			return nil, fail(fmt.Errorf("rootfs: %w", err))
		}
		if err := snapshot.MountAll(mounts, b.rootfs()); err != nil {
			return nil, fail(fmt.Errorf("mount rootfs: %w", err))
		}
		b.mounted = true
		spec.Root.Path = b.rootfs()
	case filepath.IsAbs(root.Path):
		// A root filesystem the caller mounted (oci.WithRootFSPath).
	default:
		return nil, fail(fmt.Errorf("container has no snapshot and its spec no absolute root path: %w", errdefs.ErrInvalidArgument))
	}

	tio, err := ioCreator(ct.id)
	if err != nil {
		return nil, fail(fmt.Errorf("io: %w", err))
	}
	defer func() {
		if retErr != nil {
			tio.Close()
		}
	}()
	cfg := tio.Config()
	// A terminal when either the IO or the spec asks for one.
	spec.Process.Terminal = cfg.Terminal || spec.Process.Terminal
	var copts []runtime.CreateOpt
	if ti.CgroupParent != "" {
		copts = append(copts, runtime.WithCgroupParent(ti.CgroupParent))
	}
	rtask, err := rt.Create(ctx, ct.id, &spec, runtimeIO(cfg, spec.Process.Terminal), copts...)
	if err != nil {
		return nil, err
	}
	// From now on the bundle is this task's: its lock, shared, says so
	// to other processes until Delete (see Client.Cleanup).
	owner := b.keepShared()
	t := &task{c: c, key: key, rt: rtask, io: tio, bundle: b.dir, spec: &spec, stateID: c.stateID(ns, ct.id), owner: owner}
	c.taskMu.Lock()
	c.tasks[key] = t
	c.taskMu.Unlock()
	c.publishIn(ns, &events.TaskCreate{ContainerID: ct.id, Bundle: b.dir, Pid: t.Pid(), IO: events.TaskIO{Terminal: spec.Process.Terminal}})
	return t, nil
}

// stateID identifies the libcontainer state of task id of namespace ns:
// its directory's inode number, 0 if there is none. A task deleted and
// made again has another.
func (c *Client) stateID(ns, id string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(c.stateDir, ns, "runc", id), &st); err != nil {
		return 0
	}
	return st.Ino
}

// cachedTask returns the task of key this client holds, if it is still
// the task under the state directory. One another client or process
// deleted (and maybe made again) is forgotten.
func (c *Client) cachedTask(key taskKey) *task {
	c.taskMu.Lock()
	t := c.tasks[key]
	c.taskMu.Unlock()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	current := t.rtDeleted || c.stateID(key.ns, key.id) == t.stateID
	t.mu.Unlock()
	if current {
		return t
	}
	c.taskMu.Lock()
	if c.tasks[key] == t {
		delete(c.tasks, key)
	}
	c.taskMu.Unlock()
	t.release()
	return nil
}

// Task returns the container's task: the one this client made, or one
// made by another client or process, loaded from its state (NotFound if
// there is none). The exit status of a task another process started is
// not known here: its Wait reports UnknownExitStatus with ErrNotParent.
func (ct *container) Task(ctx context.Context, attach IOAttach) (Task, error) {
	c := ct.c
	ns, err := c.namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	key := taskKey{ns, ct.id}
	if t := c.cachedTask(key); t != nil {
		return t, nil
	}
	c.taskMu.Lock()
	creating := c.creating[key]
	c.taskMu.Unlock()
	if creating {
		return nil, fmt.Errorf("task %s is being created by this client: %w", ct.id, errdefs.ErrUnavailable)
	}
	rt, err := c.runtimeFor(ns)
	if err != nil {
		return nil, err
	}
	id := c.stateID(ns, ct.id)
	rtask, err := rt.Load(ctx, ct.id)
	if err != nil {
		return nil, err
	}
	owner, err := lockShared(ctx, c.bundleDir(ns, ct.id))
	if err != nil {
		rtask.Release()
		return nil, fmt.Errorf("task %s: %w", ct.id, err)
	}
	// Deleted (or made again) by another process between the load and
	// the lock: the handle would be of a task that is gone.
	if c.stateID(ns, ct.id) != id {
		rtask.Release()
		if owner != nil {
			owner.Close()
		}
		return nil, fmt.Errorf("task %s was deleted meanwhile: %w", ct.id, errdefs.ErrNotFound)
	}
	var tio IO = &streamsIO{}
	if attach != nil {
		if tio, err = attach(ct.id); err != nil {
			rtask.Release()
			if owner != nil {
				owner.Close()
			}
			return nil, fmt.Errorf("task %s: attach: %w", ct.id, err)
		}
	}
	t := &task{c: c, key: key, rt: rtask, io: tio, bundle: c.bundleDir(ns, ct.id), stateID: id, owner: owner}
	c.taskMu.Lock()
	defer c.taskMu.Unlock()
	if prev, ok := c.tasks[key]; ok {
		tio.Close()
		t.release()
		return prev, nil
	}
	c.tasks[key] = t
	return t, nil
}

// hasTask reports whether container id of namespace ns has a task, here or
// in another process, or one is being set up or removed. A bundle left by
// a task that is gone is removed. The caller holds the namespace's tasks
// lock (lockTasks).
func (c *Client) hasTask(ns, id string) (bool, error) {
	if c.cachedTask(taskKey{ns, id}) != nil {
		return true, nil
	}
	if _, err := os.Stat(filepath.Join(c.stateDir, ns, "runc", id, "state.json")); err == nil {
		return true, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	dir := c.bundleDir(ns, id)
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true, nil
	}
	stale := &bundle{dir: dir, mounted: true}
	if err := stale.remove(); err != nil {
		return false, fmt.Errorf("bundle left by a task that is gone: %w", err)
	}
	return false, nil
}

// lockTasks locks the tasks directory of namespace ns across processes,
// for the short steps that make, check or remove bundles.
func (c *Client) lockTasks(ns string) (unlock func(), err error) {
	dir := filepath.Join(c.stateDir, ns, "tasks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tasks directory: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("tasks directory: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock tasks directory: %w", err)
	}
	return func() { f.Close() }, nil
}

type task struct {
	c       *Client
	key     taskKey
	rt      *runtime.Task
	io      IO
	bundle  string
	spec    *oci.Spec // nil for a loaded task
	stateID uint64    // see Client.stateID
	// owner is the bundle directory, shared-locked while this client
	// holds the task, so that Cleanup in another process leaves it.
	owner *os.File

	// delMu serialises Delete; mu guards what it changes.
	delMu     sync.Mutex
	mu        sync.Mutex
	rtDeleted bool // the runtime's part is deleted, the bundle maybe not
	exit      *ExitStatus
}

var _ Task = (*task)(nil)

func (t *task) ID() string  { return t.key.id }
func (t *task) Pid() uint32 { return uint32(t.rt.Pid()) }
func (t *task) IO() IO      { return t.io }

func (t *task) Start(ctx context.Context) error {
	if err := t.rt.Start(ctx); err != nil {
		return err
	}
	t.c.publishIn(t.key.ns, &events.TaskStart{ContainerID: t.key.id, Pid: t.Pid()})
	return nil
}

func (t *task) Kill(ctx context.Context, sig syscall.Signal, opts ...KillOpts) error {
	var ki KillInfo
	for _, o := range opts {
		if err := o(ctx, &ki); err != nil {
			return err
		}
	}
	return t.rt.Kill(ctx, sig, ki.All)
}

func (t *task) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	return waitOf(t.rt.Wait(ctx))
}

// waitOf returns a channel passing on the statuses of a runtime Wait's.
func waitOf(in <-chan runtime.ExitStatus, err error) (<-chan ExitStatus, error) {
	if err != nil {
		return nil, err
	}
	out := make(chan ExitStatus, 1)
	go func() {
		defer close(out)
		for st := range in {
			out <- exitStatus(st)
		}
	}()
	return out, nil
}

func (t *task) Status(ctx context.Context) (Status, error) {
	st, err := t.rt.Status(ctx)
	return statusOf(st, err, t.rt.Exit)
}

// statusOf makes the Status of a process whose runtime status is st (or
// err), its exit read by exit once Stopped.
func statusOf(st runtime.Status, err error, exit func() (runtime.ExitStatus, bool)) (Status, error) {
	if err != nil {
		return Status{Status: Unknown}, err
	}
	s := Status{Status: ProcessStatus(st)}
	if st == runtime.Stopped {
		// Known once the exit is reported (its output drained); until
		// then, or when it cannot be known, ExitStatus is unknown.
		s.ExitStatus = UnknownExitStatus
		if es, ok := exit(); ok && es.Err == nil {
			s.ExitStatus, s.ExitTime, s.OOMKilled = es.Code, es.ExitedAt, es.OOMKilled
		}
	}
	return s, nil
}

func (t *task) CloseIO(ctx context.Context, opts ...IOCloserOpts) error {
	return closeIO(opts, func() error { return t.rt.CloseIO(ctx) })
}

// closeIO calls closeStdin when opts ask to close stdin.
func closeIO(opts []IOCloserOpts, closeStdin func() error) error {
	var ci IOCloseInfo
	for _, o := range opts {
		o(&ci)
	}
	if !ci.Stdin {
		return nil
	}
	return closeStdin()
}

func (t *task) Resize(ctx context.Context, w, h uint32) error {
	if err := checkSize(t.key.id, w, h); err != nil {
		return err
	}
	return t.rt.Resize(ctx, uint16(w), uint16(h))
}

func (t *task) Update(ctx context.Context, opts ...UpdateTaskOpts) error {
	var ui UpdateTaskInfo
	for _, o := range opts {
		if err := o(ctx, t.c, &ui); err != nil {
			return fmt.Errorf("task %s: update: %w", t.key.id, err)
		}
	}
	if ui.Resources == nil {
		return fmt.Errorf("task %s: update: nothing to update (WithResources): %w", t.key.id, errdefs.ErrInvalidArgument)
	}
	return t.rt.Update(ctx, ui.Resources)
}

func (t *task) Metrics(ctx context.Context) (*Metrics, error) { return t.rt.Metrics(ctx) }

func (t *task) Pause(ctx context.Context) error {
	if err := t.rt.Pause(ctx); err != nil {
		return err
	}
	t.c.publishIn(t.key.ns, &events.TaskPaused{ContainerID: t.key.id})
	return nil
}

func (t *task) Resume(ctx context.Context) error {
	if err := t.rt.Resume(ctx); err != nil {
		return err
	}
	t.c.publishIn(t.key.ns, &events.TaskResumed{ContainerID: t.key.id})
	return nil
}

func (t *task) Pids(ctx context.Context) ([]ProcessInfo, error) {
	pids, err := t.rt.Pids(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ProcessInfo, len(pids))
	for i, p := range pids {
		out[i] = ProcessInfo{Pid: uint32(p.Pid), ExecID: p.ExecID}
	}
	return out, nil
}

func (t *task) Spec(ctx context.Context) (*oci.Spec, error) {
	if t.spec != nil {
		return t.spec, nil
	}
	ct, err := t.c.LoadContainer(ctx, t.key.id)
	if err != nil {
		return nil, err
	}
	s, err := ct.Spec(ctx)
	if err != nil {
		return nil, err
	}
	cp := *s
	if cp.Root != nil {
		root := *cp.Root
		root.Path = filepath.Join(t.bundle, "rootfs")
		cp.Root = &root
	}
	return &cp, nil
}

// Delete removes the task: its libcontainer state and cgroup, then its
// root filesystem mount, its bundle directory and its IO. Should the
// unmount fail, the task stays known and Delete can be called again.
func (t *task) Delete(ctx context.Context, opts ...ProcessDeleteOpts) (*ExitStatus, error) {
	t.delMu.Lock()
	defer t.delMu.Unlock()
	t.mu.Lock()
	rtDeleted := t.rtDeleted
	t.mu.Unlock()
	if !rtDeleted {
		for _, o := range opts {
			if err := o(ctx, t); err != nil {
				return nil, fmt.Errorf("task %s: delete: %w", t.key.id, err)
			}
		}
		st, err := t.rt.Delete(ctx, false)
		if err != nil {
			return nil, err
		}
		es := exitStatus(*st)
		t.mu.Lock()
		t.rtDeleted, t.exit = true, &es
		t.mu.Unlock()
	}
	unlock, err := t.c.lockTasks(t.key.ns)
	if err != nil {
		return nil, fmt.Errorf("task %s: delete: %w", t.key.id, err)
	}
	b := &bundle{dir: t.bundle, mounted: true}
	rerr := b.remove()
	unlock()
	if rerr != nil {
		return nil, fmt.Errorf("task %s: delete: %w", t.key.id, rerr)
	}
	t.c.taskMu.Lock()
	if t.c.tasks[t.key] == t {
		delete(t.c.tasks, t.key)
	}
	t.c.taskMu.Unlock()
	t.release()
	if err := t.io.Close(); err != nil {
		return nil, fmt.Errorf("task %s: delete: io: %w", t.key.id, err)
	}
	es := *t.exit
	t.c.publishIn(t.key.ns, &events.TaskDelete{ContainerID: t.key.id, ID: t.key.id, Pid: t.Pid(), ExitStatus: es.code, ExitedAt: es.exitedAt})
	return &es, nil
}

// bundle is the directory a task's root filesystem is mounted in.
type bundle struct {
	dir     string
	lock    *os.File // the directory, flocked while the task is set up
	mounted bool
}

func (b *bundle) rootfs() string { return filepath.Join(b.dir, "rootfs") }

// newBundle makes the bundle directory of task id, locked until the task
// exists. A directory left by a task that is gone (a crash) is cleaned
// and reused; one whose task exists, or is being set up or removed by
// another process, is AlreadyExists. The container's record is checked
// again under the lock, so that a Container.Delete that went first is
// seen.
func (c *Client) newBundle(ctx context.Context, ns, id string) (_ *bundle, retErr error) {
	unlock, err := c.lockTasks(ns)
	if err != nil {
		return nil, err
	}
	defer unlock()
	has, err := c.hasTask(ns, id)
	if err != nil {
		return nil, err
	}
	if has {
		return nil, fmt.Errorf("task %s exists or is being created or deleted: %w", id, errdefs.ErrAlreadyExists)
	}
	b := &bundle{dir: c.bundleDir(ns, id)}
	if err := os.Mkdir(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer func() {
		if retErr != nil {
			b.unlock()
			os.Remove(b.rootfs())
			os.Remove(b.dir)
		}
	}()
	f, err := os.Open(b.dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b.lock = f
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, fmt.Errorf("bundle: lock: %w", err)
	}
	if err := os.Mkdir(b.rootfs(), 0o700); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if _, err := c.containers.Get(ctx, id); err != nil {
		return nil, err
	}
	return b, nil
}

// keepShared turns the bundle's lock into a shared one, kept by the
// caller: the returned directory, whose closing releases it.
func (b *bundle) keepShared() *os.File {
	f := b.lock
	b.lock = nil
	if f != nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_SH)
	}
	return f
}

// lockShared opens the bundle directory dir and takes its lock shared, for
// a client holding a task loaded from its state. It returns nil when there
// is no bundle. Another process may hold the lock exclusive for a moment
// (setting the task up, Cleanup looking at it, Delete removing it): it
// waits for it, until ctx ends or lockWait has passed (Unavailable).
func lockShared(ctx context.Context, dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock bundle: %w", err)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another process has held the task's bundle for %v (setting the task up or removing it): %w", lockWait, errdefs.ErrUnavailable)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lockWait is how long lockShared waits for another process's exclusive
// hold of a bundle, which lasts milliseconds.
const lockWait = 5 * time.Second

// release drops what the client holds of a task it forgets without
// deleting it.
func (t *task) release() {
	t.rt.Release()
	t.mu.Lock()
	if t.owner != nil {
		t.owner.Close()
		t.owner = nil
	}
	t.mu.Unlock()
}

func (b *bundle) unlock() {
	if b.lock != nil {
		b.lock.Close()
		b.lock = nil
	}
}

// remove unmounts the root filesystem, if mounted, and removes the bundle
// directory; it never removes anything below a root it could not
// unmount.
func (b *bundle) remove() error {
	if b.mounted {
		if err := snapshot.UnmountAll(b.rootfs()); err != nil {
			return fmt.Errorf("unmount rootfs: %w", err)
		}
		b.mounted = false
	}
	// Only empty directories are left: Remove, never RemoveAll, so that a
	// root still mounted is never emptied.
	if err := os.Remove(b.rootfs()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove bundle: %w", err)
	}
	if err := os.Remove(b.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove bundle: %w", err)
	}
	return nil
}
