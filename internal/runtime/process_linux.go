//go:build cgo

package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execIDPattern is what an exec id may be: containerd's identifiers, at
// most 76 characters.
var execIDPattern = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

const maxExecIDLen = 76

// Process is a process run in a task's container next to its init: it
// joins the container's namespaces and cgroup, with its own user,
// environment, working directory, capabilities and terminal. Exec makes
// it, Start runs it; a process this process started is its child, reaped
// as soon as it exits, like a task's init. Its methods are safe for
// concurrent use.
type Process struct {
	t    *Task
	id   string
	spec *specs.Process
	cfg  IO

	// mu guards started, deleted, lp, pid and io.
	mu      sync.Mutex
	started bool
	deleted bool
	lp      *libcontainer.Process
	pid     int
	io      *stdio
	pidfd   *os.File // a loaded process's, watched

	// sigkilled is set once this process sent it SIGKILL.
	sigkilled atomic.Bool

	exited chan struct{} // closed once exit is set
	exit   ExitStatus
}

// execRecord is what is kept of a started exec'd process in the task's
// state directory, so that another process can find it (LoadProcess,
// Pids).
type execRecord struct {
	Pid int `json:"pid"`
	// StartTime is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat), telling it from a later process with its pid.
	StartTime uint64 `json:"start_time"`
	Terminal  bool   `json:"terminal,omitempty"`
}

func (t *Task) execDir() string { return filepath.Join(t.stateDir, "execs") }

func (t *Task) execRecordPath(id string) string {
	return filepath.Join(t.execDir(), id+".json")
}

// Exec makes process id in the task's container, to be run by Start. id
// must be unused in the task (AlreadyExists) and made of letters and
// digits, with '.', '_' or '-' between them, at most 76 characters
// (InvalidArgument). spec gives the process's args, env, cwd, numeric
// user, capabilities, rlimits, no-new-privileges and terminal; stdio its
// streams. The process gets a pseudo-terminal when stdio.Terminal or
// spec.Terminal asks for one. A task whose init has exited is FailedPrecondition.
func (t *Task) Exec(ctx context.Context, id string, spec *specs.Process, stdio IO) (*Process, error) {
	const op = "exec"
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	switch {
	case len(id) > maxExecIDLen || !execIDPattern.MatchString(id):
		return nil, taskError(t.id, op, fmt.Errorf("exec id %q: must be letters and digits, with '.', '_' or '-' between them, at most %d characters: %w", id, maxExecIDLen, errdefs.ErrInvalidArgument), nil)
	case spec == nil || len(spec.Args) == 0:
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: the process has no args: %w", id, errdefs.ErrInvalidArgument), nil)
	case spec.User.Username != "":
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: user name %q: the spec must give numeric ids: %w", id, spec.User.Username, errdefs.ErrInvalidArgument), nil)
	case spec.Cwd != "" && !filepath.IsAbs(spec.Cwd):
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: working directory %q is not absolute: %w", id, spec.Cwd, errdefs.ErrInvalidArgument), nil)
	}
	for _, rl := range spec.Rlimits {
		if _, ok := rlimitNumber(rl.Type); !ok {
			return nil, taskError(t.id, op, fmt.Errorf("exec %s: unknown rlimit %q: %w", id, rl.Type, errdefs.ErrInvalidArgument), nil)
		}
	}
	if t.hasExited() {
		return nil, taskError(t.id, op, errors.New("init has exited"), errdefs.ErrFailedPrecondition)
	}
	t.execMu.Lock()
	defer t.execMu.Unlock()
	if _, ok := t.execs[id]; ok {
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: %w", id, errdefs.ErrAlreadyExists), nil)
	}
	if _, err := os.Stat(t.execRecordPath(id)); err == nil {
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: started by another process: %w", id, errdefs.ErrAlreadyExists), nil)
	}
	if t.execs == nil {
		t.execs = make(map[string]*Process)
	}
	cp := *spec
	stdio.Terminal = stdio.Terminal || spec.Terminal
	cp.Terminal = stdio.Terminal
	p := &Process{t: t, id: id, spec: &cp, cfg: stdio, exited: make(chan struct{})}
	t.execs[id] = p
	return p, nil
}

// ID returns the process's exec id.
func (p *Process) ID() string { return p.id }

// Pid returns the process's pid in the caller's pid namespace, 0 before
// Start.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *Process) check(ctx context.Context, op string) error {
	if err := p.t.check(ctx, op); err != nil {
		return err
	}
	p.mu.Lock()
	deleted := p.deleted
	p.mu.Unlock()
	if deleted {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: deleted", p.id), errdefs.ErrNotFound)
	}
	return nil
}

