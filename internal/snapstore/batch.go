package snapstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/internal/fstree"
	"github.com/daemonless/containerd/snapshot"
)

// RemoveBatch removes the snapshots keys, given children before their
// parents, as garbage collection does: it forgets them all in one write
// transaction (one sync, where Remove costs one per snapshot), then
// deletes their directories. A key that does not exist, or that still
// has a child not removed before it in keys, is passed over. It returns
// the usage of each snapshot removed, measured before its data is
// deleted (a committed snapshot measured before keeps its figure). A
// directory that cannot be deleted is left for Cleanup, and the error
// says so once the others are done.
func (s *Store) RemoveBatch(ctx context.Context, keys []string) (map[string]snapshot.Usage, error) {
	type gone struct {
		key string
		r   record
	}
	var removed []gone
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		removed = removed[:0]
		for _, key := range keys {
			r, err := get(tx, key)
			if errdefs.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if firstChild(tx, key) != "" {
				continue
			}
			if r.Parent != "" {
				if err := tx.Bucket(bucketChildren).Delete(childKey(r.Parent, key)); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketSnapshots).Delete([]byte(key)); err != nil {
				return err
			}
			removed = append(removed, gone{key: key, r: r})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The trees go a few at a time: most of the cost is system calls,
	// which run in parallel.
	const workers = 4
	usage := make([]snapshot.Usage, len(removed))
	errs := make([]error, len(removed))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, len(removed)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				usage[i], errs[i] = s.deleteData(ctx, removed[i].key, removed[i].r)
			}
		}()
	}
	for i := range removed {
		next <- i
	}
	close(next)
	wg.Wait()
	out := make(map[string]snapshot.Usage, len(removed))
	for i, g := range removed {
		out[g.key] = usage[i]
	}
	return out, errors.Join(errs...)
}

// deleteData deletes the directory of the snapshot key, forgotten
// already, whose record was r, and returns the usage it had.
func (s *Store) deleteData(ctx context.Context, key string, r record) (snapshot.Usage, error) {
	u := snapshot.Usage{Inodes: r.Inodes, Size: r.Size}
	dir := s.Dir(r.ID)
	rm := filepath.Join(filepath.Dir(dir), prefixRemoved+filepath.Base(dir))
	if err := os.Rename(dir, rm); errors.Is(err, fs.ErrNotExist) {
		return u, nil // another process's Cleanup took it
	} else if err != nil {
		return u, fmt.Errorf("snapshot %q: removed, but its data was left for Cleanup: %w", key, err)
	}
	if !r.Measured {
		if inodes, size, err := fstree.Usage(ctx, filepath.Join(rm, "fs")); err == nil {
			u = snapshot.Usage{Inodes: inodes, Size: size}
		}
	}
	if err := fstree.RemoveAll(rm); err != nil {
		return u, fmt.Errorf("snapshot %q: removed, but its data was left for Cleanup: %w", key, err)
	}
	return u, nil
}
