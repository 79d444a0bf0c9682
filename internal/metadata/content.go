package metadata

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/filters"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/namespaces"
)

// ContentStore is a content.Store that keeps a record of each blob per
// namespace, with its labels, over a shared backend that keeps the bytes.
// A blob committed in one namespace is invisible in another until that
// one commits the same content itself; on disk it is stored once.
type ContentStore struct {
	db        *DB
	backend   content.Store
	defaultNS string
}

var (
	_ content.Store        = (*ContentStore)(nil)
	_ content.PathProvider = (*ContentStore)(nil)
)

// NewContentStore returns the namespaced store over backend. Calls whose
// context carries no namespace use defaultNS.
func NewContentStore(db *DB, backend content.Store, defaultNS string) *ContentStore {
	return &ContentStore{db: db, backend: backend, defaultNS: defaultNS}
}

func (s *ContentStore) namespace(ctx context.Context) (string, error) {
	return namespaceOf(ctx, s.defaultNS)
}

// namespaceOf returns the namespace of ctx, or defaultNS when it carries
// none, checked.
func namespaceOf(ctx context.Context, defaultNS string) (string, error) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		ns = defaultNS
	}
	if err := namespaces.Validate(ns); err != nil {
		return "", err
	}
	return ns, nil
}

func blobBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	return bucket(tx, bucketV1, []byte(ns), bucketContent, bucketBlob)
}

func notFound(d digest.Digest, ns string) error {
	return fmt.Errorf("content %s in namespace %s: %w", d, ns, errdefs.ErrNotFound)
}

func readInfo(d digest.Digest, b *bolt.Bucket) content.Info {
	return content.Info{
		Digest:    d,
		Size:      getInt(b, keySize),
		CreatedAt: getTime(b, keyCreatedAt),
		UpdatedAt: getTime(b, keyUpdatedAt),
		Labels:    readLabels(b),
	}
}

// Info describes a blob of the namespace.
func (s *ContentStore) Info(ctx context.Context, d digest.Digest) (content.Info, error) {
	ns, err := s.namespace(ctx)
	if err != nil {
		return content.Info{}, err
	}
	if err := content.ValidateDigest(d); err != nil {
		return content.Info{}, err
	}
	var info content.Info
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		bb := blobBucket(tx, ns)
		if bb == nil || bb.Bucket([]byte(d)) == nil {
			return notFound(d, ns)
		}
		info = readInfo(d, bb.Bucket([]byte(d)))
		return nil
	})
	return info, err
}

// Update changes a blob's labels; see content.Manager.
func (s *ContentStore) Update(ctx context.Context, info content.Info, fieldpaths ...string) (content.Info, error) {
	ns, err := s.namespace(ctx)
	if err != nil {
		return content.Info{}, err
	}
	if err := content.ValidateDigest(info.Digest); err != nil {
		return content.Info{}, err
	}
	var out content.Info
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		bb := blobBucket(tx, ns)
		if bb == nil || bb.Bucket([]byte(info.Digest)) == nil {
			return notFound(info.Digest, ns)
		}
		b := bb.Bucket([]byte(info.Digest))
		labels, err := updateLabels(readLabels(b), info.Labels, fieldpaths)
		if err != nil {
			return fmt.Errorf("content %s: %w", info.Digest, err)
		}
		if err := writeLabels(b, labels); err != nil {
			return err
		}
		if err := putTime(b, keyUpdatedAt, time.Now()); err != nil {
			return err
		}
		out = readInfo(info.Digest, b)
		return nil
	})
	return out, err
}

// updateLabels applies an update's fieldpaths to labels: none or "labels"
// replaces them all, "labels.KEY" sets one or, with an empty value,
// removes it.
func updateLabels(old, update map[string]string, fieldpaths []string) (map[string]string, error) {
	if len(fieldpaths) == 0 {
		fieldpaths = []string{"labels"}
	}
	labels := maps.Clone(old)
	if labels == nil {
		labels = map[string]string{}
	}
	for _, fp := range fieldpaths {
		switch {
		case fp == "labels":
			labels = maps.Clone(update)
			if labels == nil {
				labels = map[string]string{}
			}
		case strings.HasPrefix(fp, "labels."):
			k := strings.TrimPrefix(fp, "labels.")
			if v := update[k]; v != "" {
				labels[k] = v
			} else {
				delete(labels, k)
			}
		default:
			return nil, fmt.Errorf("field %q cannot be updated: %w", fp, errdefs.ErrInvalidArgument)
		}
	}
	for k, v := range labels {
		if v == "" {
			delete(labels, k)
		}
	}
	if err := content.ValidateLabels(labels); err != nil {
		return nil, err
	}
	return labels, nil
}

