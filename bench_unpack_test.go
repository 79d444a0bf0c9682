package containerd_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
)

// benchImageDir is the OCI layout bench/build-image.sh makes: three
// layers, debootstrap minbase + a whiteout layer + the Go source tree.
const benchImageDir = "/var/tmp/dctr-bench-image"

// BenchmarkUnpack unpacks the bench image, from the content store into
// the default snapshotter, and reports it against the decompression
// floor: the image's uncompressed bytes over this machine's klauspost
// gunzip throughput on one core (measured first, in the same run),
// divided by the cores the unpack may use (GOMAXPROCS). The bar is
// x-floor <= 1.5.
func BenchmarkUnpack(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (overlay)")
	}
	if _, err := os.Stat(filepath.Join(benchImageDir, "index.json")); err != nil {
		b.Skip("needs the bench image: bench/build-image.sh " + benchImageDir)
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp(benchDir(), "bench-unpack")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// Each round unpacks on a root of its own, and nothing is deleted
	// until the end: this machine's ext4 runs without a journal, and
	// creating files right after many were deleted is several times
	// slower (its allocator skips recently deleted inodes one by one).
	round := 0
	open := func() (*containerd.Client, containerd.Image) {
		round++
		c, err := containerd.New(filepath.Join(dir, fmt.Sprint(round)))
		if err != nil {
			b.Fatal(err)
		}
		imgs, err := c.ImportDir(ctx, benchImageDir, containerd.WithImportBaseName("bench/image"))
		if err != nil {
			b.Fatal(err)
		}
		// Open the snapshotter now: a fresh root's first use checks
		// that overlay mounts there, once, which is not unpacking.
		if _, err := c.SnapshotService("").Stat(ctx, "none"); err != nil && !errdefs.IsNotFound(err) {
			b.Fatal(err)
		}
		return c, containerd.NewImage(c, imgs[0])
	}
	c, img := open()
	manifest, err := images.Manifest(ctx, c.ContentStore(), img.Target(), img.Platform())
	if err != nil {
		b.Fatal(err)
	}
	// The floor: gunzip every layer on one core.
	var uncompressed int64
	start := time.Now()
	for _, l := range manifest.Layers {
		f, err := os.Open(filepath.Join(c.Root(), "content", "blobs", "sha256", l.Digest.Encoded()))
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, zr)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		uncompressed += n
	}
	gunzip := time.Since(start)
	floor := gunzip / time.Duration(runtime.GOMAXPROCS(0))
	b.SetBytes(uncompressed)
	b.ResetTimer()
	for b.Loop() {
		if err := img.Unpack(ctx, ""); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Close()
		c, img = open()
		b.StartTimer()
	}
	c.Close()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(gunzip.Milliseconds()), "gunzip-1core-ms")
	b.ReportMetric(float64(floor.Milliseconds()), "floor-ms")
	b.ReportMetric(float64(per)/float64(floor), "x-floor")
}
