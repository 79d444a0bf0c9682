package containerd

import (
	"context"
	"io"
	"maps"

	"github.com/opencontainers/go-digest"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/snapshot"
)

// The client's stores publish an event for each change that succeeds,
// whoever calls them: the client's own methods (Pull, Import,
// NewContainer, Unpack...) or a caller of ImageService, ContainerService,
// ContentStore or SnapshotService. Events are published after the change,
// in the namespace the change was made in. Deletes of images and
// containers also tell the client's GCPolicy, if it collects on delete.

// eventImages publishes /images/{create,update,delete}.
type eventImages struct {
	images.Store
	c *Client
}

var _ images.Store = (*eventImages)(nil)

func (s *eventImages) Create(ctx context.Context, img images.Image) (images.Image, error) {
	stored, err := s.Store.Create(ctx, img)
	if err == nil {
		s.c.publish(ctx, &events.ImageCreate{Name: stored.Name, Labels: maps.Clone(stored.Labels)})
	}
	return stored, err
}

func (s *eventImages) Update(ctx context.Context, img images.Image, fieldpaths ...string) (images.Image, error) {
	stored, err := s.Store.Update(ctx, img, fieldpaths...)
	if err == nil {
		s.c.publish(ctx, &events.ImageUpdate{Name: stored.Name, Labels: maps.Clone(stored.Labels)})
	}
	return stored, err
}

func (s *eventImages) Delete(ctx context.Context, name string) error {
	err := s.Store.Delete(ctx, name)
	if err == nil {
		s.c.publish(ctx, &events.ImageDelete{Name: name})
		s.c.scheduleGC()
	}
	return err
}

// eventContainers publishes /containers/{create,update,delete}.
type eventContainers struct {
	containers.Store
	c *Client
}

var _ containers.Store = (*eventContainers)(nil)

func (s *eventContainers) Create(ctx context.Context, ct containers.Container) (containers.Container, error) {
	stored, err := s.Store.Create(ctx, ct)
	if err == nil {
		s.c.publish(ctx, &events.ContainerCreate{ID: stored.ID, Image: stored.Image})
	}
	return stored, err
}

func (s *eventContainers) Update(ctx context.Context, ct containers.Container, fieldpaths ...string) (containers.Container, error) {
	stored, err := s.Store.Update(ctx, ct, fieldpaths...)
	if err == nil {
		s.c.publish(ctx, &events.ContainerUpdate{ID: stored.ID, Image: stored.Image,
			Labels: maps.Clone(stored.Labels), SnapshotKey: stored.SnapshotKey})
	}
	return stored, err
}

func (s *eventContainers) Delete(ctx context.Context, id string) error {
	err := s.Store.Delete(ctx, id)
	if err == nil {
		s.c.publish(ctx, &events.ContainerDelete{ID: id})
		s.c.scheduleGC()
	}
	return err
}

// eventContent publishes /content/create when a writer commits a blob,
// and /content/delete.
type eventContent struct {
	content.Store
	c *Client
}

var _ content.Store = (*eventContent)(nil)

// eventContentPaths is eventContent over a store that has blob files.
type eventContentPaths struct {
	*eventContent
	content.PathProvider
}

var _ content.PathProvider = (*eventContentPaths)(nil)

func (s *eventContent) Delete(ctx context.Context, d digest.Digest) error {
	err := s.Store.Delete(ctx, d)
	if err == nil {
		s.c.publish(ctx, &events.ContentDelete{Digest: d})
	}
	return err
}

func (s *eventContent) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	ns, err := s.c.namespaceOf(ctx)
	if err != nil {
		return nil, err
	}
	w, err := s.Store.Writer(ctx, opts...)
	if err != nil {
		return nil, err
	}
	ew := &eventWriter{Writer: w, c: s.c, ns: ns}
	if _, ok := w.(io.ReaderFrom); ok {
		return &eventWriterFrom{ew}, nil
	}
	return ew, nil
}

// eventWriter publishes /content/create when its blob is committed, in
// the namespace it was opened in.
type eventWriter struct {
	content.Writer
	c  *Client
	ns string
}

func (w *eventWriter) Commit(ctx context.Context, size int64, expected digest.Digest, opts ...content.Opt) error {
	d, n := expected, size
	if d == "" {
		d = w.Writer.Digest()
	}
	if n <= 0 {
		if st, err := w.Writer.Status(); err == nil {
			n = st.Offset
		}
	}
	if err := w.Writer.Commit(ctx, size, expected, opts...); err != nil {
		return err
	}
	w.c.publishIn(w.ns, &events.ContentCreate{Digest: d, Size: n})
	return nil
}

// eventWriterFrom keeps the fast path of a writer that is an
// io.ReaderFrom.
type eventWriterFrom struct{ *eventWriter }

func (w *eventWriterFrom) ReadFrom(r io.Reader) (int64, error) {
	return w.Writer.(io.ReaderFrom).ReadFrom(r)
}

// eventSnapshotter publishes /snapshot/{prepare,commit,remove} for the
// snapshotter called name. Views publish nothing, as in containerd.
type eventSnapshotter struct {
	*metadata.Snapshotter
	c    *Client
	name string
}

var _ snapshot.Snapshotter = (*eventSnapshotter)(nil)

func (s *eventSnapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	mounts, err := s.Snapshotter.Prepare(ctx, key, parent, opts...)
	if err == nil {
		s.c.publish(ctx, &events.SnapshotPrepare{Key: key, Parent: parent, Snapshotter: s.name})
	}
	return mounts, err
}

func (s *eventSnapshotter) Commit(ctx context.Context, name, key string, opts ...snapshot.Opt) error {
	err := s.Snapshotter.Commit(ctx, name, key, opts...)
	if err == nil {
		s.c.publish(ctx, &events.SnapshotCommit{Key: key, Name: name, Snapshotter: s.name})
	}
	return err
}

func (s *eventSnapshotter) Remove(ctx context.Context, key string) error {
	err := s.Snapshotter.Remove(ctx, key)
	if err == nil {
		s.c.publish(ctx, &events.SnapshotRemove{Key: key, Snapshotter: s.name})
	}
	return err
}
