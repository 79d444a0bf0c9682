package metadata

import (
	"context"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/snapshot"
)

// CollectTxn is garbage collection's view of the database: the records of
// every namespace, read and removed inside one transaction. Removals
// touch records only; the data on disk is the collector's business.
type CollectTxn struct {
	tx *bolt.Tx
}

// CollectUpdate runs fn in a write transaction, committed when fn
// returns nil. Every writer, in this process or another, waits for it.
func (db *DB) CollectUpdate(ctx context.Context, fn func(*CollectTxn) error) error {
	return db.Update(ctx, func(tx *bolt.Tx) error { return fn(&CollectTxn{tx: tx}) })
}

// CollectView runs fn in a read-only transaction: for a dry run.
func (db *DB) CollectView(ctx context.Context, fn func(*CollectTxn) error) error {
	return db.View(ctx, func(tx *bolt.Tx) error { return fn(&CollectTxn{tx: tx}) })
}

// Namespaces lists the namespaces, in order.
func (t *CollectTxn) Namespaces() []string { return namespaceNames(t.tx) }

// Images returns the namespace's image records.
func (t *CollectTxn) Images(ns string) ([]images.Image, error) {
	var out []images.Image
	b := bucket(t.tx, bucketV1, []byte(ns), bucketImages)
	if b == nil {
		return nil, nil
	}
	err := b.ForEachBucket(func(k []byte) error {
		img, err := readImage(string(k), b.Bucket(k))
		if err != nil {
			return err
		}
		out = append(out, img)
		return nil
	})
	return out, err
}

// ContainerRef is what collection needs of a container record.
type ContainerRef struct {
	ID          string
	Snapshotter string
	SnapshotKey string
	Labels      map[string]string
}

// Containers returns the namespace's containers, without their specs.
func (t *CollectTxn) Containers(ns string) []ContainerRef {
	var out []ContainerRef
	b := bucket(t.tx, bucketV1, []byte(ns), bucketContainers)
	if b == nil {
		return nil
	}
	b.ForEachBucket(func(k []byte) error {
		cb := b.Bucket(k)
		out = append(out, ContainerRef{ID: string(k), Snapshotter: string(cb.Get(keySnapshotter)),
			SnapshotKey: string(cb.Get(keySnapshotKey)), Labels: readLabels(cb)})
		return nil
	})
	return out
}

// LeaseRecord is a lease and what it holds.
type LeaseRecord struct {
	leases.Lease
	Resources []leases.Resource
}

// Leases returns the namespace's leases.
func (t *CollectTxn) Leases(ns string) []LeaseRecord {
	var out []LeaseRecord
	b := bucket(t.tx, bucketV1, []byte(ns), bucketLeases)
	if b == nil {
		return nil
	}
	b.ForEachBucket(func(k []byte) error {
		lb := b.Bucket(k)
		out = append(out, LeaseRecord{Lease: readLease(string(k), lb), Resources: leaseResources(lb)})
		return nil
	})
	return out
}

// ContentRecord is a namespace's record of a blob.
type ContentRecord struct {
	Digest digest.Digest
	Size   int64
	Labels map[string]string
}

// Content returns the namespace's content records, in digest order.
func (t *CollectTxn) Content(ns string) []ContentRecord {
	var out []ContentRecord
	b := blobBucket(t.tx, ns)
	if b == nil {
		return nil
	}
	b.ForEachBucket(func(k []byte) error {
		rb := b.Bucket(k)
		out = append(out, ContentRecord{Digest: digest.Digest(k), Size: getInt(rb, keySize), Labels: readLabels(rb)})
		return nil
	})
	return out
}

// SnapshotRecord is a namespace's record of a snapshot.
type SnapshotRecord struct {
	Snapshotter string
	Key         string
	Parent      string
	Kind        snapshot.Kind
	Labels      map[string]string
	// Backend is the key of the backend snapshot holding the data; other
	// namespaces' records may name it too.
	Backend string
}

// Snapshots returns the namespace's snapshot records, by snapshotter
// then key.
func (t *CollectTxn) Snapshots(ns string) []SnapshotRecord {
	var out []SnapshotRecord
	sb := bucket(t.tx, bucketV1, []byte(ns), bucketSnapshots)
	if sb == nil {
		return nil
	}
	sb.ForEachBucket(func(name []byte) error {
		b := sb.Bucket(name)
		return b.ForEachBucket(func(k []byte) error {
			r := readRecord(string(k), b.Bucket(k))
			out = append(out, SnapshotRecord{Snapshotter: string(name), Key: string(k), Parent: r.Parent,
				Kind: r.Kind, Labels: r.Labels, Backend: r.bkey})
			return nil
		})
	})
	return out
}

// DeleteContent removes the namespace's record of d.
func (t *CollectTxn) DeleteContent(ns string, d digest.Digest) error {
	b := blobBucket(t.tx, ns)
	if b == nil || b.Bucket([]byte(d)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(d))
}

// DeleteSnapshot removes the namespace's record of the snapshot key of
// snapshotter, and its entry among its parent's children.
func (t *CollectTxn) DeleteSnapshot(ns, snapshotter, key string) error {
	sb := bucket(t.tx, bucketV1, []byte(ns), bucketSnapshots, []byte(snapshotter))
	if sb == nil || sb.Bucket([]byte(key)) == nil {
		return nil
	}
	if parent := sb.Bucket([]byte(key)).Get(keyParent); parent != nil {
		if pb := sb.Bucket(parent); pb != nil {
			if cb := pb.Bucket(bucketChildren); cb != nil {
				if err := cb.Delete([]byte(key)); err != nil {
					return err
				}
			}
		}
	}
	return sb.DeleteBucket([]byte(key))
}

// DeleteLease removes the namespace's lease id.
func (t *CollectTxn) DeleteLease(ns, id string) error {
	b := bucket(t.tx, bucketV1, []byte(ns), bucketLeases)
	if b == nil || b.Bucket([]byte(id)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(id))
}
