package containerd

import (
	"context"
	"fmt"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/unpack"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/snapshot"
)

// LabelSnapshotRefPrefix, followed by a snapshotter's name, is the label
// an unpacked image's config blob carries: its value is the ChainID of
// the image's top layer snapshot, so garbage collection can follow the
// image to its snapshots.
const LabelSnapshotRefPrefix = "containerd.io/gc.ref.snapshot."

// UnpackOpt configures an unpack.
type UnpackOpt func(*unpackOpts) error

type unpackOpts struct {
	limit int
}

// WithUnpackLimit sets how many layers are applied at once; the default
// is unpack.DefaultLimit (3). Snapshotters that cannot apply a layer
// before its parent (native) apply one at a time whatever the limit.
func WithUnpackLimit(n int) UnpackOpt {
	return func(o *unpackOpts) error {
		if n < 1 {
			return fmt.Errorf("unpack limit %d: must be at least 1: %w", n, errdefs.ErrInvalidArgument)
		}
		o.limit = n
		return nil
	}
}

// WithPullUnpack unpacks the pulled image into the snapshotter of
// WithPullSnapshotter (the client's default without it) as it downloads:
// a layer is applied as soon as its blob is in, while later ones still
// come. The pull's image record is stored only once the unpack is done.
func WithPullUnpack(rc *remoteContext) error {
	rc.unpack = true
	return nil
}

// WithPullSnapshotter names the snapshotter WithPullUnpack unpacks into.
func WithPullSnapshotter(name string) RemoteOpt {
	return func(rc *remoteContext) error {
		if name == "" {
			return fmt.Errorf("pull snapshotter: empty name: %w", errdefs.ErrInvalidArgument)
		}
		rc.snapshotter = name
		return nil
	}
}

// Unpack unpacks the image's layers for its platform into the snapshotter
// called snapshotterName ("" for the client's default). Layers already
// unpacked are skipped. It works under the lease of ctx, or one of its
// own deleted at the end.
func (i *image) Unpack(ctx context.Context, snapshotterName string, opts ...UnpackOpt) error {
	var o unpackOpts
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	ctx, done, err := i.c.withTempLease(ctx, "unpack "+i.i.Name)
	if err != nil {
		return err
	}
	defer done()
	manifest, err := images.Manifest(ctx, i.c.ContentStore(), i.i.Target, i.platform)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", i.i.Name, err)
	}
	_, err = i.c.unpack(ctx, manifest, snapshotterName, o, nil)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", i.i.Name, err)
	}
	return nil
}

// IsUnpacked reports whether the image's top layer snapshot is committed
// in the snapshotter called snapshotterName ("" for the default).
func (i *image) IsUnpacked(ctx context.Context, snapshotterName string) (bool, error) {
	sn, err := i.c.snapshotter(snapshotterName)
	if err != nil {
		return false, err
	}
	diffIDs, err := i.RootFS(ctx)
	if err != nil {
		return false, err
	}
	if len(diffIDs) == 0 {
		return true, nil // nothing to unpack
	}
	info, err := sn.Stat(ctx, images.ChainID(diffIDs).String())
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Kind == snapshot.KindCommitted, nil
}

