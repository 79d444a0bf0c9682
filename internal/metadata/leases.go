package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/filters"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/snapshot"
)

var (
	bucketLeases  = []byte("leases")
	bucketIngests = []byte("ingests")
)

// LeaseManager is the leases.Manager of the metadata database: leases
// under v1/<namespace>/leases/<id>/, with createdat, labels/ and what
// each holds in content/<digest>, ingests/<ref> and
// snapshots/<snapshotter>/<key>.
type LeaseManager struct {
	db        *DB
	defaultNS string
}

var _ leases.Manager = (*LeaseManager)(nil)

// NewLeaseManager returns the lease manager of db. Calls whose context
// carries no namespace use defaultNS.
func NewLeaseManager(db *DB, defaultNS string) *LeaseManager {
	return &LeaseManager{db: db, defaultNS: defaultNS}
}

func leaseBucket(tx *bolt.Tx, ns, id string) *bolt.Bucket {
	return bucket(tx, bucketV1, []byte(ns), bucketLeases, []byte(id))
}

func leaseNotFound(id, ns string) error {
	return fmt.Errorf("lease %q in namespace %s: %w", id, ns, errdefs.ErrNotFound)
}

// Create makes a lease.
func (m *LeaseManager) Create(ctx context.Context, opts ...leases.Opt) (leases.Lease, error) {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return leases.Lease{}, err
	}
	var l leases.Lease
	for _, o := range opts {
		if err := o(&l); err != nil {
			return leases.Lease{}, err
		}
	}
	if l.ID == "" {
		return leases.Lease{}, fmt.Errorf("lease: no id (WithID or WithRandomID): %w", errdefs.ErrInvalidArgument)
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return leases.Lease{}, err
	}
	l.Labels = withoutEmpty(l.Labels)
	if err := content.ValidateLabels(l.Labels); err != nil {
		return leases.Lease{}, fmt.Errorf("lease %q: %w", l.ID, err)
	}
	if len(l.Labels) == 0 {
		l.Labels = nil
	}
	l.CreatedAt = time.Now().UTC()
	err = m.db.Update(ctx, func(tx *bolt.Tx) error {
		lb, err := createBucket(tx, bucketV1, []byte(ns), bucketLeases)
		if err != nil {
			return err
		}
		b, err := lb.CreateBucket([]byte(l.ID))
		if err == bolt.ErrBucketExists {
			return fmt.Errorf("lease %q in namespace %s: %w", l.ID, ns, errdefs.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		if err := putTime(b, keyCreatedAt, l.CreatedAt); err != nil {
			return err
		}
		return writeLabels(b, l.Labels)
	})
	if err != nil {
		return leases.Lease{}, err
	}
	return l, nil
}

// Delete removes the lease. The options are for the client, which
// collects garbage after a synchronous delete; here they are checked
// only.
func (m *LeaseManager) Delete(ctx context.Context, l leases.Lease, opts ...leases.DeleteOpt) error {
	var o leases.DeleteOptions
	for _, opt := range opts {
		if err := opt(ctx, &o); err != nil {
			return err
		}
	}
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return err
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return err
	}
	return m.db.Update(ctx, func(tx *bolt.Tx) error {
		lb := bucket(tx, bucketV1, []byte(ns), bucketLeases)
		if lb == nil || lb.Bucket([]byte(l.ID)) == nil {
			return leaseNotFound(l.ID, ns)
		}
		return lb.DeleteBucket([]byte(l.ID))
	})
}

func readLease(id string, b *bolt.Bucket) leases.Lease {
	return leases.Lease{ID: id, CreatedAt: getTime(b, keyCreatedAt), Labels: readLabels(b)}
}

// List returns the namespace's leases matching any of the filters.
func (m *LeaseManager) List(ctx context.Context, fs ...string) ([]leases.Lease, error) {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return nil, err
	}
	filter, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	var out []leases.Lease
	err = m.db.View(ctx, func(tx *bolt.Tx) error {
		lb := bucket(tx, bucketV1, []byte(ns), bucketLeases)
		if lb == nil {
			return nil
		}
		return lb.ForEachBucket(func(k []byte) error {
			l := readLease(string(k), lb.Bucket(k))
			if filter.Match(leases.Adaptor(l)) {
				out = append(out, l)
			}
			return nil
		})
	})
	return out, err
}

