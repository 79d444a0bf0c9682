package metadata

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

const (
	// maxHold is how long a handle may stay open while transactions keep
	// overlapping, before new ones wait for it to close.
	maxHold = 100 * time.Millisecond
	// DefaultLockTimeout is how long a transaction waits for another
	// process to release the database.
	DefaultLockTimeout = 30 * time.Second
)

// Migration moves the database's schema to Version.
type Migration struct {
	Version uint64
	Name    string
	Apply   func(tx *bolt.Tx) error
}

var (
	bucketMeta  = []byte("meta")
	keySchema   = []byte("schema")
	bucketV1    = []byte("v1")
	errDBClosed = fmt.Errorf("metadata database is closed: %w", errdefs.ErrFailedPrecondition)
)

// migrations lists the schema's history, oldest first.
func migrations() []Migration {
	return []Migration{{
		Version: 1,
		Name:    "namespaced content",
		Apply: func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucketV1)
			return err
		},
	}}
}

// Opt configures Open.
type Opt func(*options) error

type options struct {
	lockTimeout time.Duration
	migrations  []Migration
}

// WithLockTimeout sets how long a transaction waits for another process to
// release the database before failing with Unavailable. The default is
// DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Opt {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("lock timeout %v: %w", d, errdefs.ErrInvalidArgument)
		}
		o.lockTimeout = d
		return nil
	}
}

// WithMigrations adds migrations after the built-in ones: the hook for
// schema changes, and for testing them.
func WithMigrations(ms ...Migration) Opt {
	return func(o *options) error {
		o.migrations = append(o.migrations, ms...)
		return nil
	}
}

// DB is the metadata database. It is safe for concurrent use, and several
// processes may open the same file.
type DB struct {
	path        string
	lockPath    string
	lockTimeout time.Duration

	opener chan struct{} // held by the goroutine opening the handle

	mu       sync.Mutex
	bdb      *bolt.DB
	lockFd   int
	refs     int
	openedAt time.Time
	draining bool
	idle     chan struct{} // closed when the open handle closes
	closed   bool
}

// Open opens the database at path, creating it and bringing its schema up
// to date.
func Open(ctx context.Context, path string, opts ...Opt) (*DB, error) {
	o := options{lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	db := &DB{path: path, lockPath: path + ".lock", lockTimeout: o.lockTimeout, opener: make(chan struct{}, 1), lockFd: -1}
	ms := append(migrations(), o.migrations...)
	// Most opens find the schema current: a read says so without taking
	// the write path and its fsyncs.
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if version != ms[len(ms)-1].Version {
		if err := db.Update(ctx, func(tx *bolt.Tx) error { return migrate(tx, ms) }); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func migrate(tx *bolt.Tx, ms []Migration) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	var version uint64
	if v := meta.Get(keySchema); len(v) == 8 {
		version = binary.BigEndian.Uint64(v)
	}
	latest := ms[len(ms)-1].Version
	if version > latest {
		return fmt.Errorf("metadata schema version %d is newer than this program knows (%d): %w", version, latest, errdefs.ErrFailedPrecondition)
	}
	for _, m := range ms {
		if m.Version <= version {
			continue
		}
		if err := m.Apply(tx); err != nil {
			return fmt.Errorf("metadata migration %d (%s): %w", m.Version, m.Name, err)
		}
		version = m.Version
	}
	return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, version))
}

// SchemaVersion reports the schema version of the database.
func (db *DB) SchemaVersion(ctx context.Context) (uint64, error) {
	var v uint64
	err := db.View(ctx, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			if s := b.Get(keySchema); len(s) == 8 {
				v = binary.BigEndian.Uint64(s)
			}
		}
		return nil
	})
	return v, err
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(*bolt.Tx) error) error {
	b, err := db.acquire(ctx)
	if err != nil {
		return err
	}
	defer db.release()
	return b.View(fn)
}

// Update runs fn in a read-write transaction, committed when fn returns nil.
func (db *DB) Update(ctx context.Context, fn func(*bolt.Tx) error) error {
	b, err := db.acquire(ctx)
	if err != nil {
		return err
	}
	defer db.release()
	return b.Update(fn)
}

// Close closes the database. Transactions under way finish first.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.closed = true
	return nil
}

func (db *DB) acquire(ctx context.Context) (*bolt.DB, error) {
	for {
		db.mu.Lock()
		if db.closed {
			db.mu.Unlock()
			return nil, errDBClosed
		}
		if db.bdb != nil {
			if !db.draining && time.Since(db.openedAt) < maxHold {
				db.refs++
				b := db.bdb
				db.mu.Unlock()
				return b, nil
			}
			db.draining = true
			idle := db.idle
			db.mu.Unlock()
			select {
			case <-idle:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		db.mu.Unlock()

		select {
		case db.opener <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		db.mu.Lock()
		open := db.bdb != nil
		db.mu.Unlock()
		if open {
			<-db.opener
			continue
		}
		b, fd, err := db.open(ctx)
		if err != nil {
			<-db.opener
			return nil, err
		}
		db.mu.Lock()
		db.bdb, db.lockFd, db.refs = b, fd, 1
		db.openedAt, db.draining = time.Now(), false
		db.idle = make(chan struct{})
		db.mu.Unlock()
		<-db.opener
		return b, nil
	}
}

func (db *DB) release() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.refs--
	if db.refs > 0 {
		return
	}
	db.bdb.Close()
	unix.Close(db.lockFd) // releases the process lock
	db.bdb, db.lockFd = nil, -1
	close(db.idle)
}

// open takes the process lock and opens the bolt file.
func (db *DB) open(ctx context.Context) (*bolt.DB, int, error) {
	fd, err := unix.Open(db.lockPath, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, -1, fmt.Errorf("metadata lock %s: %w", db.lockPath, err)
	}
	deadline := time.Now().Add(db.lockTimeout)
	wait := 50 * time.Microsecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			unix.Close(fd)
			return nil, -1, fmt.Errorf("metadata lock %s: %w", db.lockPath, err)
		}
		if time.Now().After(deadline) {
			unix.Close(fd)
			return nil, -1, fmt.Errorf("metadata database %s: held by another process for over %v: %w", db.path, db.lockTimeout, errdefs.ErrUnavailable)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			unix.Close(fd)
			return nil, -1, ctx.Err()
		case <-t.C:
		}
		if wait < 5*time.Millisecond {
			wait *= 2
		}
	}
	// Under our lock only a foreign program can hold bolt's own flock.
	b, err := bolt.Open(db.path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoStatistics: true})
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, -1, fmt.Errorf("metadata database %s: locked by another program: %w", db.path, errdefs.ErrUnavailable)
		}
		return nil, -1, fmt.Errorf("metadata database %s: %w", db.path, err)
	}
	return b, fd, nil
}
