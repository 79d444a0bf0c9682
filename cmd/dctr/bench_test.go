package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
)

// lsBlobs is how many blobs BenchmarkContentLs10k lists.
const lsBlobs = 10_000

// lsRoot is the root BenchmarkContentLs10k lists, filled once per test
// binary (a benchmark function runs more than once) under testDir.
var lsRoot struct {
	once sync.Once
	dir  string
	err  error
}

// fillRoot makes a root under testDir holding n small blobs, a third of
// them labelled, written through the library in this process.
func fillRoot(n int) (string, error) {
	dir := filepath.Join(testDir, fmt.Sprintf("root-%d", n))
	client, err := containerd.New(dir)
	if err != nil {
		return "", err
	}
	defer client.Close()
	cs := client.ContentStore()
	ctx := context.Background()

	// Commits sync to disk; several writers overlap those waits.
	const workers = 16
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				data := fmt.Appendf(nil, "blob %d\n", i)
				desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
				var opts []content.Opt
				if i%3 == 0 {
					opts = append(opts, content.WithLabels(map[string]string{"bench": "yes", "index": fmt.Sprint(i)}))
				}
				if err := content.WriteBlob(ctx, cs, fmt.Sprintf("bench-%d", i), bytes.NewReader(data), desc, opts...); err != nil {
					errs <- fmt.Errorf("WriteBlob(blob %d) = %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	return dir, err
}

// BenchmarkContentLs10k times "dctr content ls" on a root of 10,000
// blobs: a whole run of the binary, from exec to exit.
func BenchmarkContentLs10k(b *testing.B) {
	lsRoot.once.Do(func() {
		start := time.Now()
		lsRoot.dir, lsRoot.err = fillRoot(lsBlobs)
		b.Logf("filled a root with %d blobs in %v", lsBlobs, time.Since(start).Round(time.Millisecond))
	})
	if lsRoot.err != nil {
		b.Fatal(lsRoot.err)
	}
	for _, quiet := range []bool{false, true} {
		args := []string{"--root", lsRoot.dir, "content", "ls"}
		name := "table"
		if quiet {
			args, name = append(args, "-q"), "quiet"
		}
		b.Run(name, func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				cmd := exec.Command(dctrBin, args...)
				cmd.Stdout = &out
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("dctr %v = %v", args, err)
				}
			}
			want := lsBlobs
			if !quiet {
				want++ // the header
			}
			if got := bytes.Count(out.Bytes(), []byte("\n")); got != want {
				b.Fatalf("dctr %v printed %d lines; want %d", args, got, want)
			}
		})
	}
}
