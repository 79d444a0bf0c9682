package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/images"
	exchange "github.com/daemonless/containerd/internal/events"
	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/internal/runtime"
	"github.com/daemonless/containerd/internal/unpack"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/snapshot"
)

// DefaultRoot returns the root used when New is given none: /var/lib/dctr
// for root, $XDG_DATA_HOME/dctr (~/.local/share/dctr) for other users.
func DefaultRoot() string {
	if os.Geteuid() == 0 {
		return "/var/lib/dctr"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "dctr")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "dctr")
}

// DefaultStateDir returns the runtime state directory used when
// WithStateDir is not given: /run/dctr for root, $XDG_RUNTIME_DIR/dctr for
// other users who have one.
func DefaultStateDir() string {
	if os.Geteuid() != 0 {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "dctr")
		}
	}
	return "/run/dctr"
}

// ClientOpt configures New.
type ClientOpt func(*clientOpts) error

type clientOpts struct {
	namespace    string
	stateDir     string
	contentStore content.Store
	imageStore   images.Store
	snapshotter  string
	snapshotters map[string]snapshot.Snapshotter
	killTasks    bool
	journal      journalOpts // events_journal.go
	gcPolicy     *GCPolicy
}

// WithKillTasksOnClose makes Close kill and delete the tasks the client
// made or loaded and has not deleted: for test harnesses, which must leave
// nothing running. By default Close leaves tasks running.
func WithKillTasksOnClose(o *clientOpts) error {
	o.killTasks = true
	return nil
}

// WithNamespace sets the client's default namespace, used by calls whose
// context names none. The default is "default".
func WithNamespace(ns string) ClientOpt {
	return func(o *clientOpts) error {
		if err := namespaces.Validate(ns); err != nil {
			return err
		}
		o.namespace = ns
		return nil
	}
}

// WithStateDir sets the directory for runtime state, which belongs on a
// tmpfs. The default is /run/dctr for root and $XDG_RUNTIME_DIR/dctr for
// other users.
func WithStateDir(dir string) ClientOpt {
	return func(o *clientOpts) error {
		if dir == "" {
			return fmt.Errorf("state directory is empty: %w", errdefs.ErrInvalidArgument)
		}
		o.stateDir = dir
		return nil
	}
}

// WithContentStore makes the client use cs instead of its own namespaced
// store under the root: a fake in a caller's tests, or a store of the
// caller's making. The default is the store under the root.
func WithContentStore(cs content.Store) ClientOpt {
	return func(o *clientOpts) error {
		if cs == nil {
			return fmt.Errorf("content store is nil: %w", errdefs.ErrInvalidArgument)
		}
		o.contentStore = cs
		return nil
	}
}

// WithImageStore makes the client use is for image records instead of
// its metadata database: a fake in a caller's tests. The default is the
// store in the root's metadata database.
func WithImageStore(is images.Store) ClientOpt {
	return func(o *clientOpts) error {
		if is == nil {
			return fmt.Errorf("image store is nil: %w", errdefs.ErrInvalidArgument)
		}
		o.imageStore = is
		return nil
	}
}

// Client is the entry point to a root. Its methods are safe for concurrent
// use.
type Client struct {
	root      string
	stateDir  string
	namespace string
	db        *metadata.DB
	content   content.Store
	images    images.Store
	// containers keeps the container records.
	containers containers.Store

	snMu               sync.Mutex
	snapshotters       map[string]*metadata.Snapshotter
	defaultSnapshotter string
	unpacker           *unpack.Unpacker

	// taskMu guards runtimes (one per namespace) and tasks (those this
	// client made or loaded, until deleted).
	taskMu   sync.Mutex
	runtimes map[string]*runtime.Runtime
	tasks    map[taskKey]*task
	creating map[taskKey]bool // NewTask under way

	killTasksOnClose bool

	// exchange hands the client's events to its subscribers.
	exchange *exchange.Exchange
	// journal writes them to the root's events journal; nil when off.
	journal *eventJournal

	leases     *metadata.LeaseManager
	namespaces *metadata.NamespaceStore
	// contentBackend is the on-disk store under the client's content
	// store; nil with WithContentStore. foreignImages is set by
	// WithImageStore. Either keeps GC from running.
	contentBackend content.Store
	foreignImages  bool
	gcMu           sync.Mutex // one collection at a time
	gcScheduler    *gcScheduler

	closeOnce sync.Once
	closeErr  error
}

