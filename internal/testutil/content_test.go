package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkImage validates a random image: every descriptor matches its blob,
// the config's diffIDs are the digests of the uncompressed layers, and each
// layer holds its files.
func checkImage(t *testing.T, img Image, platform ocispec.Platform, layerSize int) {
	t.Helper()
	for d, b := range img.Blobs {
		if digest.FromBytes(b) != d {
			t.Fatalf("Blobs[%s] holds bytes of another digest", d)
		}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(img.Blobs[img.Manifest.Digest], &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != ocispec.MediaTypeImageManifest || m.SchemaVersion != 2 || m.Config.Digest != img.Config.Digest || len(m.Layers) != len(img.Layers) {
		t.Fatalf("manifest = %+v", m)
	}
	var config ocispec.Image
	if err := json.Unmarshal(img.Blobs[img.Config.Digest], &config); err != nil {
		t.Fatal(err)
	}
	if config.OS != platform.OS || config.Architecture != platform.Architecture || len(config.RootFS.DiffIDs) != len(img.Layers) {
		t.Fatalf("config = %+v", config)
	}
	for i, l := range img.Layers {
		if l.MediaType != ocispec.MediaTypeImageLayerGzip || l.Size != int64(len(img.Blobs[l.Digest])) {
			t.Fatalf("layer %d descriptor = %+v", i, l)
		}
		zr, err := gzip.NewReader(bytes.NewReader(img.Blobs[l.Digest]))
		if err != nil {
			t.Fatal(err)
		}
		tarball, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if got := digest.FromBytes(tarball); got != config.RootFS.DiffIDs[i] {
			t.Fatalf("layer %d diffID = %s, config says %s", i, got, config.RootFS.DiffIDs[i])
		}
		tr := tar.NewReader(bytes.NewReader(tarball))
		sizes := map[string]int64{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			sizes[h.Name] = h.Size
		}
		if len(sizes) != 3 || sizes[fmt.Sprintf("layer%d/data", i)] != int64(layerSize) {
			t.Fatalf("layer %d entries = %v", i, sizes)
		}
	}
}

func TestRandomImage(t *testing.T) {
	img := RandomImage(t, 3, 2048)
	checkImage(t, img, ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}, 2048)
	if len(img.Blobs) != 5 || img.Platforms != nil {
		t.Fatalf("Blobs has %d entries, Platforms %v; want 5 and none", len(img.Blobs), img.Platforms)
	}
	if other := RandomImage(t, 3, 2048); other.Manifest.Digest == img.Manifest.Digest {
		t.Fatal("two random images are the same")
	}
	if empty := RandomImage(t, 0, 0); len(empty.Layers) != 0 || len(empty.Blobs) != 2 {
		t.Fatalf("RandomImage(0, 0) = %+v", empty)
	}
}

func TestRandomIndex(t *testing.T) {
	idx := RandomIndex(t, 2, 100)
	var index ocispec.Index
	if err := json.Unmarshal(idx.Blobs[idx.Manifest.Digest], &index); err != nil {
		t.Fatal(err)
	}
	if idx.Manifest.MediaType != ocispec.MediaTypeImageIndex || index.MediaType != ocispec.MediaTypeImageIndex ||
		len(index.Manifests) != 2 || len(idx.Platforms) != 2 || idx.Config.Digest != "" {
		t.Fatalf("index = %+v, image %+v", index, idx)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		want := ocispec.Platform{OS: "linux", Architecture: arch}
		if d := index.Manifests[i]; d.Platform == nil || d.Platform.OS != want.OS || d.Platform.Architecture != want.Architecture || d.Digest != idx.Platforms[i].Manifest.Digest {
			t.Fatalf("index manifest %d = %+v", i, d)
		}
		checkImage(t, idx.Platforms[i], want, 100)
		for d := range idx.Platforms[i].Blobs {
			if _, ok := idx.Blobs[d]; !ok {
				t.Fatalf("index Blobs lacks %s", d)
			}
		}
	}
}