// Start runs the process. It fails with FailedPrecondition if it was
// started already, the task is paused or its init has exited. On failure the process
// is stopped, with an ExitStatus whose Err says why, and can be deleted.
func (p *Process) Start(ctx context.Context) error {
	const op = "exec start"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: started already", p.id), errdefs.ErrFailedPrecondition)
	}
	if p.t.hasExited() {
		return taskError(p.t.id, op, errors.New("init has exited"), errdefs.ErrFailedPrecondition)
	}
	p.t.freezeMu.RLock()
	defer p.t.freezeMu.RUnlock()
	if st, err := p.t.container.Status(); err == nil && st == libcontainer.Paused {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: the task is paused", p.id), errdefs.ErrFailedPrecondition)
	}
	p.started = true
	if err := p.start(); err != nil {
		p.exit = ExitStatus{Code: UnknownExitStatus, ExitedAt: time.Now(), Err: err}
		close(p.exited)
		return err
	}
	go p.reap()
	return nil
}

func (p *Process) start() (retErr error) {
	const op = "exec start"
	streams, err := newStdio(p.cfg)
	if err != nil {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: stdio: %w", p.id, err), errdefs.ErrUnknown)
	}
	defer func() {
		if retErr != nil {
			streams.close()
		}
	}()
	lp := execProcess(p.spec, streams, p.cfg)
	setExecOverrides(lp, p.spec)
	if err := p.t.container.Run(lp); err != nil {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, err), errdefs.ErrUnknown)
	}
	streams.started()
	pid, err := lp.Pid()
	if err == nil {
		err = streams.attachConsole()
	}
	if err == nil {
		err = p.t.writeExecRecord(p.id, pid, p.cfg.Terminal)
	}
	if err != nil {
		_ = lp.Signal(unix.SIGKILL)
		_, _ = lp.Wait()
		return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, err), errdefs.ErrUnknown)
	}
	p.lp, p.pid, p.io = lp, pid, streams
	return nil
}

// setExecOverrides sets on lp what of spec an exec'd process has of its
// own; the init has them from the container's configuration.
func setExecOverrides(lp *libcontainer.Process, spec *specs.Process) {
	if c := spec.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable,
			Permitted: c.Permitted, Ambient: c.Ambient,
		}
	}
	nnp := spec.NoNewPrivileges
	lp.NoNewPrivileges = &nnp
	lp.AppArmorProfile = spec.ApparmorProfile
	for _, rl := range spec.Rlimits {
		n, _ := rlimitNumber(rl.Type)
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: n, Hard: rl.Hard, Soft: rl.Soft})
	}
}

// writeExecRecord keeps the pid and start time of exec'd process id.
func (t *Task) writeExecRecord(id string, pid int, terminal bool) error {
	start, err := procStartTime(pid)
	if err != nil {
		return err
	}
	b, err := json.Marshal(execRecord{Pid: pid, StartTime: start, Terminal: terminal})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(t.execDir(), 0o700); err != nil {
		return err
	}
	tmp := t.execRecordPath(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, t.execRecordPath(id))
}

func (t *Task) readExecRecord(id string) (execRecord, error) {
	var r execRecord
	b, err := os.ReadFile(t.execRecordPath(id))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("exec %s: record: %w", id, err)
	}
	return r, nil
}

// procStartTime returns the start time of process pid, in clock ticks
// since boot: the 22nd field of /proc/<pid>/stat.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name, field 2, is in parentheses and may hold spaces
	// and parentheses: fields are counted after its last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func (p *Process) reap() {
	awaitExit(p.pid)
	ps, err := p.lp.Wait()
	oom := p.t.oomCount()
	st := p.t.exitStatus(ps, err, p.sigkilled.Load(), oom)
	p.io.drain(p.t.drain)
	p.exit = st
	if p.t.events != nil {
		p.t.reportOOMKills(oom())
		p.t.events(Event{Type: EventExit, TaskID: p.t.id, ExecID: p.id, Pid: p.pid, Exit: st})
	}
	close(p.exited)
}

func (p *Process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Kill sends sig to the process. One that has exited is NotFound; one not
// started FailedPrecondition.
func (p *Process) Kill(ctx context.Context, sig syscall.Signal) error {
	const op = "exec kill"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if p.hasExited() {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, os.ErrProcessDone), errdefs.ErrNotFound)
	}
	p.mu.Lock()
	lp, pidfd, started := p.lp, p.pidfd, p.started
	p.mu.Unlock()
	if sig == unix.SIGKILL {
		p.sigkilled.Store(true)
	}
	switch {
	case lp != nil:
		// Through a pidfd, never a reused pid.
		err := lp.Signal(sig)
		if errors.Is(err, os.ErrProcessDone) {
			err = fmt.Errorf("exec %s: %w: %w", p.id, err, errdefs.ErrNotFound)
		}
		return taskError(p.t.id, op, err, errdefs.ErrUnknown)
	case pidfd != nil:
		return taskError(p.t.id, op, pidfdSignal(pidfd, sig), errdefs.ErrUnknown)
	case !started:
		return taskError(p.t.id, op, fmt.Errorf("exec %s: not started", p.id), errdefs.ErrFailedPrecondition)
	}
	return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, os.ErrProcessDone), errdefs.ErrNotFound)
}

