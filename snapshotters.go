package containerd

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/native"
	"github.com/daemonless/containerd/snapshot/overlay"
)

// Snapshotter names the client knows without WithSnapshotService.
const (
	// SnapshotterOverlay keeps layers as directories stacked by
	// overlayfs; the default where the root supports it.
	SnapshotterOverlay = "overlay"
	// SnapshotterNative copies each layer's parent: any filesystem, no
	// root needed.
	SnapshotterNative = "native"
)

// WithDefaultSnapshotter sets the snapshotter used when a call names none.
// The default is "overlay" where the root supports it, else "native".
func WithDefaultSnapshotter(name string) ClientOpt {
	return func(o *clientOpts) error {
		if name == "" {
			return fmt.Errorf("default snapshotter: empty name: %w", errdefs.ErrInvalidArgument)
		}
		o.snapshotter = name
		return nil
	}
}

// WithSnapshotService makes sn the snapshotter called name, in place of
// the built-in one of that name if any. The client keeps its records per
// namespace in its metadata database and calls sn with keys of its own
// ("<namespace>/<n>/<key>"). The client closes sn when it is closed.
func WithSnapshotService(name string, sn snapshot.Snapshotter) ClientOpt {
	return func(o *clientOpts) error {
		if name == "" || sn == nil {
			return fmt.Errorf("snapshot service: name and snapshotter required: %w", errdefs.ErrInvalidArgument)
		}
		if o.snapshotters == nil {
			o.snapshotters = map[string]snapshot.Snapshotter{}
		}
		o.snapshotters[name] = sn
		return nil
	}
}

// openSnapshotter opens the built-in backend name under the root.
func (c *Client) openSnapshotter(name string) (snapshot.Snapshotter, error) {
	dir := filepath.Join(c.root, "snapshots", name)
	switch name {
	case SnapshotterOverlay:
		return overlay.New(dir)
	case SnapshotterNative:
		return native.New(dir)
	}
	return nil, fmt.Errorf("snapshotter %q: not found (built in: overlay, native): %w", name, errdefs.ErrNotFound)
}

// snapshotter returns the namespaced snapshotter name ("" for the
// default), opening its backend on first use. It publishes the events of
// the snapshots it prepares, commits and removes.
func (c *Client) snapshotter(name string) (*eventSnapshotter, error) {
	if name == "" {
		name = c.DefaultSnapshotter()
	}
	c.snMu.Lock()
	defer c.snMu.Unlock()
	sn, ok := c.snapshotters[name]
	if !ok {
		backend, err := c.openSnapshotter(name)
		if err != nil {
			return nil, err
		}
		sn = metadata.NewSnapshotter(c.db, name, backend, c.namespace)
		c.snapshotters[name] = sn
	}
	return &eventSnapshotter{Snapshotter: sn, c: c, name: name}, nil
}

// DefaultSnapshotter names the snapshotter used when a call names none:
// the one set by WithDefaultSnapshotter, else "overlay" if the root
// supports it, else "native".
func (c *Client) DefaultSnapshotter() string {
	c.snMu.Lock()
	defer c.snMu.Unlock()
	if c.defaultSnapshotter == "" {
		c.defaultSnapshotter = SnapshotterNative
		if _, ok := c.snapshotters[SnapshotterOverlay]; ok {
			c.defaultSnapshotter = SnapshotterOverlay
		} else if backend, err := c.openSnapshotter(SnapshotterOverlay); err == nil {
			c.snapshotters[SnapshotterOverlay] = metadata.NewSnapshotter(c.db, SnapshotterOverlay, backend, c.namespace)
			c.defaultSnapshotter = SnapshotterOverlay
		}
	}
	return c.defaultSnapshotter
}

// SnapshotService returns the snapshotter called name ("" for the
// default), namespaced by the context as every client service is. Its
// Prepare, Commit and Remove publish /snapshot/prepare, /snapshot/commit
// and /snapshot/remove events (see Subscribe); View publishes none. A name
// the client does not know, or a snapshotter that cannot work at the root
// (overlay without overlayfs), gives a snapshotter whose every call fails
// with that error.
func (c *Client) SnapshotService(name string) snapshot.Snapshotter {
	sn, err := c.snapshotter(name)
	if err != nil {
		return failedSnapshotter{err}
	}
	return sn
}

// closeSnapshotters closes every snapshotter the client opened.
func (c *Client) closeSnapshotters() error {
	c.snMu.Lock()
	defer c.snMu.Unlock()
	var first error
	for _, sn := range c.snapshotters {
		if err := sn.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.snapshotters = nil
	return first
}

// failedSnapshotter is the snapshotter of a name that could not be
// opened.
type failedSnapshotter struct{ err error }

func (f failedSnapshotter) Stat(context.Context, string) (snapshot.Info, error) {
	return snapshot.Info{}, f.err
}
func (f failedSnapshotter) Update(context.Context, snapshot.Info, ...string) (snapshot.Info, error) {
	return snapshot.Info{}, f.err
}
func (f failedSnapshotter) Usage(context.Context, string) (snapshot.Usage, error) {
	return snapshot.Usage{}, f.err
}
func (f failedSnapshotter) Mounts(context.Context, string) ([]snapshot.Mount, error) {
	return nil, f.err
}
func (f failedSnapshotter) Prepare(context.Context, string, string, ...snapshot.Opt) ([]snapshot.Mount, error) {
	return nil, f.err
}
func (f failedSnapshotter) View(context.Context, string, string, ...snapshot.Opt) ([]snapshot.Mount, error) {
	return nil, f.err
}
func (f failedSnapshotter) Commit(context.Context, string, string, ...snapshot.Opt) error {
	return f.err
}
func (f failedSnapshotter) Remove(context.Context, string) error { return f.err }
func (f failedSnapshotter) Walk(context.Context, snapshot.WalkFunc, ...string) error {
	return f.err
}
func (f failedSnapshotter) Close() error { return nil }