// New opens the root at root (DefaultRoot() when empty), creating it when
// it does not exist. It cleans what tasks left in the state directory
// when their processes died while no client held them (Client.Cleanup),
// and does not fail on what it cannot clean.
func New(root string, opts ...ClientOpt) (*Client, error) {
	o := clientOpts{namespace: namespaces.Default, stateDir: DefaultStateDir()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("new client: %w", err)
		}
	}
	if root == "" {
		root = DefaultRoot()
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("new client: root %q: %w", root, err)
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("new client: root %s: %w", root, err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("new client: root %s is not a directory: %w", root, errdefs.ErrInvalidArgument)
	}
	db, err := metadata.Open(context.Background(), filepath.Join(root, "meta.db"))
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	c := &Client{root: root, stateDir: o.stateDir, namespace: o.namespace, db: db, content: o.contentStore, images: o.imageStore,
		snapshotters: map[string]*metadata.Snapshotter{}, defaultSnapshotter: o.snapshotter, unpacker: unpack.New(),
		runtimes: map[string]*runtime.Runtime{}, tasks: map[taskKey]*task{}, creating: map[taskKey]bool{},
		killTasksOnClose: o.killTasks}
	c.containers = metadata.NewContainerStore(db, o.namespace)
	c.leases = metadata.NewLeaseManager(db, o.namespace)
	c.namespaces = metadata.NewNamespaceStore(db)
	c.foreignImages = c.images != nil
	for name, sn := range o.snapshotters {
		c.snapshotters[name] = metadata.NewSnapshotter(db, name, sn, o.namespace)
	}
	if c.images == nil {
		c.images = metadata.NewImageStore(db, o.namespace)
	}
	if c.content == nil {
		backend, err := local.NewStore(filepath.Join(root, "content"))
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("new client: %w", err)
		}
		c.content = metadata.NewContentStore(db, backend, o.namespace)
		c.contentBackend = backend
	}
	c.initEvents(o.journal)
	if o.gcPolicy != nil {
		c.gcScheduler = newGCScheduler(c, *o.gcPolicy)
	}
	// Best effort: a task left behind that cannot be cleaned must not
	// keep the client from opening; Cleanup, called again, says why.
	_, _ = c.Cleanup(context.Background())
	return c, nil
}

// namespaceOf returns the namespace of ctx, or the client's default.
func (c *Client) namespaceOf(ctx context.Context) (string, error) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		ns = c.namespace
	}
	if err := namespaces.Validate(ns); err != nil {
		return "", err
	}
	return ns, nil
}

// Root returns the client's root directory.
func (c *Client) Root() string { return c.root }

// StateDir returns the client's runtime state directory.
func (c *Client) StateDir() string { return c.stateDir }

// DefaultNamespace returns the namespace used by calls whose context
// names none.
func (c *Client) DefaultNamespace() string { return c.namespace }

// ContentStore returns the client's content store. Its calls use the
// namespace of their context, or the client's default namespace.
func (c *Client) ContentStore() content.Store { return c.content }

// ImageService returns the client's store of image records. Its calls use
// the namespace of their context, or the client's default namespace.
func (c *Client) ImageService() images.Store { return c.images }

// Close releases the client. Calls under way finish first; later ones
// fail. Tasks keep running: another client, in this process or another,
// finds them with Container.Task; with WithKillTasksOnClose, those the
// client holds are killed and deleted first. The client lets go of the
// tasks it still holds, so that Cleanup in any process removes each once
// it has exited. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stopGC()
		var kerr error
		if c.killTasksOnClose {
			kerr = c.killTasks()
		}
		c.releaseTasks()
		serr := c.closeSnapshotters()
		if serr == nil {
			serr = kerr
		}
		c.closeEvents()
		c.closeErr = c.db.Close()
		if c.closeErr == nil {
			c.closeErr = serr
		}
	})
	return c.closeErr
}

// killTasks kills and deletes every task the client holds, each within
// killTimeout.
func (c *Client) killTasks() error {
	const killTimeout = 10 * time.Second
	c.taskMu.Lock()
	tasks := make([]*task, 0, len(c.tasks))
	for _, t := range c.tasks {
		tasks = append(tasks, t)
	}
	c.taskMu.Unlock()
	var errs []error
	for _, t := range tasks {
		ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), t.key.ns), killTimeout)
		if _, err := t.Delete(ctx, WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}