// awaitExit returns once child pid has exited, waiting through a pidfd and
// Go's poller: the Wait that reaps it then returns at once, and no thread
// is held blocked in wait for each running process. Should the pidfd not
// open, it returns at once and the Wait blocks as usual.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	pf := os.NewFile(uintptr(fd), "pidfd")
	defer pf.Close()
	rc, err := pf.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, perr := unix.Poll(fds, 0)
		return (perr == nil && n > 0) || (perr != nil && perr != unix.EINTR)
	})
}

// pidfdSignal sends sig to the process of pidfd.
func pidfdSignal(pidfd *os.File, sig syscall.Signal) error {
	rc, err := pidfd.SyscallConn()
	if errors.Is(err, os.ErrClosed) {
		// Closed by its watcher: the process has exited.
		return fmt.Errorf("%w: %w", os.ErrProcessDone, errdefs.ErrNotFound)
	} else if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), sig, nil, 0)
	}); err != nil {
		return err
	}
	if serr == unix.ESRCH {
		return fmt.Errorf("%w: %w", os.ErrProcessDone, errdefs.ErrNotFound)
	}
	return serr
}

// Wait returns a channel that receives the process's ExitStatus once it
// has exited and its output is drained, then is closed; as Task.Wait.
func (p *Process) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	if err := p.check(ctx, "exec wait"); err != nil {
		return nil, err
	}
	return waitFor(ctx, p.t.id, p.exited, &p.exit), nil
}

// waitFor returns a channel receiving *exit once exited is closed, or an
// unknown status when ctx ends first.
func waitFor(ctx context.Context, id string, exited <-chan struct{}, exit *ExitStatus) <-chan ExitStatus {
	ch := make(chan ExitStatus, 1)
	select {
	case <-exited:
		ch <- *exit
		close(ch)
		return ch
	default:
	}
	go func() {
		defer close(ch)
		select {
		case <-exited:
			ch <- *exit
		case <-ctx.Done():
			ch <- ExitStatus{Code: UnknownExitStatus, Err: taskError(id, "wait", ctx.Err(), errdefs.ErrUnknown)}
		}
	}()
	return ch
}

// Exit returns the process's ExitStatus once its exit is reported, and
// whether it is.
func (p *Process) Exit() (ExitStatus, bool) {
	if !p.hasExited() {
		return ExitStatus{}, false
	}
	return p.exit, true
}

// Status returns Created before Start, Stopped once exited, and else the
// task's state, Running or Paused.
func (p *Process) Status(ctx context.Context) (Status, error) {
	const op = "exec status"
	if err := p.check(ctx, op); err != nil {
		return "", err
	}
	if p.hasExited() {
		return Stopped, nil
	}
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return Created, nil
	}
	st, err := p.t.Status(ctx)
	if err != nil {
		return "", err
	}
	if st == Paused {
		return Paused, nil
	}
	return Running, nil
}

// CloseIO ends the process's standard input: the process reads EOF (on a
// terminal, an end-of-file character is typed).
func (p *Process) CloseIO(ctx context.Context) error {
	const op = "exec close io"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	p.mu.Lock()
	s := p.io
	p.mu.Unlock()
	if s == nil {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: its streams are not this process's", p.id), errdefs.ErrFailedPrecondition)
	}
	return taskError(p.t.id, op, s.closeStdin(), errdefs.ErrUnknown)
}

// Resize sets the size of the process's terminal, before Start too; one
// without a terminal is FailedPrecondition.
func (p *Process) Resize(ctx context.Context, width, height uint16) error {
	const op = "exec resize"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	p.mu.Lock()
	s := p.io
	if !p.started && p.cfg.Terminal {
		// The terminal's first size, set when Start makes it.
		p.cfg.ConsoleWidth, p.cfg.ConsoleHeight = width, height
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	if s == nil {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, errNoConsole), errdefs.ErrFailedPrecondition)
	}
	err := s.resize(width, height)
	if errors.Is(err, errNoConsole) {
		return taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, err), errdefs.ErrFailedPrecondition)
	}
	return taskError(p.t.id, op, err, errdefs.ErrUnknown)
}

