package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/internal/runtime"
	"github.com/daemonless/containerd/namespaces"
)

// TaskRef names a task: its namespace and its container's id.
type TaskRef struct {
	Namespace string
	ID        string
}

// CleanupReport is what Client.Cleanup found.
type CleanupReport struct {
	// Removed are the tasks whose remains Cleanup removed: those whose
	// init had exited while no client held them, and the halves of tasks
	// whose starter died while it was making or deleting them.
	Removed []TaskRef
	// Detached are the tasks alive (created, running or paused) that no
	// client holds: their starter exited or died. They are left as they
	// are; Container.Task picks them up again.
	Detached []TaskRef
}

// Cleanup removes what tasks left behind when the processes that held
// them went away: in every namespace under the client's state directory,
// each task that no client in any process holds and whose init has
// exited is deleted as Task.Delete would: its cgroup, its libcontainer
// state, its root filesystem mount and its bundle directory. So are a
// bundle whose task has no state (its starter died setting it up or
// deleting it) and a state directory that an interrupted Create left
// without its state file.
//
// A task a client holds (made with NewTask or loaded with Container.Task,
// and neither deleted nor released by Close) is never touched, whether
// it runs or not, nor is a task being set up or removed. A task still
// alive that no one holds is left running and listed in
// CleanupReport.Detached: its exit status is not known to any process
// but its starter, so Cleanup removes it once it has exited. A task
// whose starter died between NewTask and Start stays Created, its init
// waiting; Container.Task then Start or Delete ends that.
//
// New calls Cleanup and ignores what it returns, so that no task New
// cannot clean keeps a client from opening; call Cleanup to learn what
// was removed and what was not. The error joins one error per task or
// namespace that could not be cleaned, each naming it; the others are
// cleaned all the same. For each task deleted with its state, a
// /tasks/delete event is published, its exit status UnknownExitStatus.
// Cleanup is safe to call at any time, from any number of processes.
func (c *Client) Cleanup(ctx context.Context) (CleanupReport, error) {
	var rep CleanupReport
	entries, err := os.ReadDir(c.stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return rep, nil
	} else if err != nil {
		return rep, fmt.Errorf("cleanup: %w", err)
	}
	var errs []error
	for _, e := range entries {
		ns := e.Name()
		if !e.IsDir() || namespaces.Validate(ns) != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
			break
		}
		if err := c.cleanupNamespace(ctx, ns, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// cleanupNamespace cleans the tasks of namespace ns, adding what it did to
// rep.
func (c *Client) cleanupNamespace(ctx context.Context, ns string, rep *CleanupReport) error {
	ids := map[string]bool{}
	for _, sub := range []string{"tasks", "runc"} {
		entries, err := os.ReadDir(filepath.Join(c.stateDir, ns, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cleanup: namespace %s: %w", ns, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				ids[e.Name()] = true
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rt, err := c.runtimeFor(ns)
	if err != nil {
		return fmt.Errorf("cleanup: namespace %s: %w", ns, err)
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var errs []error
	for _, id := range sorted {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
			break
		}
		ref := TaskRef{Namespace: ns, ID: id}
		switch found, err := c.cleanupTask(ctx, rt, ns, id); {
		case err != nil:
			errs = append(errs, fmt.Errorf("cleanup: task %s/%s: %w", ns, id, err))
		case found == taskRemoved:
			rep.Removed = append(rep.Removed, ref)
		case found == taskDetached:
			rep.Detached = append(rep.Detached, ref)
		}
	}
	return errors.Join(errs...)
}

// cleanupFound is what cleanupTask found of a task.
type cleanupFound int

const (
	taskLeft     cleanupFound = iota // held, or gone meanwhile: nothing done
	taskRemoved                      // its remains were removed
	taskDetached                     // alive and held by no one: left
)

// cleanupTask cleans task id of namespace ns if no one holds it and its
// init has exited. It takes the namespace's tasks lock to look, and keeps
// it while it deletes a task without a bundle; a task's bundle, locked,
// keeps other clients off while its runtime part is deleted.
func (c *Client) cleanupTask(ctx context.Context, rt *runtime.Runtime, ns, id string) (cleanupFound, error) {
	unlock, err := c.lockTasks(ns)
	if err != nil {
		return taskLeft, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	if c.cachedTask(taskKey{ns, id}) != nil {
		return taskLeft, nil // this client holds it
	}
	stateDir := filepath.Join(c.stateDir, ns, "runc", id)
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); errors.Is(err, os.ErrNotExist) {
		return c.cleanupStateless(ns, id, stateDir)
	} else if err != nil {
		return taskLeft, err
	}

	// The bundle's lock, exclusive, keeps other clients off the task
	// (NewTask, Container.Task and Container.Delete see it held) until
	// it is gone; taken, it says that no process holds the task.
	dir := c.bundleDir(ns, id)
	lock, err := os.Open(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A task whose bundle is gone: no client can hold it.
	case err != nil:
		return taskLeft, fmt.Errorf("bundle: %w", err)
	default:
		defer lock.Close()
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			if err == unix.EWOULDBLOCK {
				return taskLeft, nil // held
			}
			return taskLeft, fmt.Errorf("bundle: lock: %w", err)
		}
		// Held, the bundle says "being removed" to other clients: the
		// tasks lock can go meanwhile, as for Task.Delete.
		unlock()
		locked = false
	}
	rtask, err := rt.Load(ctx, id)
	if errdefs.IsNotFound(err) {
		return taskLeft, nil // deleted meanwhile
	} else if err != nil {
		return taskLeft, err
	}
	st, err := rtask.Status(ctx)
	if err != nil {
		rtask.Release()
		return taskLeft, err
	}
	if st != runtime.Stopped {
		rtask.Release()
		return taskDetached, nil
	}
	if _, exited := rtask.Exit(); !exited {
		// It exited since Load: its watch says so at once.
		ch, err := rtask.Wait(ctx)
		if err != nil {
			rtask.Release()
			return taskLeft, err
		}
		<-ch
	}
	if _, err := rtask.Delete(ctx, false); err != nil {
		return taskLeft, err
	}
	if lock != nil {
		if unlock, err = c.lockTasks(ns); err != nil {
			return taskLeft, err
		}
		locked = true
		b := &bundle{dir: dir, mounted: true}
		if err := b.remove(); err != nil {
			return taskLeft, err
		}
	}
	c.publishIn(ns, &events.TaskDelete{ContainerID: id, ID: id, Pid: uint32(rtask.Pid()), ExitStatus: UnknownExitStatus})
	return taskRemoved, nil
}

// cleanupStateless cleans task id of namespace ns, which has no
// libcontainer state file: its bundle, unless someone holds it (hasTask
// removes it), and then the state directory an interrupted Create may
// have left, which would make every later Create of id fail. The caller
// holds the namespace's tasks lock.
func (c *Client) cleanupStateless(ns, id, stateDir string) (cleanupFound, error) {
	_, err := os.Lstat(c.bundleDir(ns, id))
	hadBundle := err == nil
	has, err := c.hasTask(ns, id)
	if err != nil || has {
		return taskLeft, err
	}
	// No bundle is left, so no client is creating the task (NewTask
	// holds its bundle throughout) nor deleting it (Task.Delete removes
	// the state before the bundle).
	removed := hadBundle
	if _, err := os.Lstat(stateDir); err == nil {
		if err := os.RemoveAll(stateDir); err != nil {
			return taskLeft, fmt.Errorf("state left by an interrupted create: %w", err)
		}
		removed = true
	}
	if removed {
		return taskRemoved, nil
	}
	return taskLeft, nil
}

// releaseTasks forgets the tasks the client holds without touching them:
// their bundles' locks are released, so that Cleanup in any process may
// remove each once it has exited. Close calls it.
func (c *Client) releaseTasks() {
	c.taskMu.Lock()
	tasks := c.tasks
	c.tasks = map[taskKey]*task{}
	c.taskMu.Unlock()
	for _, t := range tasks {
		t.release()
	}
}
