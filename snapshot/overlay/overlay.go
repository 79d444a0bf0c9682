package overlay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/internal/snapstore"
	"github.com/daemonless/containerd/snapshot"
)

// Opt configures New.
type Opt func(*options) error

type options struct {
	skipCheck bool
	store     []snapstore.Opt
}

// WithoutMountCheck makes New skip its test mount, for callers that know
// overlay works at the root or that only read records (the check needs
// root privileges). By default New checks once per kernel release.
func WithoutMountCheck(o *options) error {
	o.skipCheck = true
	return nil
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
	// extra are the options every overlay mount gets.
	extra []string
}

var (
	_ snapshot.Snapshotter = (*snapshotter)(nil)
	_ snapshot.Cleaner     = (*snapshotter)(nil)
	_ snapshot.Rebaser     = (*snapshotter)(nil)
)

// New opens the overlay snapshotter at root, creating it as needed. The
// returned value also implements snapshot.Cleaner and snapshot.Rebaser.
// A root whose path holds ',' or ':' is an InvalidArgument error (overlay
// options cannot carry them); where overlay does not mount at root, New
// fails with the error of its test mount (PermissionDenied without root,
// NotImplemented without overlayfs, ...).
func New(root string, opts ...Opt) (snapshot.Snapshotter, error) {
	o := options{store: []snapstore.Opt{snapstore.WithRebase}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(root, ",:") {
		return nil, fmt.Errorf("overlay snapshotter at %s: the path holds ',' or ':', which overlay options cannot carry: %w", root, errdefs.ErrInvalidArgument)
	}
	ctx := context.Background()
	store, err := snapstore.Open(ctx, root, o.store...)
	if err != nil {
		return nil, fmt.Errorf("overlay snapshotter at %s: %w", root, err)
	}
	s := &snapshotter{Store: store}
	if _, err := os.Stat("/sys/module/overlay/parameters/index"); err == nil {
		s.extra = append(s.extra, "index=off")
	}
	if !o.skipCheck {
		if err := s.check(ctx); err != nil {
			store.Close()
			return nil, fmt.Errorf("overlay snapshotter at %s: %w", root, err)
		}
	}
	return s, nil
}

// check makes a test overlay mount at the root, unless one passed on
// this kernel release already.
func (s *snapshotter) check(ctx context.Context) error {
	marker := filepath.Join(s.Root(), "overlay-checked")
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return err
	}
	release := unix.ByteSliceToString(uts.Release[:])
	if b, err := os.ReadFile(marker); err == nil && string(b) == release {
		return nil
	}
	dir, done, err := s.TempDir(ctx)
	if err != nil {
		return err
	}
	defer done()
	for _, d := range []string{"l1", "l2", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	m := s.overlay([]string{filepath.Join(dir, "l1"), filepath.Join(dir, "l2")}, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	merged := filepath.Join(dir, "merged")
	if err := m.Mount(merged); err != nil {
		return fmt.Errorf("overlay does not mount here (use snapshot/native instead): %w", err)
	}
	err = os.WriteFile(filepath.Join(merged, "probe"), nil, 0o600)
	if uerr := snapshot.UnmountAll(merged); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("overlay test mount: %w", err)
	}
	return os.WriteFile(marker, []byte(release), 0o600)
}

// Prepare implements snapshot.Snapshotter.
func (s *snapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent, opts)
}

// View implements snapshot.Snapshotter.
func (s *snapshotter) View(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent, opts)
}

func (s *snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt) ([]snapshot.Mount, error) {
	sn, err := s.Create(ctx, kind, key, parent, opts, func(sn snapstore.Snapshot) error {
		if err := os.Mkdir(s.FS(sn.ID), 0o755); err != nil {
			return err
		}
		if kind == snapshot.KindActive && len(sn.Parents) > 0 {
			return os.Mkdir(s.work(sn.ID), 0o700)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.mounts(sn), nil
}

// Mounts implements snapshot.Snapshotter. A committed snapshot has no
// mounts: FailedPrecondition.
func (s *snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	sn, err := s.Mountable(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.mounts(sn), nil
}

// CanRebase implements snapshot.Rebaser: always true.
func (s *snapshotter) CanRebase() bool { return true }

func (s *snapshotter) work(id uint64) string { return filepath.Join(s.Dir(id), "work") }

func (s *snapshotter) mounts(sn snapstore.Snapshot) []snapshot.Mount {
	view := sn.Kind == snapshot.KindView
	switch {
	case len(sn.Parents) == 0:
		return []snapshot.Mount{snapstore.BindMount(s.FS(sn.ID), view)}
	case view && len(sn.Parents) == 1:
		return []snapshot.Mount{snapstore.BindMount(s.FS(sn.Parents[0]), true)}
	}
	lowers := make([]string, len(sn.Parents))
	for i, id := range sn.Parents {
		lowers[i] = s.FS(id)
	}
	if view {
		return []snapshot.Mount{s.overlay(lowers, "", "")}
	}
	return []snapshot.Mount{s.overlay(lowers, s.FS(sn.ID), s.work(sn.ID))}
}

// overlay returns an overlay mount of lowers (nearest first) under upper
// and work, or a read-only one when upper is "".
func (s *snapshotter) overlay(lowers []string, upper, work string) snapshot.Mount {
	var opts []string
	if upper == "" {
		opts = append(opts, "ro")
	}
	opts = append(opts, s.extra...)
	opts = append(opts, "lowerdir="+strings.Join(lowers, ":"))
	if upper != "" {
		opts = append(opts, "upperdir="+upper, "workdir="+work)
	}
	return snapshot.Mount{Type: "overlay", Source: "overlay", Options: opts}
}
