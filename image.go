package containerd

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

// Image is an image of the client's store, seen for one platform.
type Image interface {
	// Name is the image's name ("docker.io/library/redis:7").
	Name() string
	// Target is the descriptor of its manifest or index.
	Target() ocispec.Descriptor
	// Labels are the image record's labels.
	Labels() map[string]string
	// Metadata is the whole image record.
	Metadata() images.Image
	// Platform chooses the manifest of an index.
	Platform() platforms.MatchComparer
	// Config decodes the image configuration of the platform's manifest.
	Config(ctx context.Context) (ocispec.Image, error)
	// RootFS returns the platform's layer diffIDs, in order.
	RootFS(ctx context.Context) ([]digest.Digest, error)
	// Size is the full size of the platform's image: the target, the
	// manifest, the config and every layer.
	Size(ctx context.Context) (int64, error)
	// ContentStore is the store holding the image's content.
	ContentStore() content.Store
	// Unpack unpacks the platform's layers into the snapshotter called
	// snapshotterName ("" for the client's default), one committed
	// snapshot per layer named by its ChainID; layers already unpacked
	// are skipped.
	Unpack(ctx context.Context, snapshotterName string, opts ...UnpackOpt) error
	// IsUnpacked reports whether the platform's top layer snapshot is
	// committed in that snapshotter.
	IsUnpacked(ctx context.Context, snapshotterName string) (bool, error)
}

type image struct {
	c        *Client
	i        images.Image
	platform platforms.MatchComparer
}

var _ Image = (*image)(nil)

// NewImage returns the Image of a record of the client's store, for the
// host's platform.
func NewImage(c *Client, i images.Image) Image {
	return &image{c: c, i: i, platform: platforms.Default()}
}

// NewImageWithPlatform is NewImage for the platforms p matches.
func NewImageWithPlatform(c *Client, i images.Image, p platforms.MatchComparer) Image {
	return &image{c: c, i: i, platform: p}
}

func (i *image) Name() string                      { return i.i.Name }
func (i *image) Target() ocispec.Descriptor        { return i.i.Target }
func (i *image) Labels() map[string]string         { return i.i.Labels }
func (i *image) Metadata() images.Image            { return i.i }
func (i *image) Platform() platforms.MatchComparer { return i.platform }
func (i *image) ContentStore() content.Store       { return i.c.ContentStore() }

func (i *image) Config(ctx context.Context) (ocispec.Image, error) {
	desc, err := images.Config(ctx, i.c.ContentStore(), i.i.Target, i.platform)
	if err != nil {
		return ocispec.Image{}, err
	}
	return images.ReadConfig(ctx, i.c.ContentStore(), desc)
}

func (i *image) RootFS(ctx context.Context) ([]digest.Digest, error) {
	desc, err := images.Config(ctx, i.c.ContentStore(), i.i.Target, i.platform)
	if err != nil {
		return nil, err
	}
	return images.RootFS(ctx, i.c.ContentStore(), desc)
}

func (i *image) Size(ctx context.Context) (int64, error) {
	return images.Size(ctx, i.c.ContentStore(), i.i.Target, i.platform)
}

// GetImage returns the image named name, for the host's platform. A
// missing one is NotFound.
func (c *Client) GetImage(ctx context.Context, name string) (Image, error) {
	rec, err := c.images.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return NewImage(c, rec), nil
}

// ListImages returns the images matching any of the filters (see
// images.Store), in name order.
func (c *Client) ListImages(ctx context.Context, filters ...string) ([]Image, error) {
	recs, err := c.images.List(ctx, filters...)
	if err != nil {
		return nil, err
	}
	out := make([]Image, len(recs))
	for n, r := range recs {
		out[n] = NewImage(c, r)
	}
	return out, nil
}
