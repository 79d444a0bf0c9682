package containerd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/oci"
)

// Container is a container record of the client's store: metadata only
// (the spec it runs with and the snapshot holding its root filesystem).
type Container interface {
	// ID names the container in its namespace.
	ID() string
	// Info returns the container's record as it is stored now.
	Info(ctx context.Context) (containers.Container, error)
	// Spec returns the OCI runtime spec the container's tasks run with.
	Spec(ctx context.Context) (*oci.Spec, error)
	// Image returns the image the container was made from; NotFound if
	// it was made from none or the image is gone.
	Image(ctx context.Context) (Image, error)
	// Labels returns the container's labels.
	Labels(ctx context.Context) (map[string]string, error)
	// SetLabels sets the given labels (an empty value removes one) and
	// returns all of them afterwards.
	SetLabels(ctx context.Context, labels map[string]string) (map[string]string, error)
	// Update changes the record through opts, in one write.
	Update(ctx context.Context, opts ...UpdateContainerOpts) error
	// Delete removes the record; WithSnapshotCleanup removes its snapshot
	// too. A container with a task is FailedPrecondition: delete the task
	// first.
	Delete(ctx context.Context, opts ...DeleteOpts) error
	// NewTask mounts the container's snapshot and creates its task, the
	// init process waiting to be started (Task.Start), with the streams
	// ioCreator makes (nil: NullIO). A container whose spec has no
	// command is InvalidArgument, one with a task already AlreadyExists.
	// On failure nothing is left: no mount, no cgroup, no state.
	NewTask(ctx context.Context, ioCreator IOCreator, opts ...NewTaskOpts) (Task, error)
	// Task returns the container's task, made by this client or loaded
	// from its state if another client or process made it; NotFound if
	// it has none.
	Task(ctx context.Context, attach IOAttach) (Task, error)
}

// NewContainerOpts sets up a container record before it is stored.
type NewContainerOpts func(ctx context.Context, client *Client, c *containers.Container) error

// UpdateContainerOpts changes a container record before it is stored
// again.
type UpdateContainerOpts func(ctx context.Context, client *Client, c *containers.Container) error

// DeleteOpts adds to what Container.Delete removes.
type DeleteOpts func(ctx context.Context, client *Client, c containers.Container) error

// ContainerService returns the client's store of container records. Its
// calls use the namespace of their context, or the client's default.
func (c *Client) ContainerService() containers.Store { return c.containers }

// NewContainer makes the container id from opts (which usually give it
// an image, a snapshot and a spec, in that order: WithNewSpec reads the
// snapshot for WithUser) and stores its record. An id in use is
// AlreadyExists; a container with no spec, or whose spec has no command
// (an image with no Entrypoint or Cmd, and no args given), is
// InvalidArgument. Should anything fail, a snapshot WithNewSnapshot made
// is removed again. NewContainer works under the lease of ctx, or one of
// its own deleted once the record is stored, so that garbage collection
// does not take the snapshot before the record references it.
func (c *Client) NewContainer(ctx context.Context, id string, opts ...NewContainerOpts) (Container, error) {
	if err := containers.ValidateID(id); err != nil {
		return nil, err
	}
	ctx, done, err := c.withTempLease(ctx, "container "+strconv.Quote(id))
	if err != nil {
		return nil, err
	}
	defer done()
	rec := containers.Container{ID: id}
	var made *madeSnapshot
	ctx = context.WithValue(ctx, madeSnapshotKey{}, &made)
	cleanup := func() {
		if made != nil {
			c.SnapshotService(made.snapshotter).Remove(context.WithoutCancel(ctx), made.key)
		}
	}
	if _, err := c.containers.Get(ctx, id); err == nil {
		return nil, fmt.Errorf("container %q: %w", id, errdefs.ErrAlreadyExists)
	}
	for _, o := range opts {
		if err := o(ctx, c, &rec); err != nil {
			cleanup()
			return nil, fmt.Errorf("container %q: %w", id, err)
		}
	}
	if rec.Spec != nil && (rec.Spec.Process == nil || len(rec.Spec.Process.Args) == 0) {
		cleanup()
		return nil, fmt.Errorf("container %q: no command to run: the image has no Entrypoint or Cmd and no args were given: %w", id, errdefs.ErrInvalidArgument)
	}
	stored, err := c.containers.Create(ctx, rec)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &container{c: c, id: stored.ID}, nil
}

// madeSnapshot remembers the snapshot a NewContainer option made, so that
// NewContainer can remove it when it fails.
type madeSnapshot struct{ snapshotter, key string }