// Delete removes the process and returns how it exited. A running one is
// FailedPrecondition unless force is set: it is then killed and reaped
// first (or until ctx ends). One never started is removed as it is.
func (p *Process) Delete(ctx context.Context, force bool) (*ExitStatus, error) {
	const op = "exec delete"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	var st ExitStatus
	switch {
	case !started:
		st = ExitStatus{Code: UnknownExitStatus, Err: taskError(p.t.id, "wait", fmt.Errorf("exec %s: never started: %w", p.id, errdefs.ErrFailedPrecondition), nil)}
	case p.hasExited():
		st = p.exit
	case !force:
		return nil, taskError(p.t.id, op, fmt.Errorf("exec %s: process is running", p.id), errdefs.ErrFailedPrecondition)
	default:
		if err := p.Kill(ctx, unix.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		select {
		case <-p.exited:
		case <-ctx.Done():
			return nil, taskError(p.t.id, op, ctx.Err(), errdefs.ErrUnknown)
		}
		st = p.exit
	}
	if err := os.Remove(p.t.execRecordPath(p.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, taskError(p.t.id, op, fmt.Errorf("exec %s: %w", p.id, err), errdefs.ErrUnknown)
	}
	p.mu.Lock()
	p.deleted = true
	if p.pidfd != nil {
		p.pidfd.Close()
	}
	p.mu.Unlock()
	p.t.execMu.Lock()
	if p.t.execs[p.id] == p {
		delete(p.t.execs, p.id)
	}
	p.t.execMu.Unlock()
	return &st, nil
}

// LoadProcess returns exec'd process id of the task: the one Exec made in
// this process, or one another process started, found by its record. The
// latter is not this process's child: its Wait reports UnknownExitStatus
// with ErrNotParent once it exits, its streams are not this process's
// (CloseIO and Resize fail), and Kill and Delete work. NotFound if there
// is no such process.
func (t *Task) LoadProcess(ctx context.Context, id string) (*Process, error) {
	const op = "load process"
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	t.execMu.Lock()
	defer t.execMu.Unlock()
	if p, ok := t.execs[id]; ok {
		return p, nil
	}
	if len(id) > maxExecIDLen || !execIDPattern.MatchString(id) {
		return nil, taskError(t.id, op, fmt.Errorf("exec id %q: %w", id, errdefs.ErrInvalidArgument), nil)
	}
	rec, err := t.readExecRecord(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, taskError(t.id, op, fmt.Errorf("exec %s: %w", id, errdefs.ErrNotFound), nil)
	} else if err != nil {
		return nil, taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	p := &Process{t: t, id: id, started: true, pid: rec.Pid, exited: make(chan struct{}), cfg: IO{Terminal: rec.Terminal}}
	pf, err := openPidfd(rec.Pid, rec.StartTime)
	if err != nil {
		// Gone already.
		p.exit = ExitStatus{Code: UnknownExitStatus, Err: taskError(t.id, "wait", ErrNotParent, nil)}
		close(p.exited)
	} else {
		p.pidfd = pf
		go func() {
			p.exit = watchPidfd(t.id, pf)
			close(p.exited)
		}()
	}
	if t.execs == nil {
		t.execs = make(map[string]*Process)
	}
	t.execs[id] = p
	return p, nil
}

// openPidfd opens a non-blocking pidfd of process pid if it is still the
// process that started at start (clock ticks since boot).
func openPidfd(pid int, start uint64) (*os.File, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// Checked after the open: a pid reused before is seen here, one
	// reused after cannot be, the pidfd holds the process.
	if st, err := procStartTime(pid); err != nil || st != start {
		unix.Close(fd)
		return nil, os.ErrProcessDone
	}
	return os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid)), nil
}

// execPids returns the exec ids of the task's exec'd processes by pid,
// from their records.
func (t *Task) execPids() map[int]string {
	entries, err := os.ReadDir(t.execDir())
	if err != nil {
		return nil
	}
	m := make(map[int]string, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if r, err := t.readExecRecord(id); err == nil {
			m[r.Pid] = id
		}
	}
	return m
}

// ProcessInfo is a process of a task.
type ProcessInfo struct {
	// Pid is its pid in the caller's pid namespace.
	Pid int
	// ExecID is the id of the exec'd process it is, empty for the init
	// and for the processes they started.
	ExecID string
}

// Pids returns the processes of the task (those of its cgroup), sorted by
// pid, with the exec ids of the exec'd ones (from the moment their Start
// returns: in the instant before, an exec'd process is listed without).
func (t *Task) Pids(ctx context.Context) ([]ProcessInfo, error) {
	const op = "pids"
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	pids, err := t.container.Processes()
	if err != nil {
		return nil, taskError(t.id, op, err, errdefs.ErrUnknown)
	}
	sort.Ints(pids)
	execs := t.execPids()
	out := make([]ProcessInfo, len(pids))
	for i, pid := range pids {
		out[i] = ProcessInfo{Pid: pid, ExecID: execs[pid]}
	}
	return out, nil
}