// Walk visits the namespace's blobs in digest order. fn runs outside the
// database transaction, so it may call the store.
func (s *ContentStore) Walk(ctx context.Context, fn content.WalkFunc, fltrs ...string) error {
	ns, err := s.namespace(ctx)
	if err != nil {
		return err
	}
	filter, err := filters.Parse(fltrs...)
	if err != nil {
		return err
	}
	var infos []content.Info
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		bb := blobBucket(tx, ns)
		if bb == nil {
			return nil
		}
		return bb.ForEachBucket(func(k []byte) error {
			info := readInfo(digest.Digest(k), bb.Bucket(k))
			if filter.Match(content.InfoAdaptor(info)) {
				infos = append(infos, info)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the blob from the namespace, and from disk when no other
// namespace holds it.
func (s *ContentStore) Delete(ctx context.Context, d digest.Digest) error {
	ns, err := s.namespace(ctx)
	if err != nil {
		return err
	}
	if err := content.ValidateDigest(d); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		bb := blobBucket(tx, ns)
		if bb == nil || bb.Bucket([]byte(d)) == nil {
			return notFound(d, ns)
		}
		if err := bb.DeleteBucket([]byte(d)); err != nil {
			return err
		}
		for _, other := range namespaceNames(tx) {
			if ob := blobBucket(tx, other); ob != nil && ob.Bucket([]byte(d)) != nil {
				return nil // still held elsewhere
			}
		}
		// Inside the transaction, so that no commit in another process
		// can record the blob between this check and the removal.
		if err := s.backend.Delete(ctx, d); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		return nil
	})
}

// check fails with NotFound unless the namespace holds the blob.
func (s *ContentStore) check(ctx context.Context, d digest.Digest) error {
	_, err := s.Info(ctx, d)
	return err
}

// ReaderAt opens a blob of the namespace.
func (s *ContentStore) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	if err := s.check(ctx, desc.Digest); err != nil {
		return nil, err
	}
	return s.backend.ReaderAt(ctx, desc)
}

// BlobPath returns the path of a blob of the namespace, when the backend
// keeps blobs in files.
func (s *ContentStore) BlobPath(ctx context.Context, d digest.Digest) (string, error) {
	if err := s.check(ctx, d); err != nil {
		return "", err
	}
	pp, ok := s.backend.(content.PathProvider)
	if !ok {
		return "", fmt.Errorf("content %s: the store keeps no files: %w", d, errdefs.ErrNotImplemented)
	}
	return pp.BlobPath(ctx, d)
}

// The backend's ingest refs are the namespace's refs prefixed with
// "<namespace>/"; namespace names cannot contain a slash.
func backendRef(ns, ref string) string { return ns + "/" + ref }

// refError is a backend error told with the caller's ref in place of the
// backend's. It unwraps to the backend error, so its kind is kept.
type refError struct {
	msg string
	err error
}

func (e *refError) Error() string { return e.msg }
func (e *refError) Unwrap() error { return e.err }

// callerRef rewrites err to name ref where it names the backend's bref.
func callerRef(err error, bref, ref string) error {
	if err == nil || !strings.Contains(err.Error(), bref) {
		return err
	}
	return &refError{msg: strings.ReplaceAll(err.Error(), bref, ref), err: err}
}

func (s *ContentStore) refs(ctx context.Context, ref string) (ns, bref string, err error) {
	if ns, err = s.namespace(ctx); err != nil {
		return "", "", err
	}
	if err := content.ValidateRef(ref); err != nil {
		return "", "", err
	}
	return ns, backendRef(ns, ref), nil
}

// Status describes an ingest of the namespace.
func (s *ContentStore) Status(ctx context.Context, ref string) (content.Status, error) {
	_, bref, err := s.refs(ctx, ref)
	if err != nil {
		return content.Status{}, err
	}
	st, err := s.backend.Status(ctx, bref)
	if err != nil {
		return content.Status{}, callerRef(err, bref, ref)
	}
	st.Ref = ref
	return st, nil
}

// ListStatuses describes the namespace's ingests, in ref order.
func (s *ContentStore) ListStatuses(ctx context.Context, fltrs ...string) ([]content.Status, error) {
	ns, err := s.namespace(ctx)
	if err != nil {
		return nil, err
	}
	filter, err := filters.Parse(fltrs...)
	if err != nil {
		return nil, err
	}
	all, err := s.backend.ListStatuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []content.Status
	prefix := backendRef(ns, "")
	for _, st := range all {
		if !strings.HasPrefix(st.Ref, prefix) {
			continue
		}
		st.Ref = strings.TrimPrefix(st.Ref, prefix)
		if filter.Match(content.StatusAdaptor(st)) {
			out = append(out, st)
		}
	}
	return out, nil
}

// Abort discards an ingest of the namespace.
func (s *ContentStore) Abort(ctx context.Context, ref string) error {
	_, bref, err := s.refs(ctx, ref)
	if err != nil {
		return err
	}
	return callerRef(s.backend.Abort(ctx, bref), bref, ref)
}

// Writer opens a writer for an ingest of the namespace. A digest the
// namespace already holds is AlreadyExists; one that only another
// namespace holds must be written in full, which proves the caller has it.
func (s *ContentStore) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	wo, err := content.MakeWriterOpts(opts...)
	if err != nil {
		return nil, err
	}
	ns, bref, err := s.refs(ctx, wo.Ref)
	if err != nil {
		return nil, err
	}
	lease, leased := leases.FromContext(ctx)
	if d := wo.Desc.Digest; d != "" && !leased {
		if err := s.check(ctx, d); err == nil {
			return nil, fmt.Errorf("content %s in namespace %s: %w", d, ns, errdefs.ErrAlreadyExists)
		} else if !errdefs.IsNotFound(err) {
			return nil, err
		}
	}
	if leased {
		// Under a lease, one write transaction checks the lease and
		// records in it the blob the namespace holds already, or else
		// the ingest about to be written.
		held, err := s.leaseWriter(ctx, ns, lease, wo.Desc.Digest, wo.Ref)
		if err != nil {
			return nil, err
		}
		if held {
			return nil, fmt.Errorf("content %s in namespace %s: %w", wo.Desc.Digest, ns, errdefs.ErrAlreadyExists)
		}
	}
	w, err := s.backend.Writer(ctx, content.WithRef(bref), content.WithDescriptor(wo.Desc))
	if errdefs.IsAlreadyExists(err) {
		// On disk: committed for another namespace, or for this one by a
		// writer whose record is not in yet (the backend lets go of the
		// ingest inside the recording transaction). A write transaction
		// waits for that one; only then is the namespace's answer final.
		held, herr := s.heldAfterWriters(ctx, ns, lease, wo.Desc.Digest)
		if herr != nil {
			return nil, herr
		}
		if held {
			return nil, fmt.Errorf("content %s in namespace %s: %w", wo.Desc.Digest, ns, errdefs.ErrAlreadyExists)
		}
		// Another namespace's: this one writes it all the same.
		desc := wo.Desc
		desc.Digest = ""
		w, err = s.backend.Writer(ctx, content.WithRef(bref), content.WithDescriptor(desc))
	}
	if err != nil {
		return nil, callerRef(err, bref, wo.Ref)
	}
	return &nsWriter{Writer: w, s: s, ns: ns, ref: wo.Ref, bref: bref, lease: lease}, nil
}

