package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushBlob uploads data to repo on the registry at host ("127.0.0.1:PORT",
// plain HTTP) as one monolithic upload (POST, then PUT with the digest),
// and returns its descriptor, with media type application/octet-stream.
// It fails the test unless the registry accepts the blob under its digest.
func PushBlob(t testing.TB, host, repo string, data []byte, opts ...PushOpt) ocispec.Descriptor {
	t.Helper()
	desc := ocispec.Descriptor{
		MediaType: "application/octet-stream",
		Digest:    digest.FromBytes(data),
		Size:      int64(len(data)),
	}
	client := newPushClient(opts)
	base := &url.URL{Scheme: "http", Host: host}

	start := base.JoinPath("v2", repo, "blobs", "uploads").String() + "/"
	resp := do(t, client, http.MethodPost, start, "", nil, http.StatusAccepted)
	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		t.Fatalf("POST %s: Location %q: %v", start, resp.Header.Get("Location"), err)
	}
	q := loc.Query()
	q.Set("digest", desc.Digest.String())
	loc.RawQuery = q.Encode()

	resp = do(t, client, http.MethodPut, loc.String(), "application/octet-stream", data, http.StatusCreated)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != desc.Digest.String() {
		t.Fatalf("PUT %s: Docker-Content-Digest = %s, want %s", loc, got, desc.Digest)
	}
	return desc
}

// PushManifest uploads manifest with mediaType to repo on the registry at
// host under ref, a tag or a digest, and returns its descriptor. The
// registry checks that every blob or manifest it references is already
// there. It fails the test unless the registry accepts it under its digest.
func PushManifest(t testing.TB, host, repo, ref, mediaType string, manifest []byte, opts ...PushOpt) ocispec.Descriptor {
	t.Helper()
	desc := ocispec.Descriptor{
		MediaType: mediaType,
		Digest:    digest.FromBytes(manifest),
		Size:      int64(len(manifest)),
	}
	u := (&url.URL{Scheme: "http", Host: host}).JoinPath("v2", repo, "manifests", ref).String()
	resp := do(t, newPushClient(opts), http.MethodPut, u, mediaType, manifest, http.StatusCreated)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != desc.Digest.String() {
		t.Fatalf("PUT %s: Docker-Content-Digest = %s, want %s", u, got, desc.Digest)
	}
	return desc
}

// do sends one request and fails the test unless it is answered with want.
// The returned response's body has been read and closed.
func do(t testing.TB, c *http.Client, method, u, contentType string, body []byte, want int) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %s, want %d: %s", method, u, resp.Status, want, msg)
	}
	return resp
}

// Image is an OCI image, or an image index, held in memory.
type Image struct {
	// Manifest describes the top-level object: the image manifest, or for
	// an index the image index.
	Manifest ocispec.Descriptor
	// Config describes the image config; zero for an index.
	Config ocispec.Descriptor
	// Layers describe the layers, base first; nil for an index.
	Layers []ocispec.Descriptor
	// Platforms are, for an index, the images it lists, in its order; each
	// Manifest descriptor carries its Platform. Nil for a single image.
	Platforms []Image
	// Blobs holds the bytes of every manifest, index, config and layer
	// above (of the platform images too), by digest.
	Blobs map[digest.Digest][]byte
}

// RandomImage returns an OCI image for linux and the running GOARCH with
// the given number of layers. Each layer is a gzip-compressed tar of a
// directory layerN/ holding a file of layerSize random bytes (data) and a
// short text file (hello.txt); the config's rootfs lists the layers'
// diffIDs. Every image it returns is different.
func RandomImage(t testing.TB, layers, layerSize int) Image {
	t.Helper()
	return randomImage(t, layers, layerSize, ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH})
}

// RandomIndex returns an OCI image index listing two random images (as
// [RandomImage] makes them), for linux/amd64 and linux/arm64, in that order.
func RandomIndex(t testing.TB, layers, layerSize int) Image {
	t.Helper()
	idx := Image{Blobs: map[digest.Digest][]byte{}}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
	}
	for _, arch := range []string{"amd64", "arm64"} {
		p := ocispec.Platform{OS: "linux", Architecture: arch}
		img := randomImage(t, layers, layerSize, p)
		img.Manifest.Platform = &p
		idx.Platforms = append(idx.Platforms, img)
		index.Manifests = append(index.Manifests, img.Manifest)
		for d, b := range img.Blobs {
			idx.Blobs[d] = b
		}
	}
	idx.Manifest = idx.addJSON(t, ocispec.MediaTypeImageIndex, index)
	return idx
}

// created is the fixed creation time of random images.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func randomImage(t testing.TB, layers, layerSize int, platform ocispec.Platform) Image {
	t.Helper()
	if layers < 0 || layerSize < 0 {
		t.Fatalf("RandomImage(%d, %d): negative", layers, layerSize)
	}
	img := Image{Blobs: map[digest.Digest][]byte{}}
	config := ocispec.Image{
		Created:  &created,
		Platform: platform,
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"/bin/sh"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
	}
	for i := range layers {
		tarball, compressed := randomLayer(t, i, layerSize)
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, digest.FromBytes(tarball))
		config.History = append(config.History, ocispec.History{
			Created:   &created,
			CreatedBy: fmt.Sprintf("testutil layer %d", i),
		})
		img.Layers = append(img.Layers, img.add(ocispec.MediaTypeImageLayerGzip, compressed))
	}
	img.Config = img.addJSON(t, ocispec.MediaTypeImageConfig, config)
	layerDescs := img.Layers
	if layerDescs == nil {
		layerDescs = []ocispec.Descriptor{}
	}
	img.Manifest = img.addJSON(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    img.Config,
		Layers:    layerDescs,
	})
	return img
}

// randomLayer returns a layer's tar and its gzip compression.
func randomLayer(t testing.TB, n, size int) (tarball, compressed []byte) {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	dir := fmt.Sprintf("layer%d/", n)
	hello := fmt.Appendf(nil, "hello from layer %d\n", n)

	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}, nil},
		{tar.Header{Typeflag: tar.TypeReg, Name: dir + "data", Mode: 0o644, Size: int64(size)}, data},
		{tar.Header{Typeflag: tar.TypeReg, Name: dir + "hello.txt", Mode: 0o644, Size: int64(len(hello))}, hello},
	}
	for _, e := range entries {
		e.hdr.ModTime = created
		e.hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), gz.Bytes()
}

func (img *Image) add(mediaType string, b []byte) ocispec.Descriptor {
	d := digest.FromBytes(b)
	img.Blobs[d] = b
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

func (img *Image) addJSON(t testing.TB, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return img.add(mediaType, b)
}

// Push uploads the image to repo on the registry at host: its config and
// layers with [PushBlob], then its manifest with [PushManifest] under tag,
// or under its digest when tag is "". For an index it pushes each platform
// image by digest first, then the index.
func (img Image) Push(t testing.TB, host, repo, tag string, opts ...PushOpt) {
	t.Helper()
	for _, p := range img.Platforms {
		p.Push(t, host, repo, "", opts...)
	}
	if img.Config.Digest != "" {
		for _, d := range append([]ocispec.Descriptor{img.Config}, img.Layers...) {
			PushBlob(t, host, repo, img.Blobs[d.Digest], opts...)
		}
	}
	ref := tag
	if ref == "" {
		ref = img.Manifest.Digest.String()
	}
	PushManifest(t, host, repo, ref, img.Manifest.MediaType, img.Blobs[img.Manifest.Digest], opts...)
}