type madeSnapshotKey struct{}

func noteSnapshot(ctx context.Context, snapshotter, key string) {
	if p, ok := ctx.Value(madeSnapshotKey{}).(**madeSnapshot); ok {
		*p = &madeSnapshot{snapshotter: snapshotter, key: key}
	}
}

// LoadContainer returns the container id of the context's namespace.
func (c *Client) LoadContainer(ctx context.Context, id string) (Container, error) {
	rec, err := c.containers.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &container{c: c, id: rec.ID}, nil
}

// Containers returns the containers matching any of the filters (fields
// id, image, snapshotter, snapshotkey, labels.KEY), in id order.
func (c *Client) Containers(ctx context.Context, filters ...string) ([]Container, error) {
	recs, err := c.containers.List(ctx, filters...)
	if err != nil {
		return nil, err
	}
	out := make([]Container, len(recs))
	for i, r := range recs {
		out[i] = &container{c: c, id: r.ID}
	}
	return out, nil
}

type container struct {
	c  *Client
	id string
}

var _ Container = (*container)(nil)

func (ct *container) ID() string { return ct.id }

func (ct *container) Info(ctx context.Context) (containers.Container, error) {
	return ct.c.containers.Get(ctx, ct.id)
}

func (ct *container) Spec(ctx context.Context) (*oci.Spec, error) {
	rec, err := ct.Info(ctx)
	if err != nil {
		return nil, err
	}
	return rec.Spec, nil
}

func (ct *container) Image(ctx context.Context) (Image, error) {
	rec, err := ct.Info(ctx)
	if err != nil {
		return nil, err
	}
	if rec.Image == "" {
		return nil, fmt.Errorf("container %q: made from no image: %w", ct.id, errdefs.ErrNotFound)
	}
	return ct.c.GetImage(ctx, rec.Image)
}

func (ct *container) Labels(ctx context.Context) (map[string]string, error) {
	rec, err := ct.Info(ctx)
	return rec.Labels, err
}

func (ct *container) SetLabels(ctx context.Context, labels map[string]string) (map[string]string, error) {
	paths := make([]string, 0, len(labels))
	for k := range labels {
		paths = append(paths, "labels."+k)
	}
	if len(paths) == 0 {
		return ct.Labels(ctx)
	}
	rec, err := ct.c.containers.Update(ctx, containers.Container{ID: ct.id, Labels: labels}, paths...)
	return rec.Labels, err
}

func (ct *container) Update(ctx context.Context, opts ...UpdateContainerOpts) error {
	rec, err := ct.Info(ctx)
	if err != nil {
		return err
	}
	for _, o := range opts {
		if err := o(ctx, ct.c, &rec); err != nil {
			return fmt.Errorf("container %q: %w", ct.id, err)
		}
	}
	_, err = ct.c.containers.Update(ctx, rec)
	return err
}

func (ct *container) Delete(ctx context.Context, opts ...DeleteOpts) error {
	rec, err := ct.Info(ctx)
	if err != nil {
		return err
	}
	ns, err := ct.c.namespaceOf(ctx)
	if err != nil {
		return err
	}
	// Under the namespace's tasks lock, so that no task is being set up
	// meanwhile: NewTask checks the record under the same lock.
	unlock, err := ct.c.lockTasks(ns)
	if err != nil {
		return fmt.Errorf("container %q: %w", ct.id, err)
	}
	if has, err := ct.c.hasTask(ns, ct.id); err != nil {
		unlock()
		return fmt.Errorf("container %q: %w", ct.id, err)
	} else if has {
		unlock()
		return fmt.Errorf("container %q has a task; delete it first: %w", ct.id, errdefs.ErrFailedPrecondition)
	}
	// The record goes first: a snapshot left by a failure is found by
	// garbage collection, a record without its snapshot would not run.
	err = ct.c.containers.Delete(ctx, ct.id)
	unlock()
	if err != nil {
		return err
	}
	for _, o := range opts {
		if err := o(ctx, ct.c, rec); err != nil {
			return fmt.Errorf("container %q: %w", ct.id, err)
		}
	}
	return nil
}

// WithSnapshotCleanup, on Delete, removes the container's snapshot.
func WithSnapshotCleanup(ctx context.Context, client *Client, c containers.Container) error {
	if c.SnapshotKey == "" {
		return nil
	}
	err := client.SnapshotService(c.Snapshotter).Remove(ctx, c.SnapshotKey)
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}
