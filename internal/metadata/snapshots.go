package metadata

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/filters"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/snapshot"
)

var (
	bucketSnapshots = []byte("snapshots")
	bucketChildren  = []byte("children")
	keyName         = []byte("name")
	keyParent       = []byte("parent")
	keyKind         = []byte("kind")
)

// Snapshotter is a snapshot.Snapshotter that gives each namespace its own
// keys over one backend snapshotter. Records live under
// v1/<namespace>/snapshots/<snapshotter>/<key>; each names the backend
// snapshot holding the data ("<namespace>/<seq>/<key>"). A committed
// snapshot prepared with the label snapshot.LabelSnapshotRef is shared
// with any namespace that asks for the same name on the same parent: its
// data is on disk once, and it is removed from the backend when the last
// namespace removes it.
//
// The backend's work (a native snapshotter copies whole trees, a commit
// measures one, a removal deletes one) runs outside metadata
// transactions, so it never holds the database from other processes:
// new backend snapshots are made first and recorded after, checks done
// again; removed ones are forgotten first and deleted after. A failure or
// a crash in between leaves at most a backend snapshot no namespace
// refers to, which Cleanup removes once it is older than the cleanup
// grace.
type Snapshotter struct {
	db        *DB
	name      string
	backend   snapshot.Snapshotter
	defaultNS string
	grace     time.Duration
}

// DefaultCleanupGrace is how old a backend snapshot no namespace refers
// to must be before Cleanup removes it.
const DefaultCleanupGrace = time.Minute

// SnapshotterOpt configures NewSnapshotter.
type SnapshotterOpt func(*Snapshotter)

// WithCleanupGrace sets the cleanup grace; the default is
// DefaultCleanupGrace.
func WithCleanupGrace(d time.Duration) SnapshotterOpt {
	return func(s *Snapshotter) { s.grace = d }
}

var (
	_ snapshot.Snapshotter = (*Snapshotter)(nil)
	_ snapshot.Cleaner     = (*Snapshotter)(nil)
	_ snapshot.Rebaser     = (*Snapshotter)(nil)
)

// NewSnapshotter returns the namespaced view of backend, recorded in db
// under the snapshotter's name. Calls whose context carries no namespace
// use defaultNS.
func NewSnapshotter(db *DB, name string, backend snapshot.Snapshotter, defaultNS string, opts ...SnapshotterOpt) *Snapshotter {
	s := &Snapshotter{db: db, name: name, backend: backend, defaultNS: defaultNS, grace: DefaultCleanupGrace}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Backend returns the snapshotter the records are kept over.
func (s *Snapshotter) Backend() snapshot.Snapshotter { return s.backend }

// CanRebase reports whether the backend accepts snapshot.WithParent on
// Commit.
func (s *Snapshotter) CanRebase() bool {
	r, ok := s.backend.(snapshot.Rebaser)
	return ok && r.CanRebase()
}

func (s *Snapshotter) snapshotsBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	return bucket(tx, bucketV1, []byte(ns), bucketSnapshots, []byte(s.name))
}

func (s *Snapshotter) notFound(key, ns string) error {
	return fmt.Errorf("snapshot %q in namespace %s: %w", key, ns, errdefs.ErrNotFound)
}

// record is a namespace's record of one snapshot.
type record struct {
	snapshot.Info
	bkey string // the backend snapshot's key
}

func readRecord(key string, b *bolt.Bucket) record {
	k, _ := snapshot.ParseKind(string(b.Get(keyKind)))
	return record{
		Info: snapshot.Info{
			Kind:    k,
			Name:    key,
			Parent:  string(b.Get(keyParent)),
			Labels:  readLabels(b),
			Created: getTime(b, keyCreatedAt),
			Updated: getTime(b, keyUpdatedAt),
		},
		bkey: string(b.Get(keyName)),
	}
}