// heldAfterWriters reports whether the namespace holds d, asked in a
// write transaction so that commits under way, in this process or
// another, are finished first. When it does and lease is not empty, the
// lease is made to hold it.
func (s *ContentStore) heldAfterWriters(ctx context.Context, ns, lease string, d digest.Digest) (bool, error) {
	var held bool
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		bb := blobBucket(tx, ns)
		held = bb != nil && bb.Bucket([]byte(d)) != nil
		if held && lease != "" {
			return addResource(tx, ns, lease, leases.Resource{ID: d.String(), Type: leases.ResourceContent})
		}
		return nil
	})
	return held, err
}

// leaseWriter records a writer's work in lease: the blob d when the
// namespace holds it already (and then reports held), else the ingest
// ref. A missing lease is NotFound.
func (s *ContentStore) leaseWriter(ctx context.Context, ns, lease string, d digest.Digest, ref string) (bool, error) {
	var held bool
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		if d != "" {
			bb := blobBucket(tx, ns)
			if held = bb != nil && bb.Bucket([]byte(d)) != nil; held {
				return addResource(tx, ns, lease, leases.Resource{ID: d.String(), Type: leases.ResourceContent})
			}
		}
		return addResource(tx, ns, lease, leases.Resource{ID: ref, Type: leases.ResourceIngest})
	})
	return held, err
}

