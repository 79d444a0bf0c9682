package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

// newStore opens a content store in a temporary directory.
func newStore(t testing.TB) content.Store {
	t.Helper()
	s, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatalf("local.NewStore = %v", err)
	}
	return s
}

// put stores b as a blob of media type mt and returns its descriptor.
func put(t testing.TB, s content.Ingester, mt string, b []byte) ocispec.Descriptor {
	t.Helper()
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(context.Background(), s, "test-"+desc.Digest.Encoded(), bytes.NewReader(b), desc); err != nil {
		t.Fatalf("WriteBlob(%s) = %v", desc.Digest, err)
	}
	return desc
}

// putJSON stores v as JSON, a blob of media type mt.
func putJSON(t testing.TB, s content.Ingester, mt string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return put(t, s, mt, b)
}

// testImage is an image stored by buildIndex: an index of one manifest
// per platform, each with a config and two layers, the first layer shared
// by all.
type testImage struct {
	index     ocispec.Descriptor
	platforms []string
	manifests map[string]ocispec.Descriptor // by platform; with Platform as in the index
	configs   map[string]ocispec.Descriptor
	layers    map[string][]ocispec.Descriptor
	diffIDs   map[string][]digest.Digest
	shared    ocispec.Descriptor
}

// buildIndex stores an image with a manifest for each of plats.
func buildIndex(t testing.TB, s content.Ingester, plats ...string) testImage {
	t.Helper()
	img := testImage{
		platforms: plats,
		manifests: map[string]ocispec.Descriptor{},
		configs:   map[string]ocispec.Descriptor{},
		layers:    map[string][]ocispec.Descriptor{},
		diffIDs:   map[string][]digest.Digest{},
	}
	img.shared = put(t, s, images.MediaTypeOCILayerGzip, []byte("the shared base layer"))
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: images.MediaTypeOCIIndex}
	for _, ps := range plats {
		m, cfg, layers, diffIDs := buildManifest(t, s, ps, img.shared)
		p := platforms.MustParse(ps)
		m.Platform = &p
		img.manifests[ps], img.configs[ps], img.layers[ps], img.diffIDs[ps] = m, cfg, layers, diffIDs
		idx.Manifests = append(idx.Manifests, m)
	}
	img.index = putJSON(t, s, images.MediaTypeOCIIndex, idx)
	return img
}

// buildManifest stores a manifest for platform ps with a config and two
// layers, shared and one of its own, and returns their descriptors.
func buildManifest(t testing.TB, s content.Ingester, ps string, shared ocispec.Descriptor) (m, cfg ocispec.Descriptor, layers []ocispec.Descriptor, diffIDs []digest.Digest) {
	t.Helper()
	own := put(t, s, images.MediaTypeOCILayerGzip, []byte("the layer of "+ps))
	layers = []ocispec.Descriptor{shared, own}
	diffIDs = []digest.Digest{digest.FromString("diff of the shared base layer"), digest.FromString("diff of the layer of " + ps)}
	config := ocispec.Image{
		Platform: platforms.MustParse(ps),
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
	cfg = putJSON(t, s, images.MediaTypeOCIConfig, config)
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: images.MediaTypeOCIManifest,
		Config:    cfg,
		Layers:    layers,
	}
	m = putJSON(t, s, images.MediaTypeOCIManifest, manifest)
	return m, cfg, layers, diffIDs
}

// memProvider serves blobs from memory, whatever their digest.
type memProvider map[digest.Digest][]byte

func (m memProvider) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	b, ok := m[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("content %s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	return nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// digests lists the digests of descs.
func digests(descs []ocispec.Descriptor) []digest.Digest {
	ds := make([]digest.Digest, len(descs))
	for i, d := range descs {
		ds[i] = d.Digest
	}
	return ds
}
