package metadata

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/namespaces"
)

// NamespaceStore is the namespaces.Store of the metadata database: a
// namespace is its bucket v1/<namespace>, its labels are under
// v1/<namespace>/labels. Storing anything in a namespace makes its bucket,
// so a namespace used without Create is listed too.
type NamespaceStore struct {
	db *DB
}

var _ namespaces.Store = (*NamespaceStore)(nil)

// NewNamespaceStore returns the namespace store of db.
func NewNamespaceStore(db *DB) *NamespaceStore { return &NamespaceStore{db: db} }

func namespaceNotFound(name string) error {
	return fmt.Errorf("namespace %q: %w", name, errdefs.ErrNotFound)
}

// List returns the namespaces, in name order.
func (s *NamespaceStore) List(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		out = namespaceNames(tx)
		return nil
	})
	return out, err
}

// Create makes the namespace name with labels.
func (s *NamespaceStore) Create(ctx context.Context, name string, labels map[string]string) error {
	if err := namespaces.Validate(name); err != nil {
		return err
	}
	if err := content.ValidateLabels(labels); err != nil {
		return fmt.Errorf("namespace %q: %w", name, err)
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		v1, err := tx.CreateBucketIfNotExists(bucketV1)
		if err != nil {
			return err
		}
		nb, err := v1.CreateBucket([]byte(name))
		if err == bolt.ErrBucketExists {
			return fmt.Errorf("namespace %q: %w", name, errdefs.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		return writeLabels(nb, withoutEmpty(labels))
	})
}

// Labels returns the namespace's labels.
func (s *NamespaceStore) Labels(ctx context.Context, name string) (map[string]string, error) {
	if err := namespaces.Validate(name); err != nil {
		return nil, err
	}
	var out map[string]string
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		nb := bucket(tx, bucketV1, []byte(name))
		if nb == nil {
			return namespaceNotFound(name)
		}
		out = readLabels(nb)
		return nil
	})
	if out == nil && err == nil {
		out = map[string]string{}
	}
	return out, err
}

// SetLabel sets or, with an empty value, removes one label.
func (s *NamespaceStore) SetLabel(ctx context.Context, name, key, value string) error {
	if err := namespaces.Validate(name); err != nil {
		return err
	}
	if err := content.ValidateLabel(key, value); err != nil {
		return fmt.Errorf("namespace %q: %w", name, err)
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		nb := bucket(tx, bucketV1, []byte(name))
		if nb == nil {
			return namespaceNotFound(name)
		}
		labels := maps.Clone(readLabels(nb))
		if labels == nil {
			labels = map[string]string{}
		}
		if value == "" {
			delete(labels, key)
		} else {
			labels[key] = value
		}
		return writeLabels(nb, labels)
	})
}

// Delete removes an empty namespace: one that holds no image, container,
// lease, content record or snapshot.
func (s *NamespaceStore) Delete(ctx context.Context, name string) error {
	if err := namespaces.Validate(name); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		v1 := tx.Bucket(bucketV1)
		if v1 == nil || v1.Bucket([]byte(name)) == nil {
			return namespaceNotFound(name)
		}
		if held := holdings(v1.Bucket([]byte(name))); len(held) > 0 {
			return fmt.Errorf("namespace %q is not empty: it holds %s: %w", name, strings.Join(held, ", "), errdefs.ErrFailedPrecondition)
		}
		return v1.DeleteBucket([]byte(name))
	})
}

// holdings describes what a namespace's bucket holds ("2 images",
// "1 snapshot in overlay"), or nothing when it is empty.
func holdings(nb *bolt.Bucket) []string {
	var held []string
	count := func(b *bolt.Bucket) int {
		if b == nil {
			return 0
		}
		n := 0
		b.ForEachBucket(func([]byte) error { n++; return nil })
		return n
	}
	say := func(n int, one, many, where string) {
		if n == 0 {
			return
		}
		what := many
		if n == 1 {
			what = one
		}
		held = append(held, fmt.Sprintf("%d %s%s", n, what, where))
	}
	say(count(nb.Bucket(bucketImages)), "image", "images", "")
	say(count(nb.Bucket(bucketContainers)), "container", "containers", "")
	say(count(nb.Bucket(bucketLeases)), "lease", "leases", "")
	if cb := nb.Bucket(bucketContent); cb != nil {
		say(count(cb.Bucket(bucketBlob)), "content record", "content records", "")
	}
	if sb := nb.Bucket(bucketSnapshots); sb != nil {
		sb.ForEachBucket(func(k []byte) error {
			say(count(sb.Bucket(k)), "snapshot", "snapshots", " in "+string(k))
			return nil
		})
	}
	return held
}

func withoutEmpty(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
