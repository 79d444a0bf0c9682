package containerd

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/gc"
	"github.com/daemonless/containerd/snapshot"
)

// Labels that garbage collection reads.
const (
	// LabelGCRoot on a blob or a snapshot (any value) keeps it, and what
	// it references, from garbage collection.
	LabelGCRoot = gc.LabelRoot
	// LabelGCRefContentPrefix, alone or followed by '.' or '/' and a name
	// of the caller's choosing, labels a blob, snapshot, image or
	// container with the digest of a blob it references: collection
	// keeps that blob as long as the labelled object is kept. Pull and
	// Import label each manifest with its config and layers
	// (".config", ".l.<n>") and each index with its manifests (".m.<n>").
	LabelGCRefContentPrefix = gc.LabelRefContent
)

// GCOpt configures a garbage collection.
type GCOpt func(*gcOpts) error

type gcOpts struct {
	dryRun bool
}

// WithGCDryRun makes GC find what it would remove, and remove nothing.
func WithGCDryRun(o *gcOpts) error {
	o.dryRun = true
	return nil
}

// GCRemoved is one thing a garbage collection removed (or, in a dry run,
// would remove).
type GCRemoved struct {
	// Namespace is the namespace of the record removed; empty for a blob
	// on disk that no record named (left by a crash).
	Namespace string
	// Type is "content", "snapshots/<snapshotter>", "ingests" or
	// "leases" (an expired lease).
	Type string
	// ID is the digest, snapshot key, ingest ref or lease id.
	ID string
	// Size is the disk space its removal freed: zero when another
	// namespace keeps the data, and for leases.
	Size int64
}

// GCStats tells what a garbage collection did.
type GCStats struct {
	// Removed lists what was removed: content, snapshots, leases, then
	// ingests.
	Removed []GCRemoved
	// ContentRemoved counts the blobs deleted from disk.
	ContentRemoved int
	// SnapshotsRemoved counts the snapshots whose data was removed.
	SnapshotsRemoved int
	// IngestsRemoved counts the expired ingests aborted.
	IngestsRemoved int
	// LeasesRemoved counts the expired leases deleted.
	LeasesRemoved int
	// BytesFreed is the disk space freed.
	BytesFreed int64
	// Duration is how long the collection took.
	Duration time.Duration
}

// GC collects garbage in every namespace of the root: it removes the
// blobs, snapshots and leases that nothing needs, and ingests that no
// lease holds and nothing wrote to for 24 hours. What is needed is what
// images (their target and, through the labels Pull, Import and Unpack
// set, their manifests, configs, layers and unpacked snapshots),
// containers (their snapshot), unexpired leases and the LabelGCRoot label
// keep, and what that references in turn; see package documentation of
// the collector for the rules, which are containerd's. Data shared by
// namespaces goes only when no namespace keeps it.
//
// GC is safe beside anything else the client, another client or another
// process on the same root does: it marks and removes records in one
// write transaction of the metadata database, which writers in every
// process take in turn, and the client's own operations (Pull, Import,
// Unpack, NewContainer) keep what they make under a lease until an image
// or container references it. A caller writing blobs or snapshots
// through ContentStore or SnapshotService should do so under WithLease
// if a collection may run before it references them. One collection of
// a client runs at a time. GC also lets each snapshotter clean what an
// interrupted operation left (Cleanup).
//
// GC needs the client's own stores: with WithContentStore or
// WithImageStore it fails with FailedPrecondition. After a failure the
// stats tell what was done before it.
func (c *Client) GC(ctx context.Context, opts ...GCOpt) (GCStats, error) {
	var o gcOpts
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return GCStats{}, err
		}
	}
	if c.contentBackend == nil || c.foreignImages {
		return GCStats{}, fmt.Errorf("gc: the client uses a content or image store of the caller's, whose records the collector cannot read: %w", errdefs.ErrFailedPrecondition)
	}
	c.gcMu.Lock()
	defer c.gcMu.Unlock()
	start := time.Now()
	res, err := gc.Collect(ctx, c.db, gc.Backends{Content: c.contentBackend, Snapshotter: c.backendSnapshotter}, gc.Options{DryRun: o.dryRun})
	if err == nil && !o.dryRun {
		err = c.cleanupSnapshotters(ctx)
	}
	stats := GCStats{
		ContentRemoved: res.ContentRemoved, SnapshotsRemoved: res.SnapshotsRemoved,
		IngestsRemoved: res.IngestsRemoved, LeasesRemoved: res.LeasesRemoved,
		BytesFreed: res.BytesFreed, Duration: time.Since(start),
	}
	for _, r := range res.Removed {
		stats.Removed = append(stats.Removed, GCRemoved(r))
	}
	return stats, err
}

// backendSnapshotter returns the backend of the snapshotter name, opening
// it if need be.
func (c *Client) backendSnapshotter(name string) (snapshot.Snapshotter, error) {
	sn, err := c.snapshotter(name)
	if err != nil {
		return nil, err
	}
	return sn.Backend(), nil
}

