package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/archive"
	"github.com/daemonless/containerd/snapshot"
)

// DefaultLimit is how many layers are applied at once by default.
const DefaultLimit = 3

// Unpacker unpacks layers into snapshots. One Unpacker should serve a
// whole process (the client keeps one), so that its per-layer locks cover
// every unpack.
type Unpacker struct {
	locks keyedLocks
	seq   atomic.Uint64
}

// New returns an Unpacker.
func New() *Unpacker { return &Unpacker{} }

// Opt configures one Unpack.
type Opt func(*options) error

type options struct {
	limit  int
	ready  func(context.Context, ocispec.Descriptor) error
	labels map[string]string
	report func(Event)
}

// WithLimit sets how many layers are applied at once (DefaultLimit by
// default; 1 applies them one after the other).
func WithLimit(n int) Opt {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("unpack limit %d: must be at least 1: %w", n, errdefs.ErrInvalidArgument)
		}
		o.limit = n
		return nil
	}
}

// WithReady has each layer wait for ready(layer) to return before its
// blob is read: a pull passes a function that returns once the blob is
// committed. By default the blobs are taken to be in the store.
func WithReady(ready func(context.Context, ocispec.Descriptor) error) Opt {
	return func(o *options) error {
		o.ready = ready
		return nil
	}
}

// WithSnapshotLabels adds labels to every snapshot the unpack commits.
func WithSnapshotLabels(labels map[string]string) Opt {
	return func(o *options) error {
		o.labels = labels
		return nil
	}
}

// WithReport has fn told when each layer starts and ends.
func WithReport(fn func(Event)) Opt {
	return func(o *options) error {
		o.report = fn
		return nil
	}
}

// Event tells how one layer's unpack goes.
type Event struct {
	Layer   ocispec.Descriptor
	ChainID digest.Digest
	// State is "unpacking", "unpacked", "exists" or "failed".
	State string
	Err   error
}

// Layer is one layer to unpack: its blob and the diffID the image config
// gives for it.
type Layer struct {
	Blob   ocispec.Descriptor
	DiffID digest.Digest
}

