package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
)

func TestDetectCompression(t *testing.T) {
	for _, c := range []struct {
		head []byte
		want Compression
	}{
		{[]byte{0x1f, 0x8b, 0x08, 0x00}, Gzip},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd}, Zstd},
		{[]byte{0x5a, 0x2a, 0x4d, 0x18}, Zstd}, // skippable frame
		{[]byte{0x1f, 0x8b}, Uncompressed},
		{[]byte("etc/"), Uncompressed},
		{nil, Uncompressed},
	} {
		if got := DetectCompression(c.head); got != c.want {
			t.Errorf("DetectCompression(% x) = %v, want %v", c.head, got, c.want)
		}
	}
}

// TestApplyLayerCompressions applies the same layer plain, gzipped and
// zstd-compressed, and checks the compression found, the size and the
// DiffID: the digest of every uncompressed byte, padding and a tail after
// the end of the archive included.
func TestApplyLayerCompressions(t *testing.T) {
	layer := tarOf(t, dirEnt("d/", 0o755), fileEnt("d/f", string(bytes.Repeat([]byte("layer "), 100000)), 0o644))
	layer = append(layer, make([]byte, 10240)...) // padding, as tar writers add
	want := digest.NewDigestFromBytes(digest.SHA256, func() []byte { s := sha256.Sum256(layer); return s[:] }())

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer)
	zw.Close()
	zs, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zst := zs.EncodeAll(layer, nil)

	for _, c := range []struct {
		blob []byte
		want Compression
	}{{layer, Uncompressed}, {gz.Bytes(), Gzip}, {zst, Zstd}} {
		t.Run(c.want.String(), func(t *testing.T) {
			dir := newTarget(t)
			res, err := ApplyLayer(context.Background(), dir, bytes.NewReader(c.blob))
			if err != nil {
				t.Fatalf("ApplyLayer: %v", err)
			}
			if res.Compression != c.want || res.Size != int64(len(layer)) || res.DiffID != want {
				t.Errorf("ApplyLayer = %v %d %s, want %v %d %s", res.Compression, res.Size, res.DiffID, c.want, len(layer), want)
			}
			if res.Pending() {
				t.Errorf("Pending() = true after a delete-mode apply")
			}
			if got := readFile(t, dir+"/d/f"); len(got) != 600000 {
				t.Errorf("d/f: %d bytes, want 600000", len(got))
			}
		})
	}
	// Apply takes the tar as it is.
	res, err := Apply(context.Background(), newTarget(t), bytes.NewReader(layer))
	if err != nil || res.DiffID != want || res.Compression != Uncompressed {
		t.Errorf("Apply = %+v, %v, want DiffID %s", res, err, want)
	}
}

// TestDecompress checks Decompress on its own, streams shorter than a
// magic number included.
func TestDecompress(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("hello"))
	zw.Close()
	for _, c := range []struct {
		in   []byte
		want string
		c    Compression
	}{{gz.Bytes(), "hello", Gzip}, {[]byte("hi"), "hi", Uncompressed}, {nil, "", Uncompressed}} {
		rc, got, err := Decompress(bytes.NewReader(c.in))
		if err != nil {
			t.Fatalf("Decompress(% x): %v", c.in, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != c.want || got != c.c {
			t.Errorf("Decompress(% x) = %q, %v, %v; want %q, %v", c.in, b, got, err, c.want, c.c)
		}
	}
	if _, _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 0x08, 0xff})); err == nil {
		t.Errorf("Decompress(truncated gzip header) succeeded")
	}
}
