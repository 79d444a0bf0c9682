package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Entry is one tar entry of a layer made by [Layer]: a header and, for a
// regular file, its body (the header's Size is set from it).
type Entry struct {
	Header tar.Header
	Body   []byte
}

// Dir, File, Symlink and Hardlink are shorthands for common entries, owned
// by root, with the fixed creation time of test images.
func Dir(name string, mode int64) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

// File is a regular file entry holding body.
func File(name string, mode int64, body string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, Body: []byte(body)}
}

// Symlink is a symbolic link entry name -> target.
func Symlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

// Hardlink is a hard link entry name to the earlier entry target.
func Hardlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

// Tar returns the tar stream of entries, in PAX format.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.Header
		if h.ModTime.IsZero() {
			h.ModTime = created
		}
		h.Format = tar.FormatPAX
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar entry %q: %v", h.Name, err)
		}
		if _, err := tw.Write(e.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes()
}

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return gz.Bytes()
}

// LayerImage returns an OCI image for linux and the running GOARCH whose
// layers, base first, are the gzip-compressed tars of the given entry
// lists; the config's rootfs lists their diffIDs.
func LayerImage(t testing.TB, layers ...[]Entry) Image {
	t.Helper()
	tars := make([][]byte, len(layers))
	for i, entries := range layers {
		tars[i] = Tar(t, entries...)
	}
	return TarImage(t, tars...)
}

// TarImage is LayerImage for ready-made tar streams, each gzip-compressed.
func TarImage(t testing.TB, tars ...[]byte) Image {
	t.Helper()
	img := Image{Blobs: map[digest.Digest][]byte{}, Layers: []ocispec.Descriptor{}}
	diffIDs := []digest.Digest{}
	for _, tb := range tars {
		diffIDs = append(diffIDs, digest.FromBytes(tb))
		img.Layers = append(img.Layers, img.add(ocispec.MediaTypeImageLayerGzip, Gzip(t, tb)))
	}
	return img.withConfig(t, diffIDs, ocispec.ImageConfig{Cmd: []string{"/bin/sh"}})
}

// WithDiffIDs returns img (a single image) with its config's diffIDs
// replaced: a config that lies about its layers.
func (img Image) WithDiffIDs(t testing.TB, diffIDs ...digest.Digest) Image {
	t.Helper()
	out := Image{Blobs: map[digest.Digest][]byte{}, Layers: img.Layers}
	for _, l := range img.Layers {
		out.Blobs[l.Digest] = img.Blobs[l.Digest]
	}
	return out.withConfig(t, diffIDs, img.imageConfig(t).Config)
}

// WithImageConfig returns img (a single image) with cfg as its config's
// runtime configuration (Entrypoint, Cmd, Env, User, WorkingDir...).
func (img Image) WithImageConfig(t testing.TB, cfg ocispec.ImageConfig) Image {
	t.Helper()
	out := Image{Blobs: map[digest.Digest][]byte{}, Layers: img.Layers}
	for _, l := range img.Layers {
		out.Blobs[l.Digest] = img.Blobs[l.Digest]
	}
	return out.withConfig(t, img.imageConfig(t).RootFS.DiffIDs, cfg)
}

// imageConfig decodes img's config.
func (img Image) imageConfig(t testing.TB) ocispec.Image {
	t.Helper()
	var c ocispec.Image
	if err := json.Unmarshal(img.Blobs[img.Config.Digest], &c); err != nil {
		t.Fatalf("image config: %v", err)
	}
	return c
}

// withConfig adds to img, whose layers are set, a config listing diffIDs
// and the manifest.
func (img Image) withConfig(t testing.TB, diffIDs []digest.Digest, cfg ocispec.ImageConfig) Image {
	t.Helper()
	img.Config = img.addJSON(t, ocispec.MediaTypeImageConfig, ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	img.Manifest = img.addJSON(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    img.Config,
		Layers:    img.Layers,
	})
	return img
}
