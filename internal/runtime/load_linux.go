//go:build cgo

package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// ErrNotParent is the Err of the ExitStatus of a task this process did not
// start (Runtime.Load): only a process's parent can learn how it exited.
var ErrNotParent = fmt.Errorf("exit status unknown: the task was started by another process: %w", errdefs.ErrUnknown)

// Load returns task id, created by Runtime.Create in this or another
// process, from its state under the Runtime's directory. NotFound if there
// is no such task.
//
// A loaded task is not this process's child: Wait returns when its init
// exits (watched through a pidfd), with Code UnknownExitStatus and Err
// ErrNotParent; Start, Kill, Status, Pause, Resume, Pids and Delete work as
// for a task Create made. Its streams are not this process's. A task whose
// init has exited already is Stopped.
func (r *Runtime) Load(ctx context.Context, id string) (*Task, error) {
	const op = "load"
	if err := ctx.Err(); err != nil {
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	c, err := libcontainer.Load(r.stateDir, id)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w: %w", err, errdefs.ErrNotFound)
		}
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	state, err := c.State()
	if err != nil {
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	cfg := c.Config()
	t := &Task{
		id:         id,
		container:  c,
		stateDir:   filepath.Join(r.stateDir, id),
		drain:      r.opts.ioDrainTimeout,
		pid:        state.InitProcessPid,
		privatePID: cfg.Namespaces.IsPrivate(configs.NEWPID),
		exited:     make(chan struct{}),
	}
	// The pidfd first, the status after: a pid reused in between is then
	// seen as the task's init gone (libcontainer checks its start time).
	pidfd, perr := unix.PidfdOpen(t.pid, unix.PIDFD_NONBLOCK)
	var pf *os.File
	if perr == nil {
		// Non-blocking, so that Go's poller waits for it, not a thread.
		pf = os.NewFile(uintptr(pidfd), fmt.Sprintf("pidfd:%d", t.pid))
	}
	st, err := c.Status()
	if err != nil {
		if pf != nil {
			pf.Close()
		}
		return nil, taskError(id, op, err, errdefs.ErrUnknown)
	}
	if perr != nil || st == libcontainer.Stopped {
		if pf != nil {
			pf.Close()
		}
		t.exit = ExitStatus{Code: UnknownExitStatus, Err: taskError(id, "wait", ErrNotParent, errdefs.ErrUnknown)}
		close(t.exited)
		return t, nil
	}
	t.pidfd = pf
	go t.watch(pf)
	return t, nil
}

// List returns the ids of the tasks under the Runtime's directory, sorted.
func (r *Runtime) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(r.stateDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("runtime: list tasks: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.stateDir, e.Name(), "state.json")); err == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// watch waits for the init of a loaded task to exit. Release ends the wait
// early, closing the pidfd.
func (t *Task) watch(pf *os.File) {
	t.exit = watchPidfd(t.id, pf)
	close(t.exited)
}

// watchPidfd waits for the process of pidfd pf to exit (pf becomes
// readable), closes pf, and returns the ExitStatus of a process this
// process is not the parent of. Closing pf ends the wait early.
func watchPidfd(id string, pf *os.File) ExitStatus {
	defer pf.Close()
	rc, err := pf.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, perr := unix.Poll(fds, 0)
			// Done when readable, or on an error Poll would repeat.
			return (perr == nil && n > 0) || (perr != nil && perr != unix.EINTR)
		})
	}
	if err != nil {
		return ExitStatus{Code: UnknownExitStatus, Err: taskError(id, "wait", fmt.Errorf("watching the process: %w", err), errdefs.ErrUnknown)}
	}
	return ExitStatus{Code: UnknownExitStatus, ExitedAt: time.Now(), Err: taskError(id, "wait", ErrNotParent, errdefs.ErrUnknown)}
}

// Release stops watching a loaded task this process no longer needs a
// handle on; its waiters get an ExitStatus whose Err says so. The task
// itself is not touched. It does nothing to a task Create made.
func (t *Task) Release() {
	if t.pidfd != nil {
		t.pidfd.Close()
	}
}
