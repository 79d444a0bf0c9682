package metadata

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/filters"
)

// records is the shape images and containers share: one bucket per
// record, v1/<namespace>/<bucket>/<name>/, read and written by the
// functions given.
type records[T any] struct {
	db        *DB
	defaultNS string
	bucket    []byte
	kind      string // "image", "container": for errors
	validate  func(name string) error
	read      func(name string, b *bolt.Bucket) (T, error)
	write     func(b *bolt.Bucket, v T) error
	adaptor   func(T) filters.Adaptor
}

func (r *records[T]) namespaceBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	return bucket(tx, bucketV1, []byte(ns), r.bucket)
}

func (r *records[T]) notFound(name, ns string) error {
	return fmt.Errorf("%s %q in namespace %s: %w", r.kind, name, ns, errdefs.ErrNotFound)
}

// start resolves a call's namespace and checks its name.
func (r *records[T]) start(ctx context.Context, name string) (string, error) {
	ns, err := namespaceOf(ctx, r.defaultNS)
	if err != nil {
		return "", err
	}
	return ns, r.validate(name)
}

func (r *records[T]) get(ctx context.Context, name string) (T, error) {
	var v T
	ns, err := r.start(ctx, name)
	if err != nil {
		return v, err
	}
	err = r.db.View(ctx, func(tx *bolt.Tx) error {
		nb := r.namespaceBucket(tx, ns)
		if nb == nil || nb.Bucket([]byte(name)) == nil {
			return r.notFound(name, ns)
		}
		v, err = r.read(name, nb.Bucket([]byte(name)))
		return err
	})
	return v, err
}

// list returns the namespace's records matching any of the filters, in
// name order.
func (r *records[T]) list(ctx context.Context, fs ...string) ([]T, error) {
	ns, err := namespaceOf(ctx, r.defaultNS)
	if err != nil {
		return nil, err
	}
	filter, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	var out []T
	err = r.db.View(ctx, func(tx *bolt.Tx) error {
		nb := r.namespaceBucket(tx, ns)
		if nb == nil {
			return nil
		}
		return nb.ForEachBucket(func(k []byte) error {
			v, err := r.read(string(k), nb.Bucket(k))
			if err != nil {
				return err
			}
			if filter.Match(r.adaptor(v)) {
				out = append(out, v)
			}
			return nil
		})
	})
	return out, err
}

// create stores v under name; an existing name is AlreadyExists.
func (r *records[T]) create(ctx context.Context, name string, v T) error {
	ns, err := r.start(ctx, name)
	if err != nil {
		return err
	}
	return r.db.Update(ctx, func(tx *bolt.Tx) error {
		nb, err := createBucket(tx, bucketV1, []byte(ns), r.bucket)
		if err != nil {
			return err
		}
		b, err := nb.CreateBucket([]byte(name))
		if err == bolt.ErrBucketExists {
			return fmt.Errorf("%s %q in namespace %s: %w", r.kind, name, ns, errdefs.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		return r.write(b, v)
	})
}

// update reads the record name, lets change alter it and writes it back,
// in one transaction.
func (r *records[T]) update(ctx context.Context, name string, change func(cur T) (T, error)) (T, error) {
	var out T
	ns, err := r.start(ctx, name)
	if err != nil {
		return out, err
	}
	err = r.db.Update(ctx, func(tx *bolt.Tx) error {
		nb := r.namespaceBucket(tx, ns)
		if nb == nil || nb.Bucket([]byte(name)) == nil {
			return r.notFound(name, ns)
		}
		b := nb.Bucket([]byte(name))
		cur, err := r.read(name, b)
		if err != nil {
			return err
		}
		if out, err = change(cur); err != nil {
			return err
		}
		return r.write(b, out)
	})
	return out, err
}

func (r *records[T]) delete(ctx context.Context, name string) error {
	ns, err := r.start(ctx, name)
	if err != nil {
		return err
	}
	return r.db.Update(ctx, func(tx *bolt.Tx) error {
		nb := r.namespaceBucket(tx, ns)
		if nb == nil || nb.Bucket([]byte(name)) == nil {
			return r.notFound(name, ns)
		}
		return nb.DeleteBucket([]byte(name))
	})
}
