package metadata

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
	}
	db.Close()
	ran := 0
	m2 := Migration{Version: 2, Name: "test", Apply: func(tx *bolt.Tx) error {
		ran++
		_, err := tx.CreateBucket([]byte("added"))
		return err
	}}
	for range 2 {
		db, err = Open(ctx, path, WithMigrations(m2))
		if err != nil {
			t.Fatalf("Open with migration 2 = %v", err)
		}
		db.Close()
	}
	if ran != 1 {
		t.Fatalf("migration ran %d times, want once", ran)
	}
	// A program that knows only version 1 refuses the newer database.
	_, err = Open(ctx, path)
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("Open of a newer schema = %v, want FailedPrecondition", err)
	}
	// A failing migration leaves the schema as it was.
	bad := Migration{Version: 3, Name: "fails", Apply: func(tx *bolt.Tx) error { return errors.New("boom") }}
	if _, err := Open(ctx, path, WithMigrations(m2, bad)); err == nil {
		t.Fatal("Open with a failing migration succeeded")
	}
	db, _ = Open(ctx, path, WithMigrations(m2))
	if v, _ := db.SchemaVersion(ctx); v != 2 {
		t.Fatalf("schema after a failed migration = %d, want 2", v)
	}
}

// TestConcurrentTransactions: goroutines share the handle, updates are
// not lost, and the handle closes when idle so the lock is free.
func TestConcurrentTransactions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				err := db.Update(ctx, func(tx *bolt.Tx) error {
					b, err := tx.CreateBucketIfNotExists([]byte("t"))
					if err != nil {
						return err
					}
					return b.Put(fmt.Appendf(nil, "%d-%d", g, i), []byte("v"))
				})
				if err != nil {
					t.Errorf("Update = %v", err)
					return
				}
				db.View(ctx, func(tx *bolt.Tx) error { return nil })
			}
		}()
	}
	wg.Wait()
	n := 0
	db.View(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte("t")).Stats().KeyN
		return nil
	})
	if n != 400 {
		t.Fatalf("%d keys after 400 updates", n)
	}
	fd, _ := unix.Open(path+".lock", unix.O_RDWR, 0)
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("lock still held while idle: %v", err)
	}
	unix.Flock(fd, unix.LOCK_UN)
}

// TestLockTimeoutAndCancel: a lock held elsewhere makes a transaction
// wait, then fail with Unavailable or the context's error; never hang.
func TestLockTimeoutAndCancel(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := Open(ctx, path, WithLockTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fd, _ := unix.Open(path+".lock", unix.O_RDWR, 0)
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(*bolt.Tx) error { return nil })
	if !errdefs.IsUnavailable(err) {
		t.Fatalf("View while another holds the lock = %v, want Unavailable", err)
	}
	db.lockTimeout = time.Hour
	cctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	if err := db.View(cctx, func(*bolt.Tx) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("View whose context ends while waiting = %v, want DeadlineExceeded", err)
	}
	unix.Flock(fd, unix.LOCK_UN)
	if err := db.View(ctx, func(*bolt.Tx) error { return nil }); err != nil {
		t.Fatalf("View after the lock is free = %v", err)
	}
	db.Close()
	if err := db.View(ctx, func(*bolt.Tx) error { return nil }); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("View after Close = %v, want FailedPrecondition", err)
	}
}
