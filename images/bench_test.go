package images_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/images"
)

// BenchmarkReadManifestBig reads a manifest near MaxManifestSize (20,000
// layers, 3.5 MB), the worst case a registry can make ReadManifest check.
func BenchmarkReadManifestBig(b *testing.B) {
	s := newStore(b)
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: images.MediaTypeOCIManifest,
		Config: ocispec.Descriptor{MediaType: images.MediaTypeOCIConfig, Digest: digest.FromString("c"), Size: 1}}
	for i := range 20000 {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: images.MediaTypeOCILayerGzip, Digest: digest.FromString(fmt.Sprint(i)), Size: 1, Annotations: map[string]string{"a": "b"}})
	}
	d := putJSON(b, s, images.MediaTypeOCIManifest, m)
	b.ResetTimer()
	for b.Loop() {
		if _, err := images.ReadManifest(context.Background(), s, d); err != nil {
			b.Fatal(err)
		}
	}
}