func writeRecord(b *bolt.Bucket, r record) error {
	for _, kv := range [][2][]byte{
		{keyKind, []byte(r.Kind.String())},
		{keyName, []byte(r.bkey)},
	} {
		if err := b.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if r.Parent != "" {
		if err := b.Put(keyParent, []byte(r.Parent)); err != nil {
			return err
		}
	} else if err := b.Delete(keyParent); err != nil {
		return err
	}
	if err := putTime(b, keyCreatedAt, r.Created); err != nil {
		return err
	}
	if err := putTime(b, keyUpdatedAt, r.Updated); err != nil {
		return err
	}
	return writeLabels(b, r.Labels)
}

// get reads the record of key in ns.
func (s *Snapshotter) get(tx *bolt.Tx, ns, key string) (record, error) {
	sb := s.snapshotsBucket(tx, ns)
	if sb == nil || sb.Bucket([]byte(key)) == nil {
		return record{}, s.notFound(key, ns)
	}
	return readRecord(key, sb.Bucket([]byte(key))), nil
}

// lookup resolves the namespace and key of a call to its record.
func (s *Snapshotter) lookup(ctx context.Context, key string) (string, record, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return "", record{}, err
	}
	if err := snapshot.ValidateKey(key); err != nil {
		return "", record{}, err
	}
	var r record
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		r, err = s.get(tx, ns, key)
		return err
	})
	return ns, r, err
}

// Stat describes the snapshot key of the context's namespace.
func (s *Snapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	_, r, err := s.lookup(ctx, key)
	return r.Info, err
}

// Update changes a snapshot's labels.
func (s *Snapshotter) Update(ctx context.Context, info snapshot.Info, fieldpaths ...string) (snapshot.Info, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return snapshot.Info{}, err
	}
	if err := snapshot.ValidateKey(info.Name); err != nil {
		return snapshot.Info{}, err
	}
	var out snapshot.Info
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		r, err := s.get(tx, ns, info.Name)
		if err != nil {
			return err
		}
		if r.Labels, err = snapshot.UpdateLabels(r.Labels, info.Labels, fieldpaths); err != nil {
			return fmt.Errorf("snapshot %q: %w", info.Name, err)
		}
		r.Updated = time.Now().UTC()
		out = r.Info
		return writeRecord(s.snapshotsBucket(tx, ns).Bucket([]byte(info.Name)), r)
	})
	return out, err
}

// Usage tells the disk the snapshot's own data uses.
func (s *Snapshotter) Usage(ctx context.Context, key string) (snapshot.Usage, error) {
	_, r, err := s.lookup(ctx, key)
	if err != nil {
		return snapshot.Usage{}, err
	}
	u, err := s.backend.Usage(ctx, r.bkey)
	return u, s.callerKey(err, r.bkey, key)
}

// Mounts returns the mounts of an active snapshot or a view.
func (s *Snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	_, r, err := s.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	if r.Kind == snapshot.KindCommitted {
		return nil, fmt.Errorf("snapshot %q: committed snapshots have no mounts: %w", key, errdefs.ErrFailedPrecondition)
	}
	m, err := s.backend.Mounts(ctx, r.bkey)
	return m, s.callerKey(err, r.bkey, key)
}

// Prepare makes an active snapshot.
func (s *Snapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent, opts)
}

// View makes a read-only snapshot.
func (s *Snapshotter) View(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent, opts)
}

