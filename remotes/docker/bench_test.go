package docker_test

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/remotes"
)

const benchBlobSize = 500 << 20

// benchBlob returns benchBlobSize pseudo-random bytes, made once per test
// binary run and shared by the benchmarks, and their digest.
var benchBlob = sync.OnceValues(func() ([]byte, digest.Digest) {
	b := make([]byte, benchBlobSize)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b, digest.FromBytes(b)
})

// BenchmarkFetch500MB fetches a 500 MiB blob from an httptest server that
// serves it from memory, so that the client is what is measured, into a
// fresh local content store: the registry stream, the fetcher's digest
// check, and the store's hashing writer. Compare with BenchmarkSHA256.
func BenchmarkFetch500MB(b *testing.B) { benchFetch(b) }

// BenchmarkFetch500MBProgress is BenchmarkFetch500MB with progress
// reports on, to show they cost nothing worth turning them off for.
func BenchmarkFetch500MBProgress(b *testing.B) {
	var reports atomic.Int64
	benchFetch(b, remotes.WithProgress(func(remotes.Progress) { reports.Add(1) }))
	b.ReportMetric(float64(reports.Load())/float64(b.N), "reports/op")
}

func benchFetch(b *testing.B, opts ...remotes.TransferOpt) {
	data, dgst := benchBlob()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveRange(w, r, data)
	}))
	defer srv.Close()
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: dgst, Size: int64(len(data))}
	ctx := context.Background()
	f := fetcherFor(b, testResolver(), strings.TrimPrefix(srv.URL, "http://")+"/bench/blob")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		store, err := local.NewStore(dir)
		if err != nil {
			b.Fatal(err)
		}
		testutil.Settle(b, dir)
		b.StartTimer()
		if err := remotes.Fetch(ctx, store, f, desc, opts...); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := store.Delete(ctx, dgst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkSHA256 is the floor BenchmarkFetch500MB is measured against:
// one SHA-256 pass over the same bytes, in memory.
func BenchmarkSHA256(b *testing.B) {
	data, _ := benchBlob()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		sha256.Sum256(data)
	}
}
