package gc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/snapshot"
)

// Labels with a meaning to collection.
const (
	// LabelRoot on a blob or a snapshot keeps it, and what it references.
	LabelRoot = "containerd.io/gc.root"
	// LabelRefContent, alone or followed by '.' or '/' and anything, names
	// a blob that the labelled object references.
	LabelRefContent = "containerd.io/gc.ref.content"
	// LabelRefSnapshotPrefix, followed by a snapshotter's name (and
	// optionally '/' and anything), names a snapshot of that snapshotter
	// that the labelled object references.
	LabelRefSnapshotPrefix = "containerd.io/gc.ref.snapshot."
)

// DefaultIngestExpiry is how long an ingest no lease holds may go
// without a write before collection aborts it.
const DefaultIngestExpiry = 24 * time.Hour

// Resource types of Removed, besides those of package leases.
const (
	// TypeLease is a lease that had expired.
	TypeLease = "leases"
)

// Backends are the stores that keep the data the metadata's records
// describe.
type Backends struct {
	// Content keeps the blobs and the ingests of every namespace, an
	// ingest's ref being "<namespace>/<ref>".
	Content content.Store
	// Snapshotter returns the backend snapshotter called name.
	Snapshotter func(name string) (snapshot.Snapshotter, error)
}

// Options tune a collection.
type Options struct {
	// DryRun finds what would be removed and removes nothing.
	DryRun bool
	// IngestExpiry overrides DefaultIngestExpiry when positive.
	IngestExpiry time.Duration
}

// Removed is one thing a collection removed, or would remove.
type Removed struct {
	// Namespace is the namespace of the record; empty for a blob on disk
	// that no record named.
	Namespace string
	// Type is leases.ResourceContent, leases.ResourceIngest,
	// "snapshots/<snapshotter>" or TypeLease.
	Type string
	// ID is the digest, snapshot key, ingest ref or lease id.
	ID string
	// Size is the disk space freed by the removal: zero for a record
	// whose data another namespace keeps, and for leases.
	Size int64
}

// Result tells what a collection did.
type Result struct {
	// Removed lists the records and data removed: content, then
	// snapshots, ingests and leases.
	Removed []Removed
	// ContentRemoved counts the blobs deleted from disk.
	ContentRemoved int
	// SnapshotsRemoved counts the backend snapshots removed.
	SnapshotsRemoved int
	// IngestsRemoved counts the ingests aborted.
	IngestsRemoved int
	// LeasesRemoved counts the expired leases deleted.
	LeasesRemoved int
	// BytesFreed is the disk space freed: blob and ingest sizes, and the
	// usage of the snapshots removed.
	BytesFreed int64
}

// node is a blob or a snapshot record of a namespace.
type node struct {
	snapshot bool
	ns       string
	sn       string // snapshotter, for snapshots
	key      string // digest or snapshot key
}

// state is one collection under way.
type state struct {
	ctx context.Context
	b   Backends
	o   Options
	now time.Time

	content map[string]map[digest.Digest]metadata.ContentRecord // by namespace
	snaps   map[string]map[[2]string]metadata.SnapshotRecord    // by namespace, by {snapshotter, key}
	leased  map[string]bool                                     // ingest refs held, "<ns>/<ref>"
	expired []metadata.LeaseRecord                              // with their namespace in nsOf
	expNS   []string

	marked map[node]bool
	parsed map[node]bool // manifests and indexes read for want of labels
	queue  []item
	res    Result
	errs   []error
}

// item is a node to visit, with the descriptor it was reached by when
// one is known (an image's target, a child read from a manifest).
type item struct {
	n    node
	desc *ocispec.Descriptor
}