// Unpack makes sure a committed snapshot exists in sn for each of layers
// (bottom first) and returns the ChainID of the top one. Blobs are read
// from p.
func (u *Unpacker) Unpack(ctx context.Context, p content.Provider, sn snapshot.Snapshotter, layers []Layer, opts ...Opt) (digest.Digest, error) {
	o := options{limit: DefaultLimit}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return "", err
		}
	}
	if len(layers) == 0 {
		return "", fmt.Errorf("unpack: image has no layers: %w", errdefs.ErrInvalidArgument)
	}
	diffIDs := make([]digest.Digest, len(layers))
	for i, l := range layers {
		if err := l.DiffID.Validate(); err != nil {
			return "", fmt.Errorf("unpack: layer %d diffID %q: %v: %w", i, l.DiffID, err, errdefs.ErrInvalidArgument)
		}
		diffIDs[i] = l.DiffID
	}
	chain := images.ChainIDs(diffIDs)
	top := chain[len(chain)-1]
	if exists(ctx, sn, top) {
		return top, nil
	}
	rebase := false
	if r, ok := sn.(snapshot.Rebaser); ok && r.CanRebase() {
		rebase = true
	}
	if rebase {
		u.shareExisting(ctx, sn, chain)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j := &job{u: u, p: p, sn: sn, o: o, layers: layers, chain: chain, rebase: rebase,
		committed: make([]chan struct{}, len(layers)), errs: make([]error, len(layers))}
	for i := range j.committed {
		j.committed[i] = make(chan struct{})
	}
	sem := make(chan struct{}, o.limit)
	// The first failure is the cause: it cancels the others, whose
	// errors are then mostly that cancellation.
	var (
		first     error
		firstOnce sync.Once
	)
	var wg sync.WaitGroup
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(j.committed[i])
			if err := j.layer(ctx, i, sem); err != nil {
				j.errs[i] = err
				firstOnce.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	if errors.Is(first, errAborted) && parent.Err() != nil {
		return "", parent.Err() // the caller gave up, no layer failed
	}
	if first != nil {
		return "", first
	}
	return top, nil
}

// shareExisting takes, bottom up, the layers that another namespace has
// already unpacked: a Prepare on the layer's parent labelled with its
// ChainID shares the committed snapshot and says AlreadyExists. Layers
// prepared for a rebase have no parent yet and could not be matched, so
// this runs before them. It stops at the first layer nobody has.
func (u *Unpacker) shareExisting(ctx context.Context, sn snapshot.Snapshotter, chain []digest.Digest) {
	for i, id := range chain {
		if exists(ctx, sn, id) {
			continue
		}
		parent := ""
		if i > 0 {
			parent = chain[i-1].String()
		}
		probe := fmt.Sprintf("share-%d-%d-%s", os.Getpid(), u.seq.Add(1), id.Encoded()[:12])
		_, err := sn.Prepare(ctx, probe, parent, snapshot.WithLabels(map[string]string{snapshot.LabelSnapshotRef: id.String()}))
		if errdefs.IsAlreadyExists(err) {
			continue
		}
		if err == nil {
			sn.Remove(ctx, probe)
		}
		return
	}
}

var errAborted = errors.New("unpack aborted: an earlier layer failed")

// job is one Unpack under way.
type job struct {
	u         *Unpacker
	p         content.Provider
	sn        snapshot.Snapshotter
	o         options
	layers    []Layer
	chain     []digest.Digest
	rebase    bool
	committed []chan struct{} // closed when layer i is committed, or failed
	errs      []error
}

// waitParent waits for layer i-1's snapshot and reports whether it is
// there.
func (j *job) waitParent(ctx context.Context, i int) error {
	if i == 0 {
		return nil
	}
	select {
	case <-j.committed[i-1]:
	case <-ctx.Done():
		return errAborted
	}
	if j.errs[i-1] != nil {
		return errAborted
	}
	return nil
}

func (j *job) report(i int, state string, err error) {
	if j.o.report != nil {
		j.o.report(Event{Layer: j.layers[i].Blob, ChainID: j.chain[i], State: state, Err: err})
	}
}

// layer brings layer i's snapshot into being.
func (j *job) layer(ctx context.Context, i int, sem chan struct{}) error {
	id := j.chain[i]
	unlock, err := j.u.locks.lock(ctx, id.String())
	if err != nil {
		return errAborted
	}
	defer unlock()
	if exists(ctx, j.sn, id) {
		j.report(i, "exists", nil)
		return nil
	}
	// Without rebase a layer is prepared on its parent, so it waits for
	// it before taking a slot.
	parent := ""
	if i > 0 {
		parent = j.chain[i-1].String()
	}
	if !j.rebase || i == 0 {
		if err := j.waitParent(ctx, i); err != nil {
			return err
		}
	}
	if j.o.ready != nil {
		if err := j.o.ready(ctx, j.layers[i].Blob); err != nil {
			return fmt.Errorf("layer %s: %w", j.layers[i].Blob.Digest, err)
		}
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return errAborted
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-sem
		}
	}
	defer release()

	j.report(i, "unpacking", nil)
	key := fmt.Sprintf("extract-%d-%d-%s", os.Getpid(), j.u.seq.Add(1), id.Encoded()[:12])
	prepParent := parent
	if j.rebase {
		prepParent = ""
	}
	labels := map[string]string{snapshot.LabelSnapshotRef: id.String()}
	mounts, err := j.sn.Prepare(ctx, key, prepParent, snapshot.WithLabels(labels))
	if errdefs.IsAlreadyExists(err) {
		// Another process made it (or shared it into this namespace).
		j.report(i, "exists", nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("layer %s: prepare: %w", j.layers[i].Blob.Digest, err)
	}
	done := false
	defer func() {
		if !done {
			j.sn.Remove(context.WithoutCancel(ctx), key)
		}
	}()
	res, err := j.apply(ctx, i, mounts)
	if err != nil {
		j.report(i, "failed", err)
		return err
	}
	release()
	if err := j.waitParent(ctx, i); err != nil {
		return err
	}
	if res.Pending() {
		if err := j.finish(ctx, i, key, res); err != nil {
			return err
		}
	}
	copts := []snapshot.Opt{snapshot.WithLabels(j.commitLabels(i))}
	if j.rebase && parent != "" {
		copts = append(copts, snapshot.WithParent(parent))
	}
	err = j.sn.Commit(ctx, id.String(), key, copts...)
	if errdefs.IsAlreadyExists(err) {
		j.report(i, "exists", nil)
		return nil // the deferred Remove drops our copy
	}
	if err != nil {
		return fmt.Errorf("layer %s: commit %s: %w", j.layers[i].Blob.Digest, id, err)
	}
	done = true
	j.report(i, "unpacked", nil)
	return nil
}

func (j *job) commitLabels(i int) map[string]string {
	labels := map[string]string{snapshot.LabelUncompressed: j.layers[i].DiffID.String()}
	for k, v := range j.o.labels {
		labels[k] = v
	}
	return labels
}

// target is where a layer is applied, read off the mounts of its
// snapshot.
type target struct {
	dir      string
	parents  []string
	whiteout archive.WhiteoutFormat
	cleanup  func() error
}

// targetOf decides how to apply into mounts: straight into the directory
// of a bind mount or an overlay's upperdir, or, for anything else,
// through a temporary mount.
func (j *job) targetOf(i int, mounts []snapshot.Mount) (target, error) {
	if len(mounts) == 1 {
		m := mounts[0]
		switch {
		case isBind(m):
			wf := archive.WhiteoutDelete
			if j.rebase && i > 0 {
				wf = archive.WhiteoutOverlay
			}
			return target{dir: m.Source, whiteout: wf}, nil
		case m.Type == "overlay":
			upper, ok := m.Option("upperdir")
			if !ok {
				break
			}
			lower, _ := m.Option("lowerdir")
			return target{dir: upper, parents: strings.Split(lower, ":"), whiteout: archive.WhiteoutOverlay}, nil
		}
	}
	dir, err := os.MkdirTemp("", "dctr-unpack-")
	if err != nil {
		return target{}, err
	}
	if err := snapshot.MountAll(mounts, dir); err != nil {
		os.Remove(dir)
		return target{}, err
	}
	return target{dir: dir, whiteout: archive.WhiteoutDelete, cleanup: func() error {
		if err := snapshot.UnmountAll(dir); err != nil {
			return err
		}
		return os.Remove(dir)
	}}, nil
}

// isBind reports whether m is a bind mount: its Source is the directory.
func isBind(m snapshot.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// apply reads layer i's blob once: decompress, hash, apply, then checks
// the diffID.
func (j *job) apply(ctx context.Context, i int, mounts []snapshot.Mount) (*archive.Result, error) {
	l := j.layers[i]
	t, err := j.targetOf(i, mounts)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Blob.Digest, err)
	}
	ra, err := j.p.ReaderAt(ctx, l.Blob)
	if err != nil {
		if t.cleanup != nil {
			t.cleanup()
		}
		return nil, fmt.Errorf("layer %s: %w", l.Blob.Digest, err)
	}
	aopts := []archive.ApplyOpt{archive.WithWhiteouts(t.whiteout)}
	if len(t.parents) > 0 {
		aopts = append(aopts, archive.WithParents(t.parents...))
	}
	res, err := archive.ApplyLayer(ctx, t.dir, io.NewSectionReader(ra, 0, ra.Size()), aopts...)
	ra.Close()
	if t.cleanup != nil {
		if cerr := t.cleanup(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", l.Blob.Digest, err)
	}
	if res.DiffID != l.DiffID {
		return nil, fmt.Errorf("layer %s: uncompressed digest %s, the image config says %s: %w",
			l.Blob.Digest, res.DiffID, l.DiffID, errdefs.ErrDataLoss)
	}
	return res, nil
}

// finish completes, once the parents are committed, what a layer applied
// before them left pending: it views the parent chain to learn its
// directories.
func (j *job) finish(ctx context.Context, i int, key string, res *archive.Result) error {
	mounts, err := j.sn.Mounts(ctx, key)
	if err != nil {
		return err
	}
	t, err := j.targetOf(i, mounts)
	if err != nil {
		return err
	}
	view := key + "-parents-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	pm, err := j.sn.View(ctx, view, j.chain[i-1].String())
	if err != nil {
		return fmt.Errorf("layer %s: view of its parents: %w", j.layers[i].Blob.Digest, err)
	}
	defer j.sn.Remove(context.WithoutCancel(ctx), view)
	var parents []string
	for _, m := range pm {
		if lower, ok := m.Option("lowerdir"); ok {
			parents = append(parents, strings.Split(lower, ":")...)
		} else if isBind(m) {
			parents = append(parents, m.Source)
		}
	}
	if err := res.Finish(ctx, t.dir, parents...); err != nil {
		return fmt.Errorf("layer %s: %w", j.layers[i].Blob.Digest, err)
	}
	return nil
}

// exists reports whether a committed snapshot named id is there.
func exists(ctx context.Context, sn snapshot.Snapshotter, id digest.Digest) bool {
	info, err := sn.Stat(ctx, id.String())
	return err == nil && info.Kind == snapshot.KindCommitted
}

// keyedLocks is a set of mutexes by key, each dropped when unused.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	drop := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; drop() }, nil
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
}