func (s *Snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt) ([]snapshot.Mount, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return nil, err
	}
	if err := snapshot.ValidateKey(key); err != nil {
		return nil, err
	}
	if parent != "" {
		if err := snapshot.ValidateKey(parent); err != nil {
			return nil, err
		}
	}
	info, err := snapshot.ApplyOpts(opts...)
	if err != nil {
		return nil, err
	}
	if info.Parent != "" {
		return nil, fmt.Errorf("snapshot %q: WithParent is for Commit; give the parent to Prepare: %w", key, errdefs.ErrInvalidArgument)
	}
	// First, in one transaction: the checks, and sharing another
	// namespace's snapshot, which is only records. When there is nothing
	// to share and the namespace has its bucket, the checks are only
	// reads: a read transaction spares the write's two syncs.
	var (
		bparent string
		shared  bool
		checked bool
	)
	if info.Labels[snapshot.LabelSnapshotRef] == "" || kind != snapshot.KindActive {
		err = s.db.View(ctx, func(tx *bolt.Tx) error {
			sb := s.snapshotsBucket(tx, ns)
			if sb == nil {
				return nil
			}
			checked = true
			bparent, err = s.checkNew(tx, sb, ns, key, parent)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if !checked {
		err = s.db.Update(ctx, func(tx *bolt.Tx) error {
			sb, err := createBucket(tx, bucketV1, []byte(ns), bucketSnapshots, []byte(s.name))
			if err != nil {
				return err
			}
			if bparent, err = s.checkNew(tx, sb, ns, key, parent); err != nil {
				return err
			}
			target := info.Labels[snapshot.LabelSnapshotRef]
			if target == "" || kind != snapshot.KindActive {
				return nil
			}
			if sb.Bucket([]byte(target)) != nil {
				return fmt.Errorf("snapshot %q in namespace %s: %w", target, ns, errdefs.ErrAlreadyExists)
			}
			bkey, rebased, ok := s.findShared(tx, ns, target, bparent)
			if !ok {
				return nil
			}
			now := time.Now().UTC()
			r := record{Info: snapshot.Info{Kind: snapshot.KindCommitted, Name: target, Parent: parent, Labels: withoutLabel(info.Labels, snapshot.LabelSnapshotRef), Created: now, Updated: now}, bkey: bkey}
			if rebased != "" {
				r.Parent = rebased
			}
			shared = true
			if err := s.put(sb, r); err != nil {
				return err
			}
			return s.lease(ctx, tx, ns, target, "")
		})
		if err != nil {
			return nil, err
		}
	}
	if shared {
		return nil, fmt.Errorf("snapshot %q in namespace %s: shared from another namespace: %w", info.Labels[snapshot.LabelSnapshotRef], ns, errdefs.ErrAlreadyExists)
	}
	// Then the backend's work, outside the transaction: a native
	// snapshotter copies the parent's tree, which must not hold the
	// database from other processes. Then the record, checked again.
	bkey := backendKey(ns, key)
	var mounts []snapshot.Mount
	if kind == snapshot.KindView {
		mounts, err = s.backend.View(ctx, bkey, bparent)
	} else {
		mounts, err = s.backend.Prepare(ctx, bkey, bparent)
	}
	if err != nil {
		return nil, s.callerKey(err, bkey, key)
	}
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		sb := s.snapshotsBucket(tx, ns)
		again, err := s.checkNew(tx, sb, ns, key, parent)
		if err != nil {
			return err
		}
		if again != bparent {
			return fmt.Errorf("snapshot %q: parent %q changed while it was prepared: %w", key, parent, errdefs.ErrAborted)
		}
		now := time.Now().UTC()
		if err := s.put(sb, record{Info: snapshot.Info{Kind: kind, Name: key, Parent: parent, Labels: info.Labels, Created: now, Updated: now}, bkey: bkey}); err != nil {
			return err
		}
		return s.lease(ctx, tx, ns, key, "")
	})
	if err != nil {
		s.backend.Remove(context.WithoutCancel(ctx), bkey)
		return nil, err
	}
	return mounts, nil
}

// lease records key in the lease of ctx, if it carries one, in place of
// replaced (the active snapshot a commit replaces) when that is not
// empty. A missing lease is NotFound, which fails the transaction: a
// snapshot made under a lease must not outlive it unrecorded.
func (s *Snapshotter) lease(ctx context.Context, tx *bolt.Tx, ns, key, replaced string) error {
	id, ok := leases.FromContext(ctx)
	if !ok {
		return nil
	}
	typ := leases.Snapshots(s.name)
	if err := addResource(tx, ns, id, leases.Resource{ID: key, Type: typ}); err != nil {
		return err
	}
	if replaced == "" {
		return nil
	}
	return removeResource(tx, ns, id, leases.Resource{ID: replaced, Type: typ})
}