// unpack unpacks manifest's layers into the snapshotter name and labels
// the config blob with the top snapshot. ready, when not nil, tells when a
// blob is in the store. The lease of ctx, if any, is made to hold the
// config, the layers and every layer's snapshot first: a layer unpacked
// already, which this unpack builds on, cannot be collected meanwhile.
func (c *Client) unpack(ctx context.Context, manifest ocispec.Manifest, name string, o unpackOpts, ready func(context.Context, ocispec.Descriptor) error) (digest.Digest, error) {
	sn, err := c.snapshotter(name)
	if err != nil {
		return "", err
	}
	if name == "" {
		name = c.DefaultSnapshotter()
	}
	if ready != nil {
		if err := ready(ctx, manifest.Config); err != nil {
			return "", err
		}
	}
	config, err := images.ReadConfig(ctx, c.ContentStore(), manifest.Config)
	if err != nil {
		return "", err
	}
	diffIDs := config.RootFS.DiffIDs
	if len(manifest.Layers) == 0 {
		return "", nil // nothing to unpack
	}
	var layers []unpack.Layer
	for _, l := range manifest.Layers {
		if images.IsNonDistributableType(l.MediaType) {
			return "", fmt.Errorf("layer %s: non-distributable layers (%s) cannot be unpacked: %w", l.Digest, l.MediaType, errdefs.ErrNotImplemented)
		}
		layers = append(layers, unpack.Layer{Blob: l})
	}
	if len(diffIDs) != len(layers) {
		return "", fmt.Errorf("manifest has %d layers, its config %d diffIDs: %w", len(layers), len(diffIDs), errdefs.ErrInvalidArgument)
	}
	for n := range layers {
		layers[n].DiffID = diffIDs[n]
	}
	held := []leases.Resource{{ID: manifest.Config.Digest.String(), Type: leases.ResourceContent}}
	for n, id := range images.ChainIDs(diffIDs) {
		held = append(held, leases.Resource{ID: layers[n].Blob.Digest.String(), Type: leases.ResourceContent},
			leases.Resource{ID: id.String(), Type: leases.Snapshots(name)})
	}
	if err := c.leaseResources(ctx, held...); err != nil {
		return "", err
	}
	var uopts []unpack.Opt
	if o.limit > 0 {
		uopts = append(uopts, unpack.WithLimit(o.limit))
	}
	if ready != nil {
		uopts = append(uopts, unpack.WithReady(ready))
	}
	top, err := c.unpacker.Unpack(ctx, c.ContentStore(), sn, layers, uopts...)
	if err != nil {
		return "", err
	}
	label := LabelSnapshotRefPrefix + name
	info := content.Info{Digest: manifest.Config.Digest, Labels: map[string]string{label: top.String()}}
	if _, err := c.ContentStore().Update(ctx, info, "labels."+label); err != nil {
		return "", fmt.Errorf("label config %s: %w", manifest.Config.Digest, err)
	}
	return top, nil
}

// blobWaiter tells when the blobs of a pull are in the store.
type blobWaiter struct {
	mu   sync.Mutex
	done map[digest.Digest]chan struct{}
}

func (w *blobWaiter) ch(d digest.Digest) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done == nil {
		w.done = map[digest.Digest]chan struct{}{}
	}
	ch, ok := w.done[d]
	if !ok {
		ch = make(chan struct{})
		w.done[d] = ch
	}
	return ch
}

// in marks d as in the store.
func (w *blobWaiter) in(d digest.Digest) {
	ch := w.ch(d)
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// wait returns once desc's blob is in the store.
func (w *blobWaiter) wait(ctx context.Context, desc ocispec.Descriptor) error {
	select {
	case <-w.ch(desc.Digest):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// pullUnpacker starts the unpack of a pull once its manifest is in.
type pullUnpacker struct {
	c        *Client
	rc       *remoteContext
	blobs    blobWaiter
	platform platforms.Matcher
	once     sync.Once
	wg       sync.WaitGroup
	err      error
}

// handler starts the unpack, in the background, when it sees the first
// manifest of the platform; the manifest must already be fetched.
func (pu *pullUnpacker) handler(ctx context.Context) func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return func(_ context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if !images.IsManifestType(d.MediaType) || (d.Platform != nil && !pu.platform.Match(*d.Platform)) {
			return nil, nil
		}
		pu.once.Do(func() {
			manifest, err := images.ReadManifest(ctx, pu.c.ContentStore(), d)
			if err != nil {
				pu.err = err
				return
			}
			pu.wg.Add(1)
			go func() {
				defer pu.wg.Done()
				_, pu.err = pu.c.unpack(ctx, manifest, pu.rc.snapshotter, unpackOpts{}, pu.blobs.wait)
			}()
		})
		return nil, nil
	}
}

// wait waits for the unpack and returns its error; started reports
// whether it ran at all.
func (pu *pullUnpacker) wait() (started bool, err error) {
	ran := true
	pu.once.Do(func() { ran = false })
	pu.wg.Wait()
	return ran, pu.err
}
