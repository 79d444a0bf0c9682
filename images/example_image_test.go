package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

// Name the filesystem that a stack of layers makes: the chain ID of the
// bottom layer is its diff ID, and each layer above adds a link.
func ExampleChainID() {
	diffIDs := []digest.Digest{
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	}
	fmt.Println(images.ChainID(diffIDs[:1]))
	fmt.Println(images.ChainID(diffIDs))
	// The same, from the definition.
	fmt.Println(digest.FromString(string(diffIDs[0]) + " " + string(diffIDs[1])))
	// Output:
	// sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	// sha256:de9d9016b852e46e9f3973e20d3a6d17e120f7144931d50cd6e2a8ad53e81960
	// sha256:de9d9016b852e46e9f3973e20d3a6d17e120f7144931d50cd6e2a8ad53e81960
}

// Choose an image's manifest for a platform from its index, and see what
// an index offers when the platform is not there.
func ExampleManifest() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := local.NewStore(dir)
	if err != nil {
		panic(err)
	}

	// An index of two single-layer images, as a pull would have stored it.
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: images.MediaTypeOCIIndex}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		layer := storeBlob(ctx, store, images.MediaTypeOCILayerGzip, []byte("layer of "+p))
		config := storeBlob(ctx, store, images.MediaTypeOCIConfig, ocispec.Image{
			Platform: platforms.MustParse(p),
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("diff of " + p)}},
		})
		manifest := storeBlob(ctx, store, images.MediaTypeOCIManifest, ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: images.MediaTypeOCIManifest,
			Config:    config,
			Layers:    []ocispec.Descriptor{layer},
		})
		platform := platforms.MustParse(p)
		manifest.Platform = &platform
		index.Manifests = append(index.Manifests, manifest)
	}
	target := storeBlob(ctx, store, images.MediaTypeOCIIndex, index)

	m, err := images.Manifest(ctx, store, target, platforms.Only(platforms.MustParse("linux/aarch64")))
	if err != nil {
		panic(err)
	}
	cfg, err := images.ReadConfig(ctx, store, m.Config)
	if err != nil {
		panic(err)
	}
	fmt.Println(platforms.Format(cfg.Platform), len(m.Layers), "layer")

	_, err = images.Manifest(ctx, store, target, platforms.Only(platforms.MustParse("linux/s390x")))
	fmt.Println(errdefs.IsNotFound(err))
	_, msg, _ := strings.Cut(err.Error(), ": ")
	fmt.Println(msg)
	// Output:
	// linux/arm64 1 layer
	// true
	// no manifest for linux/s390x; the index has linux/amd64, linux/arm64: not found
}

// storeBlob stores v, bytes or a value to encode as JSON, as a blob of media
// type mt.
func storeBlob(ctx context.Context, s content.Ingester, mt string, v any) ocispec.Descriptor {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(err)
		}
	}
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(ctx, s, "example-"+desc.Digest.Encoded(), bytes.NewReader(b), desc); err != nil {
		panic(err)
	}
	return desc
}