// checkNew checks that key is free in ns and parent committed there, and
// returns the parent's backend key.
func (s *Snapshotter) checkNew(tx *bolt.Tx, sb *bolt.Bucket, ns, key, parent string) (string, error) {
	if sb == nil {
		return "", fmt.Errorf("snapshots of namespace %s: gone: %w", ns, errdefs.ErrAborted)
	}
	if sb.Bucket([]byte(key)) != nil {
		return "", fmt.Errorf("snapshot %q in namespace %s: %w", key, ns, errdefs.ErrAlreadyExists)
	}
	if parent == "" {
		return "", nil
	}
	p, err := s.get(tx, ns, parent)
	if err != nil {
		return "", fmt.Errorf("parent of %q: %w", key, err)
	}
	if p.Kind != snapshot.KindCommitted {
		return "", fmt.Errorf("snapshot %q: parent %q is %s, not committed: %w", key, parent, p.Kind, errdefs.ErrFailedPrecondition)
	}
	return p.bkey, nil
}

// put writes a new record and enters it in its parent's children.
func (s *Snapshotter) put(sb *bolt.Bucket, r record) error {
	b, err := sb.CreateBucket([]byte(r.Name))
	if err != nil {
		return err
	}
	if err := writeRecord(b, r); err != nil {
		return err
	}
	if r.Parent == "" {
		return nil
	}
	cb, err := sb.Bucket([]byte(r.Parent)).CreateBucketIfNotExists(bucketChildren)
	if err != nil {
		return err
	}
	return cb.Put([]byte(r.Name), nil)
}

// unlink removes a record and its entry in its parent's children.
func (s *Snapshotter) unlink(sb *bolt.Bucket, r record) error {
	if r.Parent != "" {
		if cb := sb.Bucket([]byte(r.Parent)).Bucket(bucketChildren); cb != nil {
			if err := cb.Delete([]byte(r.Name)); err != nil {
				return err
			}
		}
	}
	return sb.DeleteBucket([]byte(r.Name))
}

// findShared looks for a committed snapshot named target in another
// namespace that ns can share: on the same backend parent as bparent, or,
// when the caller gave no parent (a rebase), on a parent that ns has
// under the same name. It returns the backend key and the parent's name.
func (s *Snapshotter) findShared(tx *bolt.Tx, ns, target, bparent string) (string, string, bool) {
	own := s.snapshotsBucket(tx, ns)
	for _, other := range namespaceNames(tx) {
		if other == ns {
			continue
		}
		sb := s.snapshotsBucket(tx, other)
		if sb == nil || sb.Bucket([]byte(target)) == nil {
			continue
		}
		r := readRecord(target, sb.Bucket([]byte(target)))
		if r.Kind != snapshot.KindCommitted {
			continue
		}
		var otherParent string
		if r.Parent != "" {
			if pb := sb.Bucket([]byte(r.Parent)); pb != nil {
				otherParent = string(pb.Get(keyName))
			}
		}
		switch {
		case otherParent == bparent:
			return r.bkey, "", true
		case bparent == "" && own != nil && own.Bucket([]byte(r.Parent)) != nil:
			p := readRecord(r.Parent, own.Bucket([]byte(r.Parent)))
			if p.Kind == snapshot.KindCommitted && p.bkey == otherParent {
				return r.bkey, r.Parent, true
			}
		}
	}
	return "", "", false
}

