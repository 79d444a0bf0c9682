package containerd_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/internal/testutil"
)

const (
	benchBlobSize = 1 << 30
	benchChunk    = 1 << 20
)

var benchData = sync.OnceValues(func() ([]byte, digest.Digest) {
	chunk := make([]byte, benchChunk)
	rand.Read(chunk)
	h := sha256.New()
	for range benchBlobSize / benchChunk {
		h.Write(chunk)
	}
	return chunk, digest.NewDigest(digest.SHA256, h)
})

// BenchmarkSHA256 is the floor BenchmarkIngest is held to: hashing the
// same gigabyte, from memory, on one core.
func BenchmarkSHA256(b *testing.B) {
	chunk, _ := benchData()
	b.SetBytes(benchBlobSize)
	for b.Loop() {
		h := sha256.New()
		for range benchBlobSize / benchChunk {
			h.Write(chunk)
		}
		h.Sum(nil)
	}
}

// BenchmarkIngest streams a 1 GiB blob from a pipe into the client's
// content store and commits it (digest check, fsync, publish), as
// "producer | dctr content ingest" does. The producer runs in this
// process, on the same two cores.
func BenchmarkIngest(b *testing.B) {
	chunk, dgst := benchData()
	dir, err := os.MkdirTemp(benchDir(), "bench-ingest")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	c, err := containerd.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cs := c.ContentStore()
	ctx := context.Background()
	desc := ocispec.Descriptor{Digest: dgst, Size: benchBlobSize}
	b.SetBytes(benchBlobSize)
	testutil.Settle(b, dir)
	i := 0
	for b.Loop() {
		pr, pw, err := blockingPipe()
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for range benchBlobSize / benchChunk {
				if _, err := pw.Write(chunk); err != nil {
					break
				}
			}
			pw.Close()
		}()
		i++
		if err := content.WriteBlob(ctx, cs, fmt.Sprint("bench-", i), pr, desc); err != nil {
			b.Fatal(err)
		}
		pr.Close()
		b.StopTimer()
		if err := cs.Delete(ctx, dgst); err != nil {
			b.Fatal(err)
		}
		// The delete's journal commit and discard would otherwise run
		// during the next timed iteration.
		testutil.Settle(b, dir)
		b.StartTimer()
	}
}

// blockingPipe returns a pipe whose ends block, as a shell's pipe into
// dctr's standard input does (os.Pipe's ends go through Go's poller
// instead, which costs a wakeup for every 64 KiB the pipe holds).
func blockingPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(p[0]), "pipe-r"), os.NewFile(uintptr(p[1]), "pipe-w"), nil
}

// benchDir is where benchmarks put their roots: $DCTR_BENCH_DIR, or the
// system's temporary directory.
func benchDir() string {
	if d := os.Getenv("DCTR_BENCH_DIR"); d != "" {
		return d
	}
	return os.TempDir()
}

// BenchmarkRePull pulls an image that is already complete, from an
// in-process registry on loopback, through the default resolver: one
// HEAD of the manifest, then reads of the local store. The bar is 50 ms.
func BenchmarkRePull(b *testing.B) {
	ctx := context.Background()
	reg := testutil.NewRegistry(b)
	img := testutil.RandomImage(b, 3, 200_000)
	img.Push(b, reg.Host(), "app", "v1")
	c, err := containerd.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ref := reg.Host() + "/app:v1"
	if _, err := c.Pull(ctx, ref); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Pull(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}