// Collect runs one collection over db and the data in b.
func Collect(ctx context.Context, db *metadata.DB, b Backends, o Options) (Result, error) {
	if o.IngestExpiry <= 0 {
		o.IngestExpiry = DefaultIngestExpiry
	}
	s := &state{ctx: ctx, b: b, o: o, now: time.Now(), marked: map[node]bool{}, parsed: map[node]bool{}}
	var plan []backendSnapshot
	run := db.CollectUpdate
	if o.DryRun {
		run = db.CollectView
	}
	err := run(ctx, func(t *metadata.CollectTxn) error {
		s.reset()
		if err := s.read(t); err != nil {
			return err
		}
		s.mark()
		var err error
		plan, err = s.sweepRecords(t)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("gc: %w", err)
	}
	s.removeSnapshots(plan)
	s.sweepIngests()
	return s.res, errors.Join(s.errs...)
}

// reset forgets what an earlier attempt of the transaction found.
func (s *state) reset() {
	s.content = map[string]map[digest.Digest]metadata.ContentRecord{}
	s.snaps = map[string]map[[2]string]metadata.SnapshotRecord{}
	s.leased = map[string]bool{}
	s.expired, s.expNS = nil, nil
	clear(s.marked)
	clear(s.parsed)
	s.queue = nil
	s.res = Result{}
	s.errs = nil
}

// read loads every namespace's records and queues the roots.
func (s *state) read(t *metadata.CollectTxn) error {
	for _, ns := range t.Namespaces() {
		cs := map[digest.Digest]metadata.ContentRecord{}
		for _, r := range t.Content(ns) {
			cs[r.Digest] = r
			if _, ok := r.Labels[LabelRoot]; ok {
				s.push(node{ns: ns, key: r.Digest.String()}, nil)
			}
		}
		s.content[ns] = cs
		ss := map[[2]string]metadata.SnapshotRecord{}
		for _, r := range t.Snapshots(ns) {
			ss[[2]string{r.Snapshotter, r.Key}] = r
			if _, ok := r.Labels[LabelRoot]; ok {
				s.push(node{snapshot: true, ns: ns, sn: r.Snapshotter, key: r.Key}, nil)
			}
		}
		s.snaps[ns] = ss
		imgs, err := t.Images(ns)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			target := img.Target
			s.push(node{ns: ns, key: target.Digest.String()}, &target)
			s.pushLabels(ns, img.Labels)
		}
		for _, c := range t.Containers(ns) {
			if c.SnapshotKey != "" {
				s.push(node{snapshot: true, ns: ns, sn: c.Snapshotter, key: c.SnapshotKey}, nil)
			}
			s.pushLabels(ns, c.Labels)
		}
		for _, l := range t.Leases(ns) {
			if l.Expired(s.now) {
				s.expired = append(s.expired, l)
				s.expNS = append(s.expNS, ns)
				continue
			}
			for _, r := range l.Resources {
				switch {
				case r.Type == leases.ResourceContent:
					s.push(node{ns: ns, key: r.ID}, nil)
				case r.Type == leases.ResourceIngest:
					s.leased[ns+"/"+r.ID] = true
				default:
					if sn, ok := strings.CutPrefix(r.Type, leases.ResourceSnapshotsPrefix); ok {
						s.push(node{snapshot: true, ns: ns, sn: sn, key: r.ID}, nil)
					}
				}
			}
		}
	}
	return nil
}

func (s *state) push(n node, desc *ocispec.Descriptor) {
	s.queue = append(s.queue, item{n: n, desc: desc})
}