// checkResource validates a resource's type and id.
func checkResource(r leases.Resource) error {
	if err := leases.ValidateResource(r); err != nil {
		return err
	}
	switch {
	case r.Type == leases.ResourceContent:
		return content.ValidateDigest(digest.Digest(r.ID))
	case r.Type == leases.ResourceIngest:
		return content.ValidateRef(r.ID)
	default:
		return snapshot.ValidateKey(r.ID)
	}
}

// resourcePath is the path of buckets, inside a lease's bucket, that
// holds resources of type typ.
func resourcePath(typ string) [][]byte {
	if name, ok := strings.CutPrefix(typ, leases.ResourceSnapshotsPrefix); ok {
		return [][]byte{bucketSnapshots, []byte(name)}
	}
	return [][]byte{[]byte(typ)}
}

// AddResource makes the lease hold r.
func (m *LeaseManager) AddResource(ctx context.Context, l leases.Lease, r leases.Resource) error {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return err
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return err
	}
	if err := checkResource(r); err != nil {
		return err
	}
	return m.db.Update(ctx, func(tx *bolt.Tx) error {
		return addResource(tx, ns, l.ID, r)
	})
}

// AddResources makes the lease hold every one of rs, in one transaction.
func (m *LeaseManager) AddResources(ctx context.Context, l leases.Lease, rs ...leases.Resource) error {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return err
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return err
	}
	for _, r := range rs {
		if err := checkResource(r); err != nil {
			return err
		}
	}
	return m.db.Update(ctx, func(tx *bolt.Tx) error {
		for _, r := range rs {
			if err := addResource(tx, ns, l.ID, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// addResource records r in the lease id of ns; a missing lease is
// NotFound.
func addResource(tx *bolt.Tx, ns, id string, r leases.Resource) error {
	b := leaseBucket(tx, ns, id)
	if b == nil {
		return leaseNotFound(id, ns)
	}
	for _, p := range resourcePath(r.Type) {
		var err error
		if b, err = b.CreateBucketIfNotExists(p); err != nil {
			return err
		}
	}
	return b.Put([]byte(r.ID), nil)
}

// removeResource lets the lease id of ns go of r; a missing lease or
// resource is no error.
func removeResource(tx *bolt.Tx, ns, id string, r leases.Resource) error {
	b := leaseBucket(tx, ns, id)
	for _, p := range resourcePath(r.Type) {
		if b == nil {
			return nil
		}
		b = b.Bucket(p)
	}
	if b == nil {
		return nil
	}
	return b.Delete([]byte(r.ID))
}

// DeleteResource lets the lease go of r.
func (m *LeaseManager) DeleteResource(ctx context.Context, l leases.Lease, r leases.Resource) error {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return err
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return err
	}
	if err := checkResource(r); err != nil {
		return err
	}
	return m.db.Update(ctx, func(tx *bolt.Tx) error {
		if leaseBucket(tx, ns, l.ID) == nil {
			return leaseNotFound(l.ID, ns)
		}
		return removeResource(tx, ns, l.ID, r)
	})
}

// ListResources returns what the lease holds, by type then id.
func (m *LeaseManager) ListResources(ctx context.Context, l leases.Lease) ([]leases.Resource, error) {
	ns, err := namespaceOf(ctx, m.defaultNS)
	if err != nil {
		return nil, err
	}
	if err := leases.ValidateID(l.ID); err != nil {
		return nil, err
	}
	var out []leases.Resource
	err = m.db.View(ctx, func(tx *bolt.Tx) error {
		b := leaseBucket(tx, ns, l.ID)
		if b == nil {
			return leaseNotFound(l.ID, ns)
		}
		out = leaseResources(b)
		return nil
	})
	return out, err
}

// leaseResources reads what a lease's bucket holds: content, then
// ingests, then snapshots by snapshotter.
func leaseResources(b *bolt.Bucket) []leases.Resource {
	var out []leases.Resource
	list := func(rb *bolt.Bucket, typ string) {
		if rb == nil {
			return
		}
		rb.ForEach(func(k, _ []byte) error {
			out = append(out, leases.Resource{ID: string(k), Type: typ})
			return nil
		})
	}
	list(b.Bucket([]byte(leases.ResourceContent)), leases.ResourceContent)
	list(b.Bucket(bucketIngests), leases.ResourceIngest)
	if sb := b.Bucket(bucketSnapshots); sb != nil {
		sb.ForEachBucket(func(k []byte) error {
			list(sb.Bucket(k), leases.Snapshots(string(k)))
			return nil
		})
	}
	return out
}
