package archive

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// benchBlobs are the two large gzip layers of the benchmark image
// (debootstrap bookworm, and Go's source tree): 91 MB compressed, 309 MB
// and about 18,000 files uncompressed.
var benchBlobs = []string{
	"/var/tmp/dctr-bench-image/blobs/sha256/6fac647995f39147cba94ccf63248ff1b8a0fc6c8953776d8000520e6f6bcfe4",
	"/var/tmp/dctr-bench-image/blobs/sha256/383cb42a2bd6f5ae9cc8efb4e84310cc07c97359f84342fbd49a4ecd11394cb8",
}

// loadBenchBlobs reads the benchmark layers and their uncompressed size.
func loadBenchBlobs(b *testing.B) ([][]byte, int64) {
	b.Helper()
	var blobs [][]byte
	var size int64
	for _, p := range benchBlobs {
		blob, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			b.Skipf("benchmark layer %s absent", p)
		}
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, zr)
		if err != nil {
			b.Fatal(err)
		}
		blobs = append(blobs, blob)
		size += n
	}
	return blobs, size
}

// BenchmarkApplyLayer applies the benchmark layers, one over the other,
// to a fresh directory under TMPDIR: decompression, hashing and writing
// together. Read against BenchmarkGunzipFloor.
//
// On ext4 without a journal, inodes freed in the last minutes (up to six)
// are skipped one by one when allocating in their block group, so once a
// run has removed its tree, later ones measure mostly that scan (GNU tar
// slows down the same way). Measure with -benchtime 1x, or with TMPDIR on
// a journaled or fresh file system.
func BenchmarkApplyLayer(b *testing.B) {
	blobs, size := loadBenchBlobs(b)
	ctx := context.Background()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "rootfs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, blob := range blobs {
			if _, err := ApplyLayer(ctx, dir, bytes.NewReader(blob)); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkGunzipFloor only decompresses the benchmark layers, on one
// core, into io.Discard: the floor under BenchmarkApplyLayer.
func BenchmarkGunzipFloor(b *testing.B) {
	blobs, size := loadBenchBlobs(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, blob := range blobs {
			zr, err := gzip.NewReader(bytes.NewReader(blob))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
	}
}
