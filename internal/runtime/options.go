package runtime

import (
	"fmt"
	"path"
	"time"

	"github.com/containerd/errdefs"
)

// Defaults of a Runtime.
const (
	// DefaultCgroupParent is the cgroup under which a Runtime puts its
	// containers' cgroups (<parent>/<id>) unless told otherwise. A
	// client with namespaces passes "/dctr/<namespace>"
	// (WithDefaultCgroupParent).
	DefaultCgroupParent = "/dctr"
	// DefaultIODrainTimeout is how long a task's exit waits for its output
	// pipes to be drained.
	DefaultIODrainTimeout = 2 * time.Second
)

// Opt configures a Runtime.
type Opt func(*options) error

type options struct {
	cgroupParent   string
	ioDrainTimeout time.Duration
	events         func(Event)
}

// WithEventHandler has h called on each Event of the Runtime's tasks: the
// exits of the processes this process started, and OOM kills. h is called
// from the goroutine that saw the event and must not block; an exit is
// reported to it before Wait reports it.
func WithEventHandler(h func(Event)) Opt {
	return func(o *options) error {
		o.events = h
		return nil
	}
}

// WithDefaultCgroupParent sets the cgroup under which the Runtime creates
// its containers' cgroups, an absolute path in the cgroup hierarchy such as
// "/dctr/default". Default: DefaultCgroupParent.
func WithDefaultCgroupParent(parent string) Opt {
	return func(o *options) error {
		if err := checkCgroupParent(parent); err != nil {
			return err
		}
		o.cgroupParent = parent
		return nil
	}
}

// WithIODrainTimeout sets how long a task's exit waits, after the init is
// reaped, for its output pipes to be drained before it is reported anyway
// and the pipes closed. It matters only when a process that outlives the
// init holds them. Default: DefaultIODrainTimeout.
func WithIODrainTimeout(d time.Duration) Opt {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("runtime: negative IO drain timeout %v: %w", d, errdefs.ErrInvalidArgument)
		}
		o.ioDrainTimeout = d
		return nil
	}
}

func makeOptions(opts []Opt) (options, error) {
	o := options{
		cgroupParent:   DefaultCgroupParent,
		ioDrainTimeout: DefaultIODrainTimeout,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// CreateOpt configures one Runtime.Create.
type CreateOpt func(*createOptions) error

type createOptions struct {
	cgroupParent string
}

// WithCgroupParent puts the container's cgroup at <parent>/<id>, parent
// being an absolute path in the cgroup hierarchy. A spec that sets
// Linux.CgroupsPath keeps its own. Default: the Runtime's
// (WithDefaultCgroupParent).
func WithCgroupParent(parent string) CreateOpt {
	return func(o *createOptions) error {
		if err := checkCgroupParent(parent); err != nil {
			return err
		}
		o.cgroupParent = parent
		return nil
	}
}

func checkCgroupParent(parent string) error {
	if !path.IsAbs(parent) || path.Clean(parent) != parent {
		return fmt.Errorf("runtime: cgroup parent %q: not an absolute clean path: %w", parent, errdefs.ErrInvalidArgument)
	}
	return nil
}
