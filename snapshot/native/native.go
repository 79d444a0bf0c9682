package native

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/internal/fstree"
	"github.com/daemonless/containerd/internal/snapstore"
	"github.com/daemonless/containerd/snapshot"
)

// Opt configures New.
type Opt func(*options) error

type options struct {
	store []snapstore.Opt
}

// WithLockTimeout sets how long an operation waits for another process
// to release the snapshotter's database before failing with Unavailable.
// The default is 30 seconds; a duration that is not positive is an
// InvalidArgument error from New.
func WithLockTimeout(d time.Duration) Opt {
	return func(o *options) error {
		o.store = append(o.store, snapstore.WithLockTimeout(d))
		return nil
	}
}

type snapshotter struct {
	*snapstore.Store
}

var (
	_ snapshot.Snapshotter = (*snapshotter)(nil)
	_ snapshot.Cleaner     = (*snapshotter)(nil)
)

// New opens the native snapshotter at root, creating it as needed. The
// returned value also implements snapshot.Cleaner.
func New(root string, opts ...Opt) (snapshot.Snapshotter, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	store, err := snapstore.Open(context.Background(), root, o.store...)
	if err != nil {
		return nil, fmt.Errorf("native snapshotter at %s: %w", root, err)
	}
	return &snapshotter{store}, nil
}

// Prepare implements snapshot.Snapshotter: the new snapshot's tree is a
// copy of the parent's.
func (s *snapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent, opts)
}

// View implements snapshot.Snapshotter: the view's tree is a copy of the
// parent's, mounted read-only.
func (s *snapshotter) View(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent, opts)
}

func (s *snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt) ([]snapshot.Mount, error) {
	fill := func(sn snapstore.Snapshot) error { return os.Mkdir(s.FS(sn.ID), 0o755) }
	if parent != "" {
		// Refuse early what Create would refuse after the copy.
		if _, err := s.Stat(ctx, key); err == nil {
			return nil, fmt.Errorf("snapshot %q: %w", key, errdefs.ErrAlreadyExists)
		}
		p, err := s.Get(ctx, parent)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: parent: %w", key, err)
		}
		if p.Kind != snapshot.KindCommitted {
			return nil, fmt.Errorf("snapshot %q: parent snapshot %q: is %s, not committed: %w", key, parent, p.Kind, errdefs.ErrFailedPrecondition)
		}
		tmp, release, err := s.TempDir(ctx)
		if err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", key, err)
		}
		defer release()
		copied := filepath.Join(tmp, "fs")
		if err := fstree.Copy(ctx, copied, s.FS(p.ID)); err != nil {
			return nil, fmt.Errorf("snapshot %q: copy of parent %q: %w", key, parent, err)
		}
		fill = func(sn snapstore.Snapshot) error {
			if sn.Parents[0] != p.ID {
				return fmt.Errorf("parent %q was removed and made again during the copy: %w", parent, errdefs.ErrAborted)
			}
			return os.Rename(copied, s.FS(sn.ID))
		}
	}
	sn, err := s.Create(ctx, kind, key, parent, opts, fill)
	if err != nil {
		return nil, err
	}
	return []snapshot.Mount{snapstore.BindMount(s.FS(sn.ID), kind == snapshot.KindView)}, nil
}

// Mounts implements snapshot.Snapshotter. A committed snapshot has no
// mounts: FailedPrecondition.
func (s *snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	sn, err := s.Mountable(ctx, key)
	if err != nil {
		return nil, err
	}
	return []snapshot.Mount{snapstore.BindMount(s.FS(sn.ID), sn.Kind == snapshot.KindView)}, nil
}