// Commit freezes the active snapshot key as name.
func (s *Snapshotter) Commit(ctx context.Context, name, key string, opts ...snapshot.Opt) error {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return err
	}
	for _, k := range []string{name, key} {
		if err := snapshot.ValidateKey(k); err != nil {
			return err
		}
	}
	info, err := snapshot.ApplyOpts(opts...)
	if err != nil {
		return err
	}
	// Check, commit in the backend (which measures the snapshot's
	// usage: a walk of its tree) outside any transaction, then record.
	var (
		r      record
		bopts  []snapshot.Opt
		parent string
	)
	check := func(tx *bolt.Tx) error {
		sb := s.snapshotsBucket(tx, ns)
		cur, err := s.get(tx, ns, key)
		if err != nil {
			return err
		}
		if r.bkey != "" && cur.bkey != r.bkey {
			return fmt.Errorf("snapshot %q: replaced while it was committed: %w", key, errdefs.ErrAborted)
		}
		r = cur
		if r.Kind != snapshot.KindActive {
			return fmt.Errorf("snapshot %q is a %s, only active snapshots can be committed: %w", key, r.Kind, errdefs.ErrFailedPrecondition)
		}
		if sb.Bucket([]byte(name)) != nil {
			return fmt.Errorf("snapshot %q in namespace %s: %w", name, ns, errdefs.ErrAlreadyExists)
		}
		parent, bopts = r.Parent, nil
		if info.Parent == "" {
			return nil
		}
		if r.Parent != "" {
			return fmt.Errorf("snapshot %q: WithParent on a snapshot prepared on %q: %w", key, r.Parent, errdefs.ErrInvalidArgument)
		}
		p, err := s.get(tx, ns, info.Parent)
		if err != nil {
			return fmt.Errorf("parent of %q: %w", name, err)
		}
		if p.Kind != snapshot.KindCommitted {
			return fmt.Errorf("snapshot %q: parent %q is %s, not committed: %w", name, info.Parent, p.Kind, errdefs.ErrFailedPrecondition)
		}
		parent, bopts = info.Parent, []snapshot.Opt{snapshot.WithParent(p.bkey)}
		return nil
	}
	if err := s.db.View(ctx, check); err != nil {
		return err
	}
	cbkey := backendKey(ns, name)
	if err := s.backend.Commit(ctx, cbkey, r.bkey, bopts...); err != nil {
		return s.callerKey(err, r.bkey, key)
	}
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := check(tx); err != nil {
			return err
		}
		sb := s.snapshotsBucket(tx, ns)
		if err := s.unlink(sb, r); err != nil {
			return err
		}
		labels := r.Labels
		if info.Labels != nil {
			labels = info.Labels
		}
		now := time.Now().UTC()
		if err := s.put(sb, record{Info: snapshot.Info{Kind: snapshot.KindCommitted, Name: name, Parent: parent, Labels: labels, Created: now, Updated: now}, bkey: cbkey}); err != nil {
			return err
		}
		return s.lease(ctx, tx, ns, name, key)
	})
	if err != nil {
		// The active snapshot's data is committed under cbkey now:
		// drop both rather than keep a record without data.
		s.backend.Remove(context.WithoutCancel(ctx), cbkey)
		s.db.Update(context.WithoutCancel(ctx), func(tx *bolt.Tx) error {
			if cur, gerr := s.get(tx, ns, key); gerr == nil && cur.bkey == r.bkey {
				return s.unlink(s.snapshotsBucket(tx, ns), cur)
			}
			return nil
		})
	}
	return err
}

// Remove drops the snapshot key; its data goes when no namespace refers
// to it any more.
func (s *Snapshotter) Remove(ctx context.Context, key string) error {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return err
	}
	if err := snapshot.ValidateKey(key); err != nil {
		return err
	}
	var orphan string
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		r, err := s.get(tx, ns, key)
		if err != nil {
			return err
		}
		sb := s.snapshotsBucket(tx, ns)
		if cb := sb.Bucket([]byte(key)).Bucket(bucketChildren); cb != nil && cb.Stats().KeyN > 0 {
			return fmt.Errorf("snapshot %q has children: %w", key, errdefs.ErrFailedPrecondition)
		}
		if err := s.unlink(sb, r); err != nil {
			return err
		}
		if !s.referenced(tx, r.bkey) {
			orphan = r.bkey
		}
		return nil
	})
	if err != nil || orphan == "" {
		return err
	}
	// The data goes after the record, outside the transaction (a tree
	// removal can take a while); if this fails or the process dies,
	// Cleanup removes it later.
	err = s.backend.Remove(ctx, orphan)
	if errdefs.IsNotFound(err) {
		return nil
	}
	return s.callerKey(err, orphan, key)
}