// cleanupSnapshotters runs Cleanup on every snapshotter the client has
// open.
func (c *Client) cleanupSnapshotters(ctx context.Context) error {
	c.snMu.Lock()
	var sns []snapshot.Cleaner
	for _, sn := range c.snapshotters {
		sns = append(sns, sn)
	}
	c.snMu.Unlock()
	for _, sn := range sns {
		if err := sn.Cleanup(ctx); err != nil {
			return fmt.Errorf("gc: snapshot cleanup: %w", err)
		}
	}
	return nil
}

// DefaultGCQuiet is how long a GCPolicy with OnDelete waits after the
// last delete before it collects, unless its Quiet says otherwise.
const DefaultGCQuiet = 100 * time.Millisecond

// GCPolicy says when a client collects garbage by itself.
type GCPolicy struct {
	// OnDelete collects after an image, a container or a lease is
	// deleted through the client, once no other such delete has come
	// for Quiet: a burst of deletes is followed by one collection.
	OnDelete bool
	// Quiet is the wait of OnDelete; DefaultGCQuiet when zero.
	Quiet time.Duration
	// OnResult, when set, is called with the outcome of each collection
	// the policy runs, on a goroutine of the client's. Errors are not
	// reported otherwise.
	OnResult func(GCStats, error)
}

// WithGCPolicy sets when the client collects garbage by itself. By
// default it never does: GC runs when called. Close stops the policy and
// waits for a collection under way.
func WithGCPolicy(p GCPolicy) ClientOpt {
	return func(o *clientOpts) error {
		if p.Quiet < 0 {
			return fmt.Errorf("gc policy: negative quiet time %v: %w", p.Quiet, errdefs.ErrInvalidArgument)
		}
		if p.Quiet == 0 {
			p.Quiet = DefaultGCQuiet
		}
		o.gcPolicy = &p
		return nil
	}
}

// gcScheduler runs the collections of a GCPolicy.
type gcScheduler struct {
	c      *Client
	policy GCPolicy
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	running sync.WaitGroup
}

func newGCScheduler(c *Client, p GCPolicy) *gcScheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &gcScheduler{c: c, policy: p, ctx: ctx, cancel: cancel}
}

// scheduleGC tells the client's policy, if any, that something was
// deleted.
func (c *Client) scheduleGC() {
	if s := c.gcScheduler; s != nil && s.policy.OnDelete {
		s.notify()
	}
}

// notify (re)starts the quiet wait.
func (s *gcScheduler) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.policy.Quiet, s.run)
		return
	}
	s.timer.Reset(s.policy.Quiet)
}

func (s *gcScheduler) run() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()
	stats, err := s.c.GC(s.ctx)
	if s.policy.OnResult != nil {
		s.policy.OnResult(stats, err)
	}
}

// stop ends the policy: no collection starts after it, and one under way
// is cancelled and waited for.
func (s *gcScheduler) stop() {
	s.mu.Lock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.cancel()
	s.running.Wait()
}

// stopGC stops the client's GC policy, if any.
func (c *Client) stopGC() {
	if c.gcScheduler != nil {
		c.gcScheduler.stop()
	}
}

// labelChildren wraps children so that each manifest and index it reads
// is labelled with the blobs it references (LabelGCRefContentPrefix
// ".config", ".l.<n>", ".m.<n>"), which lets garbage collection follow an
// image's tree without reading it. Labels already there are not written
// again.
func labelChildren(cs content.Store, children images.HandlerFunc) images.HandlerFunc {
	return func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		kids, err := children(ctx, desc)
		if err != nil || len(kids) == 0 {
			return kids, err
		}
		labels := childLabels(desc, kids)
		if len(labels) == 0 {
			return kids, nil
		}
		if err := setContentLabels(ctx, cs, desc.Digest, labels); err != nil {
			return nil, fmt.Errorf("label %s with its children: %w", desc.Digest, err)
		}
		return kids, nil
	}
}

// childLabels names the children of a manifest or an index.
func childLabels(desc ocispec.Descriptor, kids []ocispec.Descriptor) map[string]string {
	labels := map[string]string{}
	switch {
	case images.IsManifestType(desc.MediaType):
		labels[LabelGCRefContentPrefix+".config"] = kids[0].Digest.String()
		for i, l := range kids[1:] {
			labels[LabelGCRefContentPrefix+".l."+strconv.Itoa(i)] = l.Digest.String()
		}
	case images.IsIndexType(desc.MediaType):
		for i, m := range kids {
			labels[LabelGCRefContentPrefix+".m."+strconv.Itoa(i)] = m.Digest.String()
		}
	}
	return labels
}

// setContentLabels sets labels on the blob d, in one update, unless it
// has them all already.
func setContentLabels(ctx context.Context, cs content.Store, d digest.Digest, labels map[string]string) error {
	info, err := cs.Info(ctx, d)
	if err != nil {
		return err
	}
	var paths []string
	for k, v := range labels {
		if info.Labels[k] != v {
			paths = append(paths, "labels."+k)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	_, err = cs.Update(ctx, content.Info{Digest: d, Labels: labels}, paths...)
	return err
}