// pushLabels queues what the labels of an object of ns reference.
func (s *state) pushLabels(ns string, labels map[string]string) {
	for k, v := range labels {
		if rest, ok := strings.CutPrefix(k, LabelRefContent); ok {
			if rest == "" || rest[0] == '.' || rest[0] == '/' {
				s.push(node{ns: ns, key: v}, nil)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(k, LabelRefSnapshotPrefix); ok {
			sn, _, _ := strings.Cut(rest, "/")
			if sn != "" {
				s.push(node{snapshot: true, ns: ns, sn: sn, key: v}, nil)
			}
		}
	}
}

// hasContentRefs reports whether labels name any blob.
func hasContentRefs(labels map[string]string) bool {
	for k := range labels {
		if rest, ok := strings.CutPrefix(k, LabelRefContent); ok && (rest == "" || rest[0] == '.' || rest[0] == '/') {
			return true
		}
	}
	return false
}

// mark visits everything the roots reach.
func (s *state) mark() {
	for len(s.queue) > 0 {
		it := s.queue[len(s.queue)-1]
		s.queue = s.queue[:len(s.queue)-1]
		n := it.n
		if n.snapshot {
			r, ok := s.snaps[n.ns][[2]string{n.sn, n.key}]
			if !ok || s.marked[n] {
				continue
			}
			s.marked[n] = true
			if r.Parent != "" {
				s.push(node{snapshot: true, ns: n.ns, sn: n.sn, key: r.Parent}, nil)
			}
			s.pushLabels(n.ns, r.Labels)
			continue
		}
		r, ok := s.content[n.ns][digest.Digest(n.key)]
		if !ok {
			continue
		}
		if !s.marked[n] {
			s.marked[n] = true
			s.pushLabels(n.ns, r.Labels)
		}
		// A manifest or index without reference labels is read, once.
		if it.desc != nil && !s.parsed[n] && !hasContentRefs(r.Labels) &&
			(images.IsManifestType(it.desc.MediaType) || images.IsIndexType(it.desc.MediaType)) {
			s.parsed[n] = true
			children, err := images.ChildrenHandler(s.b.Content)(s.ctx, *it.desc)
			if err != nil {
				continue // unreadable: nothing more to follow
			}
			for _, c := range children {
				s.push(node{ns: n.ns, key: c.Digest.String()}, &c)
			}
		}
	}
}

// backendSnapshot is a backend snapshot no record names any more.
type backendSnapshot struct {
	sn, key string
	depth   int
	removed []int // indexes in res.Removed of the records that named it
}

// sweepRecords removes the unmarked records, and the blobs no record
// keeps, and returns the backend snapshots to remove once the
// transaction is done.
func (s *state) sweepRecords(t *metadata.CollectTxn) ([]backendSnapshot, error) {
	dry := s.o.DryRun
	// Content: what any namespace keeps stays on disk.
	keep := map[digest.Digest]bool{}
	recorded := map[digest.Digest]bool{}
	for ns, cs := range s.content {
		for d := range cs {
			recorded[d] = true
			if s.marked[node{ns: ns, key: d.String()}] {
				keep[d] = true
			}
		}
	}
	deleted := map[digest.Digest]bool{}
	for _, ns := range sortedKeys(s.content) {
		cs := s.content[ns]
		for _, d := range sortedKeys(cs) {
			if s.marked[node{ns: ns, key: d.String()}] {
				continue
			}
			if !dry {
				if err := t.DeleteContent(ns, d); err != nil {
					return nil, err
				}
			}
			rm := Removed{Namespace: ns, Type: leases.ResourceContent, ID: d.String()}
			if !keep[d] && !deleted[d] {
				deleted[d] = true
				if err := s.deleteBlob(d); err != nil {
					return nil, err
				}
				rm.Size = cs[d].Size
				s.res.ContentRemoved++
				s.res.BytesFreed += rm.Size
			}
			s.res.Removed = append(s.res.Removed, rm)
		}
	}
	// Blobs on disk that no record names: left by a crash between a
	// commit and its record.
	var orphans []content.Info
	err := s.b.Content.Walk(s.ctx, func(info content.Info) error {
		if !recorded[info.Digest] {
			orphans = append(orphans, info)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk blobs: %w", err)
	}
	for _, info := range orphans {
		if err := s.deleteBlob(info.Digest); err != nil {
			return nil, err
		}
		s.res.Removed = append(s.res.Removed, Removed{Type: leases.ResourceContent, ID: info.Digest.String(), Size: info.Size})
		s.res.ContentRemoved++
		s.res.BytesFreed += info.Size
	}

	// Snapshots: records go now; a backend snapshot no kept record names
	// goes after the transaction.
	keepB := map[[2]string]bool{}
	for ns, ss := range s.snaps {
		for k, r := range ss {
			if s.marked[node{snapshot: true, ns: ns, sn: k[0], key: k[1]}] {
				keepB[[2]string{r.Snapshotter, r.Backend}] = true
			}
		}
	}
	plan := map[[2]string]*backendSnapshot{}
	usable := map[string]bool{}
	for _, ns := range sortedKeys(s.snaps) {
		ss := s.snaps[ns]
		for _, k := range sortedSnapKeys(ss) {
			if s.marked[node{snapshot: true, ns: ns, sn: k[0], key: k[1]}] {
				continue
			}
			r := ss[k]
			ok, seen := usable[r.Snapshotter]
			if !seen {
				_, err := s.b.Snapshotter(r.Snapshotter)
				if ok = err == nil; !ok {
					s.errs = append(s.errs, fmt.Errorf("snapshots of %s kept: %w", r.Snapshotter, err))
				}
				usable[r.Snapshotter] = ok
			}
			if !ok {
				continue
			}
			if !dry {
				if err := t.DeleteSnapshot(ns, r.Snapshotter, r.Key); err != nil {
					return nil, err
				}
			}
			s.res.Removed = append(s.res.Removed, Removed{Namespace: ns, Type: leases.Snapshots(r.Snapshotter), ID: r.Key})
			bk := [2]string{r.Snapshotter, r.Backend}
			if keepB[bk] {
				continue
			}
			p := plan[bk]
			if p == nil {
				p = &backendSnapshot{sn: r.Snapshotter, key: r.Backend, depth: depth(ss, k)}
				plan[bk] = p
			}
			p.removed = append(p.removed, len(s.res.Removed)-1)
		}
	}
	// Leases past their expiry.
	for i, l := range s.expired {
		if !dry {
			if err := t.DeleteLease(s.expNS[i], l.ID); err != nil {
				return nil, err
			}
		}
		s.res.Removed = append(s.res.Removed, Removed{Namespace: s.expNS[i], Type: TypeLease, ID: l.ID})
		s.res.LeasesRemoved++
	}
	out := make([]backendSnapshot, 0, len(plan))
	for _, p := range plan {
		out = append(out, *p)
	}
	// Children before parents: deepest first.
	slices.SortFunc(out, func(a, b backendSnapshot) int {
		if a.depth != b.depth {
			return b.depth - a.depth
		}
		return strings.Compare(a.key, b.key)
	})
	return out, nil
}

// deleteBlob deletes a blob from disk, unless this is a dry run.
func (s *state) deleteBlob(d digest.Digest) error {
	if s.o.DryRun {
		return nil
	}
	if err := s.b.Content.Delete(s.ctx, d); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// depth is the length of a snapshot's chain of parents.
func depth(ss map[[2]string]metadata.SnapshotRecord, k [2]string) int {
	n := 0
	for {
		r, ok := ss[k]
		if !ok || r.Parent == "" || n > len(ss) {
			return n
		}
		n++
		k = [2]string{k[0], r.Parent}
	}
}

// batchRemover is implemented by backends that remove many snapshots at
// once (internal/snapstore's, under overlay and native): one transaction
// where Remove takes one per snapshot. Keys come children first; those
// missing or with children left are passed over; the usage of each one
// removed is returned.
type batchRemover interface {
	RemoveBatch(ctx context.Context, keys []string) (map[string]snapshot.Usage, error)
}

// removeSnapshots removes the backend snapshots of plan, children first,
// and counts what they used.
func (s *state) removeSnapshots(plan []backendSnapshot) {
	// Per snapshotter, keeping the order.
	var names []string
	bySn := map[string][]backendSnapshot{}
	for _, p := range plan {
		if _, ok := bySn[p.sn]; !ok {
			names = append(names, p.sn)
		}
		bySn[p.sn] = append(bySn[p.sn], p)
	}
	for _, name := range names {
		if err := s.ctx.Err(); err != nil {
			s.errs = append(s.errs, err)
			return
		}
		sn, err := s.b.Snapshotter(name)
		if err != nil {
			s.errs = append(s.errs, err)
			continue
		}
		ps := bySn[name]
		if br, ok := sn.(batchRemover); ok && !s.o.DryRun {
			keys := make([]string, len(ps))
			for i, p := range ps {
				keys[i] = p.key
			}
			removed, err := br.RemoveBatch(s.ctx, keys)
			if err != nil {
				s.errs = append(s.errs, fmt.Errorf("remove snapshots of %s: %w", name, err))
			}
			for _, p := range ps {
				if u, ok := removed[p.key]; ok {
					s.removed(p, u)
				}
			}
			continue
		}
		for _, p := range ps {
			u, _ := sn.Usage(s.ctx, p.key)
			if !s.o.DryRun {
				err := sn.Remove(s.ctx, p.key)
				switch {
				case errdefs.IsNotFound(err):
					continue // another collection was first
				case errdefs.IsFailedPrecondition(err):
					// A child that no record names yet, being prepared:
					// its maker fails to record it, or Cleanup takes
					// both later.
					continue
				case err != nil:
					s.errs = append(s.errs, fmt.Errorf("remove snapshot %s of %s: %w", p.key, name, err))
					continue
				}
			}
			s.removed(p, u)
		}
	}
}

// removed counts the backend snapshot p, which used u, as removed.
func (s *state) removed(p backendSnapshot, u snapshot.Usage) {
	s.res.SnapshotsRemoved++
	s.res.BytesFreed += u.Size
	if len(p.removed) > 0 {
		s.res.Removed[p.removed[0]].Size = u.Size
	}
}

// sweepIngests aborts the ingests no lease holds that have not been
// written to for the ingest expiry.
func (s *state) sweepIngests() {
	sts, err := s.b.Content.ListStatuses(s.ctx)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("list ingests: %w", err))
		return
	}
	cutoff := s.now.Add(-s.o.IngestExpiry)
	for _, st := range sts {
		if s.leased[st.Ref] || st.UpdatedAt.After(cutoff) {
			continue
		}
		if !s.o.DryRun {
			err := s.b.Content.Abort(s.ctx, st.Ref)
			if errdefs.IsNotFound(err) || errdefs.IsUnavailable(err) {
				continue // finished, or written to right now
			}
			if err != nil {
				s.errs = append(s.errs, fmt.Errorf("abort ingest: %w", err))
				continue
			}
		}
		ns, ref, _ := strings.Cut(st.Ref, "/")
		s.res.Removed = append(s.res.Removed, Removed{Namespace: ns, Type: leases.ResourceIngest, ID: ref, Size: st.Offset})
		s.res.IngestsRemoved++
		s.res.BytesFreed += st.Offset
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedSnapKeys(m map[[2]string]metadata.SnapshotRecord) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	return out
}
