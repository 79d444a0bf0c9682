package containerd

import (
	"context"
	"fmt"
	"math"
	"syscall"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/internal/runtime"
)

// Exec makes process id in the task's container; its Start runs it. The
// process joins the container's namespaces and cgroup and runs as spec
// says: args, env, cwd, numeric user, capabilities, rlimits, and a
// terminal when spec.Terminal or the IO's Terminal asks for one.
// ioCreator is called with the exec id. id must be new in the task
// (AlreadyExists), made of letters and digits with '.', '_' or '-'
// between them (InvalidArgument).
func (t *task) Exec(ctx context.Context, id string, spec *specs.Process, ioCreator IOCreator) (_ Process, retErr error) {
	if spec == nil {
		return nil, fmt.Errorf("task %s: exec %s: no process spec: %w", t.key.id, id, errdefs.ErrInvalidArgument)
	}
	if ioCreator == nil {
		ioCreator = NullIO
	}
	tio, err := ioCreator(id)
	if err != nil {
		return nil, fmt.Errorf("task %s: exec %s: io: %w", t.key.id, id, err)
	}
	defer func() {
		if retErr != nil {
			tio.Close()
		}
	}()
	cfg := tio.Config()
	ps := *spec
	ps.Terminal = cfg.Terminal || spec.Terminal
	rp, err := t.rt.Exec(ctx, id, &ps, runtimeIO(cfg, ps.Terminal))
	if err != nil {
		return nil, err
	}
	t.c.publishIn(t.key.ns, &events.TaskExecAdded{ContainerID: t.key.id, ExecID: id})
	return &process{t: t, rp: rp, io: tio}, nil
}

// LoadProcess returns exec'd process id of the task: one made by this
// client, or one another client or process started (NotFound if none).
// The exit status of the latter is not known here: its Wait reports
// UnknownExitStatus with ErrNotParent; its streams are its own (attach
// gives the IO the Process holds, as for Container.Task).
func (t *task) LoadProcess(ctx context.Context, id string, attach IOAttach) (Process, error) {
	rp, err := t.rt.LoadProcess(ctx, id)
	if err != nil {
		return nil, err
	}
	var tio IO = &streamsIO{}
	if attach != nil {
		if tio, err = attach(id); err != nil {
			return nil, fmt.Errorf("task %s: exec %s: attach: %w", t.key.id, id, err)
		}
	}
	return &process{t: t, rp: rp, io: tio}, nil
}

// runtimeIO is the runtime's IO of cfg.
func runtimeIO(cfg IOConfig, terminal bool) runtime.IO {
	return runtime.IO{Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr, Terminal: terminal}
}

// checkSize checks a terminal size given to Resize.
func checkSize(id string, w, h uint32) error {
	if w == 0 || h == 0 || w > math.MaxUint16 || h > math.MaxUint16 {
		return fmt.Errorf("%s: resize: terminal size %dx%d: width and height must be 1 to %d: %w", id, w, h, math.MaxUint16, errdefs.ErrInvalidArgument)
	}
	return nil
}

// process is a process Task.Exec made.
type process struct {
	t  *task
	rp *runtime.Process
	io IO
}

var _ Process = (*process)(nil)

func (p *process) ID() string  { return p.rp.ID() }
func (p *process) Pid() uint32 { return uint32(p.rp.Pid()) }
func (p *process) IO() IO      { return p.io }

func (p *process) Start(ctx context.Context) error {
	if err := p.rp.Start(ctx); err != nil {
		return err
	}
	p.t.c.publishIn(p.t.key.ns, &events.TaskExecStarted{ContainerID: p.t.key.id, ExecID: p.rp.ID(), Pid: p.Pid()})
	return nil
}

func (p *process) Kill(ctx context.Context, sig syscall.Signal, opts ...KillOpts) error {
	var ki KillInfo
	for _, o := range opts {
		if err := o(ctx, &ki); err != nil {
			return err
		}
	}
	if ki.All {
		// Every process of the task, as containerd does.
		return p.t.Kill(ctx, sig, WithKillAll)
	}
	return p.rp.Kill(ctx, sig)
}

func (p *process) Wait(ctx context.Context) (<-chan ExitStatus, error) {
	return waitOf(p.rp.Wait(ctx))
}

func (p *process) Status(ctx context.Context) (Status, error) {
	st, err := p.rp.Status(ctx)
	return statusOf(st, err, p.rp.Exit)
}

func (p *process) CloseIO(ctx context.Context, opts ...IOCloserOpts) error {
	return closeIO(opts, func() error { return p.rp.CloseIO(ctx) })
}

func (p *process) Resize(ctx context.Context, w, h uint32) error {
	if err := checkSize(p.t.key.id+" exec "+p.rp.ID(), w, h); err != nil {
		return err
	}
	return p.rp.Resize(ctx, uint16(w), uint16(h))
}

// Delete removes the process and returns its exit status, after the
// options (WithProcessKill) ran; a process still running is
// FailedPrecondition. Its IO is closed.
func (p *process) Delete(ctx context.Context, opts ...ProcessDeleteOpts) (*ExitStatus, error) {
	for _, o := range opts {
		if err := o(ctx, p); err != nil {
			return nil, fmt.Errorf("task %s: exec %s: delete: %w", p.t.key.id, p.rp.ID(), err)
		}
	}
	st, err := p.rp.Delete(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := p.io.Close(); err != nil {
		return nil, fmt.Errorf("task %s: exec %s: delete: io: %w", p.t.key.id, p.rp.ID(), err)
	}
	es := exitStatus(*st)
	p.t.c.publishIn(p.t.key.ns, &events.TaskDelete{ContainerID: p.t.key.id, ID: p.rp.ID(), Pid: p.Pid(), ExitStatus: es.code, ExitedAt: es.exitedAt})
	return &es, nil
}

// taskEvent publishes what the runtime of namespace ns reports: the exits
// of the processes this process started, and OOM kills.
func (c *Client) taskEvent(ns string, ev runtime.Event) {
	switch ev.Type {
	case runtime.EventExit:
		id := ev.ExecID
		if id == "" {
			id = ev.TaskID
		}
		c.publishIn(ns, &events.TaskExit{ContainerID: ev.TaskID, ID: id, Pid: uint32(ev.Pid), ExitStatus: ev.Exit.Code, ExitedAt: ev.Exit.ExitedAt})
	case runtime.EventOOM:
		c.publishIn(ns, &events.TaskOOM{ContainerID: ev.TaskID})
	}
}
