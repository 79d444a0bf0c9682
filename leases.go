package containerd

import (
	"context"
	"fmt"

	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/namespaces"
)

// LeasesService returns the client's lease manager: leases of the
// context's namespace, kept in the root's metadata database. Deleting a
// lease with leases.SynchronousDelete collects garbage before returning;
// otherwise, under a WithGCPolicy that collects on delete, it schedules a
// collection.
func (c *Client) LeasesService() leases.Manager {
	return &leaseManager{LeaseManager: c.leases, c: c}
}

type leaseManager struct {
	*metadata.LeaseManager
	c *Client
}

func (m *leaseManager) Delete(ctx context.Context, l leases.Lease, opts ...leases.DeleteOpt) error {
	var o leases.DeleteOptions
	for _, opt := range opts {
		if err := opt(ctx, &o); err != nil {
			return err
		}
	}
	if err := m.LeaseManager.Delete(ctx, l); err != nil {
		return err
	}
	if o.Synchronous {
		if _, err := m.c.GC(ctx); err != nil {
			return fmt.Errorf("lease %q deleted; %w", l.ID, err)
		}
		return nil
	}
	m.c.scheduleGC()
	return nil
}

// WithLease returns a context carrying a new lease, and a function that
// deletes it. Blobs committed and snapshots made with that context are
// recorded in the lease, so garbage collection keeps them until the
// lease is deleted or expires, whatever references them meanwhile. The
// lease gets a random id and expires after leases.DefaultExpiration (24
// hours) unless opts say otherwise (leases.WithID, leases.WithExpiration,
// leases.WithLabels).
//
// A context that carries a lease already is returned as it is, with a
// done function that does nothing: the caller's lease covers the work.
// Pull, Fetch, Import, Image.Unpack and NewContainer call WithLease
// themselves. The done function deletes the lease in the namespace it was
// made in; give it a context that is not cancelled
// (context.WithoutCancel) so that it runs after a failure too. Deleting
// it does not schedule a collection.
func (c *Client) WithLease(ctx context.Context, opts ...leases.Opt) (context.Context, func(context.Context) error, error) {
	if _, ok := leases.FromContext(ctx); ok {
		return ctx, func(context.Context) error { return nil }, nil
	}
	ns, err := c.namespaceOf(ctx)
	if err != nil {
		return nil, nil, err
	}
	opts = append([]leases.Opt{leases.WithRandomID(), leases.WithExpiration(leases.DefaultExpiration)}, opts...)
	l, err := c.leases.Create(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	done := func(ctx context.Context) error {
		return c.leases.Delete(namespaces.WithNamespace(ctx, ns), l)
	}
	return leases.WithLease(ctx, l.ID), done, nil
}

// withTempLease is WithLease for the client's own operations: what
// failed is named by what.
func (c *Client) withTempLease(ctx context.Context, what string) (context.Context, func(), error) {
	ctx, done, err := c.WithLease(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: lease: %w", what, err)
	}
	// The lease expires by itself if this fails: nothing to report.
	return ctx, func() { done(context.WithoutCancel(ctx)) }, nil
}

// leaseResources makes the lease of ctx, if any, hold rs.
func (c *Client) leaseResources(ctx context.Context, rs ...leases.Resource) error {
	id, ok := leases.FromContext(ctx)
	if !ok || len(rs) == 0 {
		return nil
	}
	return c.leases.AddResources(ctx, leases.Lease{ID: id}, rs...)
}
