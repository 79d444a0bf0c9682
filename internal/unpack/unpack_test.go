package unpack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/internal/unpack"
	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/native"
	"github.com/daemonless/containerd/snapshot/overlay"
)

// setup stores the layers of an image of n layers, each adding a file,
// and returns the store and the layers.
func setup(t *testing.T, n int) (content.Store, []unpack.Layer) {
	t.Helper()
	cs, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var layers []unpack.Layer
	for i := range n {
		tb := testutil.Tar(t, testutil.File("f"+string(rune('a'+i)), 0o644, "layer\n"))
		gz := testutil.Gzip(t, tb)
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(gz), Size: int64(len(gz))}
		if err := content.WriteBlob(context.Background(), cs, desc.Digest.String(), bytes.NewReader(gz), desc); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, unpack.Layer{Blob: desc, DiffID: digest.FromBytes(tb)})
	}
	return cs, layers
}

func snapshotters(t *testing.T) map[string]func(t *testing.T) snapshot.Snapshotter {
	return map[string]func(t *testing.T) snapshot.Snapshotter{
		"overlay": func(t *testing.T) snapshot.Snapshotter {
			testutil.RequiresRoot(t)
			sn, err := overlay.New(filepath.Join(t.TempDir(), "overlay"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sn.Close() })
			return sn
		},
		"native": func(t *testing.T) snapshot.Snapshotter {
			sn, err := native.New(filepath.Join(t.TempDir(), "native"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sn.Close() })
			return sn
		},
	}
}

// TestUnpackOnce: concurrent unpacks of the same layers apply each layer
// once, and every one of them returns the same top ChainID.
func TestUnpackOnce(t *testing.T) {
	for name, open := range snapshotters(t) {
		t.Run(name, func(t *testing.T) {
			cs, layers := setup(t, 5)
			sn := open(t)
			u := unpack.New()
			var applied atomic.Int32
			report := unpack.WithReport(func(e unpack.Event) {
				if e.State == "unpacked" {
					applied.Add(1)
				}
			})
			var wg sync.WaitGroup
			tops := make([]digest.Digest, 4)
			errs := make([]error, 4)
			for i := range tops {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tops[i], errs[i] = u.Unpack(context.Background(), cs, sn, layers, report, unpack.WithLimit(2))
				}()
			}
			wg.Wait()
			want := images.ChainID([]digest.Digest{layers[0].DiffID, layers[1].DiffID, layers[2].DiffID, layers[3].DiffID, layers[4].DiffID})
			for i := range tops {
				if errs[i] != nil || tops[i] != want {
					t.Fatalf("Unpack %d = %s, %v; want %s", i, tops[i], errs[i], want)
				}
			}
			if n := applied.Load(); n != 5 {
				t.Fatalf("%d layers applied by 4 concurrent unpacks of 5 layers, want 5", n)
			}
			// The top snapshot holds every layer's file.
			mounts, err := sn.View(context.Background(), "v", want.String())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if os.Geteuid() == 0 {
				if err := snapshot.MountAll(mounts, dir); err != nil {
					t.Fatal(err)
				}
				defer snapshot.UnmountAll(dir)
			} else {
				dir = mounts[0].Source
			}
			for i := range 5 {
				if _, err := os.Stat(filepath.Join(dir, "f"+string(rune('a'+i)))); err != nil {
					t.Errorf("layer %d's file: %v", i, err)
				}
			}
		})
	}
}

// TestUnpackWaitsForReady: a layer is read only after Ready says its blob
// is in; a Ready that fails fails the unpack and commits nothing above.
func TestUnpackWaitsForReady(t *testing.T) {
	cs, layers := setup(t, 3)
	sn := snapshotters(t)["native"](t)
	var readied []digest.Digest
	var mu sync.Mutex
	ready := func(_ context.Context, d ocispec.Descriptor) error {
		mu.Lock()
		defer mu.Unlock()
		readied = append(readied, d.Digest)
		if d.Digest == layers[1].Blob.Digest {
			return errdefs.ErrUnavailable
		}
		return nil
	}
	_, err := unpack.New().Unpack(context.Background(), cs, sn, layers, unpack.WithReady(ready))
	if !errdefs.IsUnavailable(err) {
		t.Fatalf("Unpack with a failing Ready = %v, want its error", err)
	}
	n := 0
	sn.Walk(context.Background(), func(_ context.Context, info snapshot.Info) error {
		if info.Kind != snapshot.KindCommitted {
			t.Errorf("left behind: %s %s", info.Kind, info.Name)
		}
		n++
		return nil
	})
	if n > 1 {
		t.Errorf("%d snapshots committed; only the first layer's could be", n)
	}
}

func TestUnpackBadInput(t *testing.T) {
	cs, layers := setup(t, 1)
	sn := snapshotters(t)["native"](t)
	u := unpack.New()
	if _, err := u.Unpack(context.Background(), cs, sn, nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Unpack(no layers) = %v", err)
	}
	bad := []unpack.Layer{{Blob: layers[0].Blob, DiffID: "sha256:nope"}}
	if _, err := u.Unpack(context.Background(), cs, sn, bad); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Unpack(malformed diffID) = %v", err)
	}
	if _, err := u.Unpack(context.Background(), cs, sn, layers, unpack.WithLimit(0)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Unpack(WithLimit(0)) = %v", err)
	}
	missing := []unpack.Layer{{Blob: ocispec.Descriptor{Digest: digest.FromString("absent"), Size: 6}, DiffID: digest.FromString("x")}}
	if _, err := u.Unpack(context.Background(), cs, sn, missing); !errdefs.IsNotFound(err) {
		t.Errorf("Unpack(blob not in the store) = %v", err)
	}
}
