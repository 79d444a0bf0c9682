//go:build !linux || !cgo

package runtime

import (
	"context"
	"fmt"
	"syscall"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Create fails: containers run on Linux, with cgo, only.
func (r *Runtime) Create(ctx context.Context, id string, spec *specs.Spec, stdio IO, opts ...CreateOpt) (*Task, error) {
	return nil, fmt.Errorf("task %s: create: %w", id, errdefs.ErrNotImplemented)
}

// Task is a container and its init process. There are none on this
// platform.
type Task struct{ id string }

func (t *Task) notImplemented(op string) error {
	return fmt.Errorf("task %s: %s: %w", t.id, op, errdefs.ErrNotImplemented)
}

// ID returns the task's container id.
func (t *Task) ID() string { return t.id }

// Pid returns the pid of the task's init.
func (t *Task) Pid() int { return 0 }

// Start fails: containers run on Linux only.
func (t *Task) Start(ctx context.Context) error { return t.notImplemented("start") }

// Kill fails: containers run on Linux only.
func (t *Task) Kill(ctx context.Context, sig syscall.Signal, all bool) error {
	return t.notImplemented("kill")
}

// Wait fails: containers run on Linux only.
func (t *Task) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	return nil, t.notImplemented("wait")
}

// Status fails: containers run on Linux only.
func (t *Task) Status(ctx context.Context) (Status, error) { return "", t.notImplemented("status") }

// Pause fails: containers run on Linux only.
func (t *Task) Pause(ctx context.Context) error { return t.notImplemented("pause") }

// Resume fails: containers run on Linux only.
func (t *Task) Resume(ctx context.Context) error { return t.notImplemented("resume") }

// ProcessInfo is a process of a task.
type ProcessInfo struct {
	Pid    int
	ExecID string
}

// Pids fails: containers run on Linux only.
func (t *Task) Pids(ctx context.Context) ([]ProcessInfo, error) { return nil, t.notImplemented("pids") }

// CloseIO fails: containers run on Linux only.
func (t *Task) CloseIO(ctx context.Context) error { return t.notImplemented("close io") }

// Resize fails: containers run on Linux only.
func (t *Task) Resize(ctx context.Context, width, height uint16) error {
	return t.notImplemented("resize")
}

// Update fails: containers run on Linux only.
func (t *Task) Update(ctx context.Context, res *specs.LinuxResources) error {
	return t.notImplemented("update")
}

// Exec fails: containers run on Linux only.
func (t *Task) Exec(ctx context.Context, id string, spec *specs.Process, stdio IO) (*Process, error) {
	return nil, t.notImplemented("exec")
}

// LoadProcess fails: containers run on Linux only.
func (t *Task) LoadProcess(ctx context.Context, id string) (*Process, error) {
	return nil, t.notImplemented("load process")
}

// Process is a process run in a task's container. There are none on this
// platform.
type Process struct{ t *Task }

// ID returns "".
func (p *Process) ID() string { return "" }

// Pid returns 0.
func (p *Process) Pid() int { return 0 }

// Start fails: containers run on Linux only.
func (p *Process) Start(ctx context.Context) error { return p.t.notImplemented("exec start") }

// Kill fails: containers run on Linux only.
func (p *Process) Kill(ctx context.Context, sig syscall.Signal) error {
	return p.t.notImplemented("exec kill")
}

// Wait fails: containers run on Linux only.
func (p *Process) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	return nil, p.t.notImplemented("exec wait")
}

// Exit reports no exit.
func (p *Process) Exit() (ExitStatus, bool) { return ExitStatus{}, false }

// Status fails: containers run on Linux only.
func (p *Process) Status(ctx context.Context) (Status, error) {
	return "", p.t.notImplemented("exec status")
}

// CloseIO fails: containers run on Linux only.
func (p *Process) CloseIO(ctx context.Context) error { return p.t.notImplemented("exec close io") }

// Resize fails: containers run on Linux only.
func (p *Process) Resize(ctx context.Context, width, height uint16) error {
	return p.t.notImplemented("exec resize")
}

// Delete fails: containers run on Linux only.
func (p *Process) Delete(ctx context.Context, force bool) (*ExitStatus, error) {
	return nil, p.t.notImplemented("exec delete")
}

// Delete fails: containers run on Linux only.
func (t *Task) Delete(ctx context.Context, force bool) (*ExitStatus, error) {
	return nil, t.notImplemented("delete")
}

// ErrNotParent is the Err of the ExitStatus of a task this process did not
// start.
var ErrNotParent = fmt.Errorf("exit status unknown: the task was started by another process: %w", errdefs.ErrUnknown)

// Load fails: containers run on Linux, with cgo, only.
func (r *Runtime) Load(ctx context.Context, id string) (*Task, error) {
	return nil, fmt.Errorf("task %s: load: %w", id, errdefs.ErrNotImplemented)
}

// List finds no tasks: containers run on Linux, with cgo, only.
func (r *Runtime) List(ctx context.Context) ([]string, error) { return nil, nil }

// Release does nothing: there are no tasks on this platform.
func (t *Task) Release() {}

// Metrics fails: containers run on Linux, with cgo, only.
func (t *Task) Metrics(ctx context.Context) (*Metrics, error) {
	return nil, t.notImplemented("metrics")
}

// Exit reports no exit: there are no tasks on this platform.
func (t *Task) Exit() (ExitStatus, bool) { return ExitStatus{}, false }