type nsWriter struct {
	content.Writer
	s     *ContentStore
	ns    string
	ref   string
	bref  string
	lease string // the lease of the context the writer was opened with
}

func (w *nsWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	return n, callerRef(err, w.bref, w.ref)
}

// ReadFrom passes the backend writer's fast path through.
func (w *nsWriter) ReadFrom(r io.Reader) (int64, error) {
	var (
		n   int64
		err error
	)
	if rf, ok := w.Writer.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.Writer, r)
	}
	return n, callerRef(err, w.bref, w.ref)
}

func (w *nsWriter) Truncate(size int64) error {
	return callerRef(w.Writer.Truncate(size), w.bref, w.ref)
}

func (w *nsWriter) Status() (content.Status, error) {
	st, err := w.Writer.Status()
	st.Ref = w.ref
	return st, callerRef(err, w.bref, w.ref)
}

// syncer is implemented by backend writers that can make their data
// durable ahead of Commit, so that the commit holds the database briefly.
type syncer interface{ Sync() error }

// Commit commits the blob in the backend and records it in the namespace,
// in one database transaction.
func (w *nsWriter) Commit(ctx context.Context, size int64, expected digest.Digest, opts ...content.Opt) error {
	o, err := content.MakeOpts(opts...)
	if err != nil {
		return err
	}
	if sy, ok := w.Writer.(syncer); ok {
		if err := sy.Sync(); err != nil {
			return callerRef(err, w.bref, w.ref)
		}
	}
	d := expected
	if d == "" {
		d = w.Writer.Digest()
	}
	lease := w.lease
	if l, ok := leases.FromContext(ctx); ok {
		lease = l
	}
	return callerRef(w.commit(ctx, size, expected, d, o.Labels, lease), w.bref, w.ref)
}

// commit commits the backend's blob and records it, and in lease when
// there is one, in one transaction: no collection can come between.
func (w *nsWriter) commit(ctx context.Context, size int64, expected, d digest.Digest, labels map[string]string, lease string) error {
	exists := false
	err := w.s.db.Update(ctx, func(tx *bolt.Tx) error {
		if lease != "" && leaseBucket(tx, w.ns, lease) == nil {
			return leaseNotFound(lease, w.ns)
		}
		cerr := w.Writer.Commit(ctx, size, expected)
		if cerr != nil && !errdefs.IsAlreadyExists(cerr) {
			return cerr
		}
		bb, err := createBucket(tx, bucketV1, []byte(w.ns), bucketContent, bucketBlob)
		if err != nil {
			return err
		}
		if bb.Bucket([]byte(d)) != nil {
			// Another writer of the namespace was first. The lease
			// holds the blob all the same: this writer's user counts
			// on it.
			exists = true
			return w.leaseBlob(tx, d, lease)
		}
		// Committed now, or already on disk for another namespace: the
		// bytes written matched d either way.
		info, err := w.s.backend.Info(ctx, d)
		if err != nil {
			return fmt.Errorf("content %s: after commit: %w", d, err)
		}
		b, err := bb.CreateBucket([]byte(d))
		if err != nil {
			return err
		}
		now := time.Now()
		if err := putInt(b, keySize, info.Size); err != nil {
			return err
		}
		if err := putTime(b, keyCreatedAt, now); err != nil {
			return err
		}
		if err := putTime(b, keyUpdatedAt, now); err != nil {
			return err
		}
		if err := writeLabels(b, labels); err != nil {
			return err
		}
		return w.leaseBlob(tx, d, lease)
	})
	if err == nil && exists {
		err = fmt.Errorf("content %s in namespace %s: %w", d, w.ns, errdefs.ErrAlreadyExists)
	}
	return err
}

// leaseBlob makes lease, if any, hold the blob d in place of the
// writer's ingest.
func (w *nsWriter) leaseBlob(tx *bolt.Tx, d digest.Digest, lease string) error {
	if lease == "" {
		return nil
	}
	if err := addResource(tx, w.ns, lease, leases.Resource{ID: d.String(), Type: leases.ResourceContent}); err != nil {
		return err
	}
	return removeResource(tx, w.ns, lease, leases.Resource{ID: w.ref, Type: leases.ResourceIngest})
}
