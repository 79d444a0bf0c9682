package metadata

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkView is one read transaction with no other work in flight:
// the database is opened, read and closed.
func BenchmarkView(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		if err := db.View(ctx, func(tx *bolt.Tx) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate is one write transaction, opened, committed (fsync)
// and closed.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		err := db.Update(ctx, func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("k"), []byte("v"))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