// referenced reports whether any namespace's record names the backend
// snapshot bkey.
func (s *Snapshotter) referenced(tx *bolt.Tx, bkey string) bool {
	// Only namespaces that shared a snapshot can name another's backend
	// key, so the owner's prefix is no shortcut: look everywhere.
	for _, ns := range namespaceNames(tx) {
		sb := s.snapshotsBucket(tx, ns)
		if sb == nil {
			continue
		}
		found := false
		sb.ForEachBucket(func(k []byte) error {
			if string(sb.Bucket(k).Get(keyName)) == bkey {
				found = true
				return errStop
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

var errStop = errors.New("stop")

// Walk calls fn for the namespace's snapshots matching any filter.
func (s *Snapshotter) Walk(ctx context.Context, fn snapshot.WalkFunc, fs ...string) error {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return err
	}
	filter, err := filters.Parse(fs...)
	if err != nil {
		return err
	}
	var infos []snapshot.Info
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		sb := s.snapshotsBucket(tx, ns)
		if sb == nil {
			return nil
		}
		return sb.ForEachBucket(func(k []byte) error {
			r := readRecord(string(k), sb.Bucket(k))
			if filter.Match(snapshot.InfoAdaptor(r.Info)) {
				infos = append(infos, r.Info)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// fn runs outside the transaction: it may call back into s.
	for _, info := range infos {
		if err := fn(ctx, info); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup removes backend snapshots that no namespace refers to and that
// are older than the cleanup grace (a snapshot being prepared or
// committed exists in the backend a moment before its record does), then
// lets the backend clean its own leftovers.
func (s *Snapshotter) Cleanup(ctx context.Context) error {
	known := map[string]bool{}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		for _, ns := range namespaceNames(tx) {
			if sb := s.snapshotsBucket(tx, ns); sb != nil {
				sb.ForEachBucket(func(k []byte) error {
					known[string(sb.Bucket(k).Get(keyName))] = true
					return nil
				})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var orphans []snapshot.Info
	cutoff := time.Now().Add(-s.grace)
	err = s.backend.Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		if !known[info.Name] && info.Updated.Before(cutoff) {
			orphans = append(orphans, info)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Children before parents: remove in rounds until nothing moves.
	for len(orphans) > 0 {
		var left []snapshot.Info
		for _, o := range orphans {
			if err := s.backend.Remove(ctx, o.Name); err != nil && !errdefs.IsNotFound(err) {
				if !errdefs.IsFailedPrecondition(err) {
					return err
				}
				left = append(left, o)
			}
		}
		if len(left) == len(orphans) {
			break // parents of snapshots a namespace still holds
		}
		orphans = left
	}
	if c, ok := s.backend.(snapshot.Cleaner); ok {
		return c.Cleanup(ctx)
	}
	return nil
}

// Close closes the backend.
func (s *Snapshotter) Close() error { return s.backend.Close() }

// backendKey names a new backend snapshot for key in ns:
// "<ns>/<random>/<key>", unique without a transaction.
func backendKey(ns, key string) string {
	var b [8]byte
	rand.Read(b[:])
	return ns + "/" + hex.EncodeToString(b[:]) + "/" + key
}

// callerKey rewrites the backend key in err's text to the caller's key.
func (s *Snapshotter) callerKey(err error, bkey, key string) error {
	if err == nil {
		return nil
	}
	return &refError{msg: strings.ReplaceAll(err.Error(), bkey, key), err: err}
}

func withoutLabel(labels map[string]string, drop string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k != drop {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
