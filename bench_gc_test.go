package containerd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/oci"
)

// Shape of the store of BenchmarkGC: 100 images of 8 layers each, so
// 1,000 blobs (manifest, config, layers) and, with one snapshot per
// layer and two more per image (a container's and a view), 1,000
// snapshots.
const (
	gcBenchImages = 100
	gcBenchLayers = 8
)

// buildGCStore fills c's default namespace synthetically: blobs written
// through the content store with the labels Pull sets, snapshots made
// through the snapshotter (one committed per layer, an active one and a
// view on each image's top), and image records referencing them.
func buildGCStore(b *testing.B, c *containerd.Client) {
	b.Helper()
	ctx := context.Background()
	cs := c.ContentStore()
	sn := c.SnapshotService("")
	lctx, done, err := c.WithLease(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer done(ctx)
	put := func(data []byte, labels map[string]string) ocispec.Descriptor {
		desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := content.WriteBlob(lctx, cs, "bench-"+desc.Digest.String(), bytes.NewReader(data), desc, content.WithLabels(labels)); err != nil {
			b.Fatal(err)
		}
		return desc
	}
	for i := range gcBenchImages {
		var layers []ocispec.Descriptor
		var diffIDs []digest.Digest
		for l := range gcBenchLayers {
			data := fmt.Appendf(nil, "image %d layer %d %s", i, l, bytes.Repeat([]byte{'x'}, 1000))
			d := put(data, nil)
			d.MediaType = ocispec.MediaTypeImageLayer
			layers = append(layers, d)
			diffIDs = append(diffIDs, d.Digest)
		}
		chain := images.ChainIDs(diffIDs)
		parent := ""
		for l, id := range chain {
			key := fmt.Sprintf("bench-%d-%d", i, l)
			if _, err := sn.Prepare(lctx, key, parent); err != nil {
				b.Fatal(err)
			}
			if err := sn.Commit(lctx, id.String(), key); err != nil {
				b.Fatal(err)
			}
			parent = id.String()
		}
		if _, err := sn.Prepare(lctx, fmt.Sprintf("bench-%d-rw", i), parent); err != nil {
			b.Fatal(err)
		}
		if _, err := sn.View(lctx, fmt.Sprintf("bench-%d-ro", i), parent); err != nil {
			b.Fatal(err)
		}
		cfg, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
			RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}})
		config := put(cfg, map[string]string{containerd.LabelSnapshotRefPrefix + c.DefaultSnapshotter(): parent})
		config.MediaType = ocispec.MediaTypeImageConfig
		mf, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			Config: config, Layers: layers})
		labels := map[string]string{containerd.LabelGCRefContentPrefix + ".config": config.Digest.String()}
		for l, d := range layers {
			labels[containerd.LabelGCRefContentPrefix+".l."+strconv.Itoa(l)] = d.Digest.String()
		}
		manifest := put(mf, labels)
		manifest.MediaType = ocispec.MediaTypeImageManifest
		if _, err := c.ImageService().Create(ctx, images.Image{Name: fmt.Sprintf("bench.example/img%d:v1", i), Target: manifest}); err != nil {
			b.Fatal(err)
		}
		// The active snapshot and the view are a container's.
		for _, kind := range []string{"rw", "ro"} {
			key := fmt.Sprintf("bench-%d-%s", i, kind)
			if _, err := c.NewContainer(ctx, key, containerd.WithSnapshot(key), containerd.WithNewSpec(oci.WithProcessArgs("/bin/true"))); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkGC collects a store of 100 images, 1,000 blobs, 1,000
// snapshots and 200 containers. keep: everything is referenced (the
// steady state: one full mark, nothing removed). free-all: every image
// and container deleted first, so the collection removes all 1,000
// blobs and 1,000 snapshots (the store is rebuilt between iterations,
// outside the timing).
func BenchmarkGC(b *testing.B) {
	ctx := context.Background()
	b.Run("keep", func(b *testing.B) {
		c, err := containerd.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		buildGCStore(b, c)
		for b.Loop() {
			stats, err := c.GC(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(stats.Removed) != 0 {
				b.Fatalf("GC removed %d things", len(stats.Removed))
			}
		}
	})
	b.Run("free-all", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			c, err := containerd.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			buildGCStore(b, c)
			imgs, _ := c.ImageService().List(ctx)
			for _, img := range imgs {
				c.ImageService().Delete(ctx, img.Name)
			}
			cts, _ := c.Containers(ctx)
			for _, ct := range cts {
				ct.Delete(ctx)
			}
			b.StartTimer()
			stats, err := c.GC(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if stats.ContentRemoved != gcBenchImages*(gcBenchLayers+2) || stats.SnapshotsRemoved != gcBenchImages*(gcBenchLayers+2) {
				b.Fatalf("GC removed %d blobs and %d snapshots", stats.ContentRemoved, stats.SnapshotsRemoved)
			}
			c.Close()
		}
	})
}
