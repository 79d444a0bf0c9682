package containerd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// gcImages pushes two images sharing their base layer to a registry and
// returns the registry's host and the images: a (base, a-only) and b
// (base, b-only).
func gcImages(t *testing.T) (host string, a, b testutil.Image) {
	t.Helper()
	reg := testutil.NewRegistry(t)
	base := testutil.Tar(t, testutil.Dir("base/", 0o755), testutil.File("base/file", 0o644, "shared by a and b"))
	a = testutil.TarImage(t, base, testutil.Tar(t, testutil.File("a.txt", 0o644, strings.Repeat("a", 5000))))
	b = testutil.TarImage(t, base, testutil.Tar(t, testutil.File("b.txt", 0o644, strings.Repeat("b", 7000))))
	a.Push(t, reg.Host(), "gc/a", "v1")
	b.Push(t, reg.Host(), "gc/b", "v1")
	return reg.Host(), a, b
}

// pullGC pulls and unpacks ref with c, failing the test on error.
func pullGC(t *testing.T, ctx context.Context, c *containerd.Client, ref string) containerd.Image {
	t.Helper()
	img, err := c.Pull(ctx, ref, resolver(), containerd.WithPullUnpack)
	if err != nil {
		t.Fatalf("Pull(%q) = %v", ref, err)
	}
	return img
}

// blobs returns the digests of every blob of img: manifest, config, layers.
func blobs(img testutil.Image) []digest.Digest {
	out := []digest.Digest{img.Manifest.Digest, img.Config.Digest}
	for _, l := range img.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// chain returns the ChainIDs of img's layers, base first.
func chain(t *testing.T, img testutil.Image) []digest.Digest {
	t.Helper()
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Blobs[img.Config.Digest], &cfg); err != nil {
		t.Fatal(err)
	}
	return images.ChainIDs(cfg.RootFS.DiffIDs)
}

// hasBlob reports whether the namespace of ctx holds d; when it does,
// the blob's file must be on disk.
func hasBlob(t *testing.T, ctx context.Context, c *containerd.Client, d digest.Digest) bool {
	t.Helper()
	_, err := c.ContentStore().Info(ctx, d)
	if err != nil && !errdefs.IsNotFound(err) {
		t.Fatalf("Info(%s) = %v", d, err)
	}
	if err == nil && !onDisk(c, d) {
		t.Fatalf("blob %s: recorded, but its file is gone", d)
	}
	return err == nil
}

// onDisk reports whether the blob d has its file under the root.
func onDisk(c *containerd.Client, d digest.Digest) bool {
	_, err := os.Stat(filepath.Join(c.Root(), "content", "blobs", d.Algorithm().String(), d.Encoded()))
	return err == nil
}

// hasSnapshot reports whether the default snapshotter has key in the
// namespace of ctx.
func hasSnapshot(t *testing.T, ctx context.Context, c *containerd.Client, key string) bool {
	t.Helper()
	_, err := c.SnapshotService("").Stat(ctx, key)
	if err != nil && !errdefs.IsNotFound(err) {
		t.Fatalf("Stat(%s) = %v", key, err)
	}
	return err == nil
}

func runGC(t *testing.T, ctx context.Context, c *containerd.Client, opts ...containerd.GCOpt) containerd.GCStats {
	t.Helper()
	stats, err := c.GC(ctx, opts...)
	if err != nil {
		t.Fatalf("GC = %v", err)
	}
	return stats
}

// TestGCDeletedImage: the content and snapshots of a deleted image are
// freed; the base layer another image shares is kept, and that image is
// still whole.
func TestGCDeletedImage(t *testing.T) {
	ctx := context.Background()
	host, a, b := gcImages(t)
	c := newClient(t)
	pullGC(t, ctx, c, host+"/gc/a:v1")
	imgB := pullGC(t, ctx, c, host+"/gc/b:v1")

	if stats := runGC(t, ctx, c); len(stats.Removed) != 0 || stats.BytesFreed != 0 {
		t.Fatalf("GC with everything referenced removed %+v", stats)
	}
	if err := c.ImageService().Delete(ctx, host+"/gc/a:v1"); err != nil {
		t.Fatal(err)
	}
	dry := runGC(t, ctx, c, containerd.WithGCDryRun)
	stats := runGC(t, ctx, c)
	if stats.ContentRemoved != 3 || stats.SnapshotsRemoved != 1 || stats.BytesFreed <= blobSize(a)-a.Layers[0].Size {
		t.Errorf("GC after deleting a = %+v; want 3 blobs (manifest, config, own layer), 1 snapshot and their bytes", stats)
	}
	if dry.ContentRemoved != stats.ContentRemoved || dry.SnapshotsRemoved != stats.SnapshotsRemoved || dry.BytesFreed != stats.BytesFreed || len(dry.Removed) != len(stats.Removed) {
		t.Errorf("dry run = %+v; the run after it = %+v", dry, stats)
	}
	for _, d := range []digest.Digest{a.Manifest.Digest, a.Config.Digest, a.Layers[1].Digest} {
		if hasBlob(t, ctx, c, d) || onDisk(c, d) {
			t.Errorf("blob %s of the deleted image is still there", d)
		}
	}
	for _, d := range blobs(b) {
		if !hasBlob(t, ctx, c, d) {
			t.Errorf("blob %s of the image kept is gone", d)
		}
	}
	ca, cb := chain(t, a), chain(t, b)
	if hasSnapshot(t, ctx, c, ca[1].String()) {
		t.Errorf("the deleted image's top snapshot is still there")
	}
	for _, id := range cb {
		if !hasSnapshot(t, ctx, c, id.String()) {
			t.Errorf("snapshot %s of the image kept is gone", id)
		}
	}
	if ok, err := imgB.IsUnpacked(ctx, ""); err != nil || !ok {
		t.Errorf("IsUnpacked(b) = %v, %v", ok, err)
	}
	checkFiles(t, c.SnapshotService(""), chainDiffIDs(t, b), map[string]string{"base/file": "shared by a and b", "b.txt": strings.Repeat("b", 7000)})

	// Nothing left once b goes too.
	if err := c.ImageService().Delete(ctx, host+"/gc/b:v1"); err != nil {
		t.Fatal(err)
	}
	stats = runGC(t, ctx, c)
	if stats.ContentRemoved != 4 || stats.SnapshotsRemoved != 2 {
		t.Errorf("GC after deleting b = %+v; want 4 blobs and 2 snapshots", stats)
	}
	checkEmptyStore(t, c.Root())
}

// checkFiles views the top snapshot of diffIDs and checks that it holds
// files with the given contents (see viewTop).
func checkFiles(t *testing.T, sn snapshot.Snapshotter, diffIDs []digest.Digest, files map[string]string) {
	t.Helper()
	viewTop(t, sn, diffIDs, "check-"+images.ChainID(diffIDs).Encoded()[:12], func(dir string) {
		for name, body := range files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || string(b) != body {
				t.Errorf("%s = %.20q, %v; want %.20q", name, b, err, body)
			}
		}
	})
}

// chainDiffIDs returns img's diffIDs.
func chainDiffIDs(t *testing.T, img testutil.Image) []digest.Digest {
	t.Helper()
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Blobs[img.Config.Digest], &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs
}

// TestGCContainerSnapshot: a container's snapshot, and the layers under
// it, are kept while the container is, though its image is gone.
func TestGCContainerSnapshot(t *testing.T) {
	ctx := context.Background()
	host, a, _ := gcImages(t)
	c := newClient(t)
	img := pullGC(t, ctx, c, host+"/gc/a:v1")
	ct, err := c.NewContainer(ctx, "gc-1", containerd.WithImage(img), containerd.WithNewSnapshot("gc-1-rootfs", img),
		containerd.WithNewSpec(oci.WithImageConfig(img)))
	if err != nil {
		t.Fatalf("NewContainer = %v", err)
	}
	if err := c.ImageService().Delete(ctx, img.Name()); err != nil {
		t.Fatal(err)
	}
	stats := runGC(t, ctx, c)
	if stats.ContentRemoved != 4 || stats.SnapshotsRemoved != 0 {
		t.Errorf("GC with the image gone, its container kept = %+v; want its 4 blobs, no snapshot", stats)
	}
	for _, id := range append([]string{"gc-1-rootfs"}, idStrings(chain(t, a))...) {
		if !hasSnapshot(t, ctx, c, id) {
			t.Errorf("snapshot %s under the container is gone", id)
		}
	}
	if err := ct.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	stats = runGC(t, ctx, c)
	if stats.SnapshotsRemoved != 3 {
		t.Errorf("GC after the container's delete = %+v; want its snapshot and the 2 layers", stats)
	}
	checkEmptyStore(t, c.Root())
}

func idStrings(ds []digest.Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// TestGCLeaseProtectsFetch: a pull that has fetched and unpacked but not
// yet stored its image (Fetch, and an unpack, under the caller's lease)
// keeps everything while the lease lives; deleting the lease frees it.
func TestGCLeaseProtectsFetch(t *testing.T) {
	host, a, _ := gcImages(t)
	c := newClient(t)
	lctx, done, err := c.WithLease(context.Background(), leases.WithLabels(map[string]string{"purpose": "test"}))
	if err != nil {
		t.Fatalf("WithLease = %v", err)
	}
	rec, err := c.Fetch(lctx, host+"/gc/a:v1", resolver())
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	if err := containerd.NewImage(c, rec).Unpack(lctx, ""); err != nil {
		t.Fatalf("Unpack = %v", err)
	}
	// A snapshot of the caller's, prepared under the lease.
	if _, err := c.SnapshotService("").Prepare(lctx, "work", chain(t, a)[1].String()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if stats := runGC(t, ctx, c); len(stats.Removed) != 0 {
		t.Fatalf("GC under a lease removed %+v", stats.Removed)
	}
	for _, d := range blobs(a) {
		if !hasBlob(t, ctx, c, d) {
			t.Errorf("leased blob %s is gone", d)
		}
	}
	for _, key := range append([]string{"work"}, idStrings(chain(t, a))...) {
		if !hasSnapshot(t, ctx, c, key) {
			t.Errorf("leased snapshot %s is gone", key)
		}
	}
	ls, err := c.LeasesService().List(ctx, "labels.purpose==test")
	if err != nil || len(ls) != 1 {
		t.Fatalf("List(labels.purpose==test) = %v, %v", ls, err)
	}
	if _, ok := ls[0].Expiry(); !ok {
		t.Errorf("WithLease's lease has no expiry: %v", ls[0].Labels)
	}
	rs, err := c.LeasesService().ListResources(ctx, ls[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[leases.Resource]bool{{ID: "work", Type: "snapshots/" + c.DefaultSnapshotter()}: true}
	for _, d := range blobs(a) {
		want[leases.Resource{ID: d.String(), Type: leases.ResourceContent}] = true
	}
	for _, id := range chain(t, a) {
		want[leases.Resource{ID: id.String(), Type: "snapshots/" + c.DefaultSnapshotter()}] = true
	}
	for _, r := range rs {
		delete(want, r)
	}
	if len(want) != 0 {
		t.Errorf("ListResources = %v; lacks %v", rs, want)
	}

	if err := done(ctx); err != nil {
		t.Fatalf("done = %v", err)
	}
	stats := runGC(t, ctx, c)
	if stats.ContentRemoved != 4 || stats.SnapshotsRemoved != 3 {
		t.Errorf("GC after the lease = %+v; want 4 blobs and 3 snapshots", stats)
	}
	checkEmptyStore(t, c.Root())
}

// TestGCLeaseExpiresAndRoots: an expired lease holds nothing and is
// deleted; a blob labelled containerd.io/gc.root is kept without one.
func TestGCLeaseExpiresAndRoots(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	lm := c.LeasesService()
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	l, err := lm.Create(ctx, leases.WithID("old"), leases.WithLabels(map[string]string{leases.LabelExpire: past}))
	if err != nil {
		t.Fatal(err)
	}
	live, err := lm.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cs := c.ContentStore()
	write := func(ctx context.Context, n int, opts ...content.Opt) digest.Digest {
		data, desc := blob(n)
		if err := content.WriteBlob(ctx, cs, fmt.Sprint("w-", n), bytes.NewReader(data), desc, opts...); err != nil {
			t.Fatalf("WriteBlob = %v", err)
		}
		return desc.Digest
	}
	expired := write(leases.WithLease(ctx, l.ID), 100)
	held := write(leases.WithLease(ctx, live.ID), 200)
	rooted := write(ctx, 300, content.WithLabels(map[string]string{containerd.LabelGCRoot: "yes"}))
	loose := write(ctx, 400)

	stats := runGC(t, ctx, c)
	if stats.LeasesRemoved != 1 || stats.ContentRemoved != 2 || stats.BytesFreed != 500 {
		t.Errorf("GC = %+v; want the expired lease, 2 blobs, 500 bytes", stats)
	}
	for d, want := range map[digest.Digest]bool{expired: false, held: true, rooted: true, loose: false} {
		if got := hasBlob(t, ctx, c, d); got != want {
			t.Errorf("blob %s there = %v, want %v", d, got, want)
		}
	}
	if _, err := lm.ListResources(ctx, l); !errdefs.IsNotFound(err) {
		t.Errorf("ListResources(expired lease) = %v; want NotFound", err)
	}
	// A blob's commit under a lease that is gone fails, and leaves no
	// record.
	data, desc := blob(50)
	err = content.WriteBlob(leases.WithLease(ctx, "gone"), cs, "w-gone", bytes.NewReader(data), desc)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "gone") {
		t.Errorf("WriteBlob under a missing lease = %v; want NotFound naming it", err)
	}
	if hasBlob(t, ctx, c, desc.Digest) {
		t.Errorf("a blob written under a missing lease was stored")
	}
	// Synchronous delete collects at once.
	if err := lm.Delete(ctx, live, leases.SynchronousDelete); err != nil {
		t.Fatal(err)
	}
	if hasBlob(t, ctx, c, held) {
		t.Errorf("blob of a lease deleted synchronously is still there")
	}
}

// ingestDir is the directory of the ingest ref of namespace ns.
func ingestDir(root, ns, ref string) string {
	sum := sha256.Sum256([]byte(ns + "/" + ref))
	return filepath.Join(root, "content", "ingest", hex.EncodeToString(sum[:]))
}

// TestGCExpiredIngests: an ingest not written to for a day is aborted,
// unless a lease holds it; a recent one is kept.
func TestGCExpiredIngests(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	lctx, done, err := c.WithLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer done(ctx)
	cs := c.ContentStore()
	open := func(ctx context.Context, ref string, n int) {
		w, err := cs.Writer(ctx, content.WithRef(ref))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("x"), n))
		w.Close()
	}
	open(ctx, "old", 1000)
	open(ctx, "new", 2000)
	open(lctx, "leased-old", 3000)
	old := time.Now().Add(-25 * time.Hour)
	for _, ref := range []string{"old", "leased-old"} {
		if err := os.Chtimes(filepath.Join(ingestDir(c.Root(), "default", ref), "data"), old, old); err != nil {
			t.Fatal(err)
		}
	}
	stats := runGC(t, ctx, c)
	if stats.IngestsRemoved != 1 || stats.BytesFreed != 1000 || len(stats.Removed) != 1 || stats.Removed[0].ID != "old" {
		t.Errorf("GC = %+v; want the ingest old, 1000 bytes", stats)
	}
	for ref, want := range map[string]bool{"old": false, "new": true, "leased-old": true} {
		_, err := cs.Status(ctx, ref)
		if got := err == nil; got != want {
			t.Errorf("ingest %s there = %v (%v), want %v", ref, got, err, want)
		}
	}
}

// TestGCUnlabelledImage: an image stored by a program that set no
// reference labels keeps its whole tree: the collector reads the
// manifest.
func TestGCUnlabelledImage(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	img := testutil.RandomImage(t, 2, 1000)
	lctx, done, err := c.WithLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for d, b := range img.Blobs {
		if err := content.WriteBlob(lctx, c.ContentStore(), "put-"+d.String(), bytes.NewReader(b), ocispec.Descriptor{Digest: d, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ImageService().Create(ctx, images.Image{Name: "example.com/unlabelled:v1", Target: img.Manifest}); err != nil {
		t.Fatal(err)
	}
	done(ctx)
	if info, err := c.ContentStore().Info(ctx, img.Manifest.Digest); err != nil || len(info.Labels) != 0 {
		t.Fatalf("manifest Info = %+v, %v; want no labels", info, err)
	}
	if stats := runGC(t, ctx, c); len(stats.Removed) != 0 {
		t.Fatalf("GC removed %+v of an image without labels", stats.Removed)
	}
	for _, d := range blobs(img) {
		if !hasBlob(t, ctx, c, d) {
			t.Errorf("blob %s is gone", d)
		}
	}
}

// TestGCForeignStores: GC refuses a client whose image store is the
// caller's.
func TestGCForeignStores(t *testing.T) {
	root := t.TempDir()
	own, err := containerd.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	c, err := containerd.New(t.TempDir(), containerd.WithImageStore(own.ImageService()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GC(context.Background()); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("GC with WithImageStore = %v; want FailedPrecondition", err)
	}
}

// TestGCPolicyOnDelete: with WithGCPolicy(OnDelete), deleting images
// collects once, after the deletes stop.
func TestGCPolicyOnDelete(t *testing.T) {
	ctx := context.Background()
	host, _, _ := gcImages(t)
	results := make(chan containerd.GCStats, 10)
	c, err := containerd.New(t.TempDir(), containerd.WithGCPolicy(containerd.GCPolicy{
		OnDelete: true, Quiet: 50 * time.Millisecond,
		OnResult: func(s containerd.GCStats, err error) {
			if err != nil {
				t.Errorf("policy's GC = %v", err)
			}
			results <- s
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pullGC(t, ctx, c, host+"/gc/a:v1")
	pullGC(t, ctx, c, host+"/gc/b:v1")
	for _, name := range []string{host + "/gc/a:v1", host + "/gc/b:v1"} {
		if err := c.ImageService().Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-results:
		if s.ContentRemoved != 7 || s.SnapshotsRemoved != 3 {
			t.Errorf("the policy's collection = %+v; want 7 blobs and 3 snapshots", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no collection 10 s after the deletes")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(results) != 0 {
		t.Errorf("%d more collections after one burst of deletes", len(results))
	}
}

// checkEmptyStore checks that the root's content and snapshot directories
// hold nothing but their structure (testutil.StoreLeftovers): no blob, no
// ingest, no snapshot directory; the regular files outside the structure
// add up to 0 bytes.
func checkEmptyStore(t *testing.T, root string) {
	t.Helper()
	if stray, bytes := testutil.StoreLeftovers(t, root); len(stray) != 0 || bytes != 0 {
		t.Errorf("the store holds %d bytes in %q besides its structure", bytes, stray)
	}
}

// TestGCRace: collections in a loop beside 8 pulls with unpack (images
// sharing layers, pulled again and again) and containers being made and
// run: no operation fails, and afterwards every image is whole (every
// blob readable and matching its digest, every layer's snapshot there
// with its files).
func TestGCRace(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	base := testutil.Tar(t, testutil.Dir("base/", 0o755), testutil.File("base/file", 0o644, "shared"))
	var imgs []testutil.Image
	for i := range 8 {
		img := testutil.TarImage(t, base, testutil.Tar(t, testutil.File(fmt.Sprintf("own-%d", i), 0o644, strings.Repeat("x", 10_000+i))),
			testutil.Tar(t, testutil.File("top", 0o644, fmt.Sprint(i%2))))
		img.Push(t, reg.Host(), fmt.Sprintf("race/%d", i), "v1")
		imgs = append(imgs, img)
	}
	c := newClient(t)
	runContainers := os.Geteuid() == 0
	var busybox containerd.Image
	if runContainers {
		if _, err := os.Stat(testutil.BusyboxPath); err != nil {
			runContainers = false
		} else {
			testutil.BusyboxImage(t).Push(t, reg.Host(), "race/busybox", "v1")
			busybox = pullGC(t, ctx, c, reg.Host()+"/race/busybox:v1")
		}
	}

	stop := make(chan struct{})
	var gcs int
	var gcErr error
	var gcWG sync.WaitGroup
	gcWG.Add(1)
	go func() {
		defer gcWG.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.GC(ctx); err != nil {
				gcErr = err
				return
			}
			gcs++
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprintf("%s/race/%d:v1", reg.Host(), i)
			for round := range 3 {
				img, err := c.Pull(ctx, ref, resolver(), containerd.WithPullUnpack)
				if err != nil {
					errs <- fmt.Errorf("pull %d round %d: %w", i, round, err)
					return
				}
				if round < 2 && i%2 == 0 {
					// Deleted and pulled again: the collector frees it
					// meanwhile, or the pull finds it still there.
					if err := c.ImageService().Delete(ctx, img.Name()); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for i := range 2 {
		if !runContainers {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				id := fmt.Sprintf("race-%d-%d", i, round)
				ct, err := c.NewContainer(ctx, id, containerd.WithImage(busybox), containerd.WithNewSnapshot(id, busybox),
					containerd.WithNewSpec(oci.WithImageConfig(busybox), oci.WithProcessArgs("/bin/true")))
				if err != nil {
					errs <- fmt.Errorf("NewContainer %s: %w", id, err)
					return
				}
				task, err := ct.NewTask(ctx, containerd.NullIO)
				if err != nil {
					errs <- fmt.Errorf("NewTask %s: %w", id, err)
					return
				}
				ch, err := task.Wait(ctx)
				if err == nil {
					err = task.Start(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("task %s: %w", id, err)
					return
				}
				if st := <-ch; st.ExitCode() != 0 {
					errs <- fmt.Errorf("task %s exited %d (%v)", id, st.ExitCode(), st.Error())
				}
				if _, err := task.Delete(ctx); err != nil {
					errs <- fmt.Errorf("delete task %s: %w", id, err)
				}
				if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
					errs <- fmt.Errorf("delete container %s: %w", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	gcWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if gcErr != nil {
		t.Fatalf("GC = %v", gcErr)
	}
	if gcs < 2 {
		t.Errorf("only %d collections ran beside the pulls", gcs)
	}
	t.Logf("%d collections beside the pulls (containers run: %v)", gcs, runContainers)

	// Every image is whole.
	cs := c.ContentStore()
	for i, img := range imgs {
		for _, d := range blobs(img) {
			b, err := content.ReadBlob(ctx, cs, ocispec.Descriptor{Digest: d, Size: int64(len(img.Blobs[d]))}, 1<<20)
			if err != nil || digest.FromBytes(b) != d {
				t.Errorf("image %d: blob %s: %v", i, d, err)
			}
		}
		for _, id := range chain(t, img) {
			if info, err := c.SnapshotService("").Stat(ctx, id.String()); err != nil || info.Kind != snapshot.KindCommitted {
				t.Errorf("image %d: snapshot %s: %+v, %v", i, id, info, err)
			}
		}
		checkFiles(t, c.SnapshotService(""), chainDiffIDs(t, img), map[string]string{"base/file": "shared", "top": fmt.Sprint(i % 2),
			fmt.Sprintf("own-%d", i): strings.Repeat("x", 10_000+i)})
	}
	// And nothing was left unreferenced but what deleted images left.
	stats := runGC(t, ctx, c)
	for _, r := range stats.Removed {
		if r.Type == "leases" || strings.HasPrefix(r.ID, "extract-") {
			t.Errorf("left behind: %+v", r)
		}
	}
	if ls, err := c.LeasesService().List(ctx); err != nil || len(ls) != 0 {
		t.Errorf("leases left: %v, %v", ls, err)
	}
}

// TestNamespaces: create, list (with those used without create), labels,
// delete refused while the namespace holds something, and events.
func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	host, _, _ := gcImages(t)
	c := newClient(t)
	rec := record(t, c, "topic~=^/namespaces/")
	ns := c.NamespaceService()
	if err := ns.Create(ctx, "team-a", map[string]string{"owner": "a"}); err != nil {
		t.Fatalf("Create = %v", err)
	}
	if err := ns.Create(ctx, "team-a", nil); !errdefs.IsAlreadyExists(err) {
		t.Errorf("Create again = %v; want AlreadyExists", err)
	}
	for _, bad := range []string{"", "-x", "a/b", "a..b", strings.Repeat("n", 77)} {
		if err := ns.Create(ctx, bad, nil); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Create(%q) = %v; want InvalidArgument", bad, err)
		}
	}
	// Used without Create: the pull makes it.
	pctx := namespaces.WithNamespace(ctx, "team-b")
	pullGC(t, pctx, c, host+"/gc/a:v1")
	if got, err := ns.List(ctx); err != nil || !slices.Equal(got, []string{"team-a", "team-b"}) {
		t.Errorf("List = %v, %v; want [team-a team-b]", got, err)
	}
	if err := ns.SetLabel(ctx, "team-a", "tier", "gold"); err != nil {
		t.Fatal(err)
	}
	if err := ns.SetLabel(ctx, "team-a", "owner", ""); err != nil {
		t.Fatal(err)
	}
	if l, err := ns.Labels(ctx, "team-a"); err != nil || len(l) != 1 || l["tier"] != "gold" {
		t.Errorf("Labels = %v, %v; want tier=gold", l, err)
	}
	if _, err := ns.Labels(ctx, "nobody"); !errdefs.IsNotFound(err) {
		t.Errorf("Labels(missing) = %v; want NotFound", err)
	}
	if err := ns.SetLabel(ctx, "nobody", "k", "v"); !errdefs.IsNotFound(err) {
		t.Errorf("SetLabel(missing) = %v; want NotFound", err)
	}

	// Delete refused while team-b holds anything, each kind named.
	err := ns.Delete(ctx, "team-b")
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("Delete(team-b) = %v; want FailedPrecondition", err)
	}
	for _, want := range []string{"1 image", "4 content records", "snapshots in " + c.DefaultSnapshotter()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Delete(team-b) = %v; does not say %q", err, want)
		}
	}
	img, err := c.GetImage(pctx, host+"/gc/a:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewContainer(pctx, "ct", containerd.WithNewSnapshot("ct", img), containerd.WithNewSpec(oci.WithImageConfig(img))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LeasesService().Create(pctx, leases.WithID("l")); err != nil {
		t.Fatal(err)
	}
	if err := ns.Delete(ctx, "team-b"); err == nil || !strings.Contains(err.Error(), "1 container") || !strings.Contains(err.Error(), "1 lease") {
		t.Errorf("Delete(team-b) = %v; want it to name the container and the lease", err)
	}
	// Emptied, it goes.
	ct, _ := c.LoadContainer(pctx, "ct")
	if err := ct.Delete(pctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatal(err)
	}
	if err := c.LeasesService().Delete(pctx, leases.Lease{ID: "l"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ImageService().Delete(pctx, img.Name()); err != nil {
		t.Fatal(err)
	}
	runGC(t, ctx, c)
	if err := ns.Delete(ctx, "team-b"); err != nil {
		t.Fatalf("Delete(team-b) emptied = %v", err)
	}
	if err := ns.Delete(ctx, "team-b"); !errdefs.IsNotFound(err) {
		t.Errorf("Delete again = %v; want NotFound", err)
	}
	if err := ns.Delete(ctx, "team-a"); err != nil {
		t.Errorf("Delete(team-a) = %v", err)
	}
	envs := rec.next()
	if got := topics(envs); !slices.Equal(got, []string{"/namespaces/create", "/namespaces/update", "/namespaces/update", "/namespaces/delete", "/namespaces/delete"}) {
		t.Fatalf("namespace events = %v", got)
	}
	if envs[0].Namespace != "team-a" || envs[3].Namespace != "team-b" {
		t.Errorf("events published in %q and %q; want the namespace they are about", envs[0].Namespace, envs[3].Namespace)
	}
}

// TestNamespaceIsolation: images, containers, content, snapshots and
// leases of one namespace are invisible in another; the blobs they share
// are stored once, and collected only when no namespace keeps them.
func TestNamespaceIsolation(t *testing.T) {
	host, a, _ := gcImages(t)
	c := newClient(t)
	one := namespaces.WithNamespace(context.Background(), "one")
	two := namespaces.WithNamespace(context.Background(), "two")
	img := pullGC(t, one, c, host+"/gc/a:v1")
	if _, err := c.NewContainer(one, "ct", containerd.WithNewSnapshot("ct", img), containerd.WithNewSpec(oci.WithImageConfig(img))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LeasesService().Create(one, leases.WithID("l")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetImage(two, img.Name()); !errdefs.IsNotFound(err) {
		t.Errorf("GetImage in another namespace = %v; want NotFound", err)
	}
	if _, err := c.LoadContainer(two, "ct"); !errdefs.IsNotFound(err) {
		t.Errorf("LoadContainer in another namespace = %v; want NotFound", err)
	}
	if _, err := c.ContentStore().Info(two, a.Manifest.Digest); !errdefs.IsNotFound(err) {
		t.Errorf("content Info in another namespace = %v; want NotFound", err)
	}
	if _, err := c.SnapshotService("").Stat(two, "ct"); !errdefs.IsNotFound(err) {
		t.Errorf("snapshot Stat in another namespace = %v; want NotFound", err)
	}
	if ls, err := c.LeasesService().List(two); err != nil || len(ls) != 0 {
		t.Errorf("leases in another namespace: %v, %v", ls, err)
	}
	// The same image in two: one blob on disk; deleting it in one keeps
	// everything for the other.
	pullGC(t, two, c, host+"/gc/a:v1")
	if err := c.ImageService().Delete(one, img.Name()); err != nil {
		t.Fatal(err)
	}
	stats := runGC(t, one, c)
	if stats.ContentRemoved != 0 || stats.BytesFreed != 0 {
		t.Errorf("GC of one's records with two keeping the data = %+v; want nothing freed", stats)
	}
	for _, d := range blobs(a) {
		if hasBlob(t, one, c, d) || !hasBlob(t, two, c, d) || !onDisk(c, d) {
			t.Errorf("blob %s: want it gone from one, kept in two", d)
		}
	}
}

// TestLeaseManager: the manager's checks and listings.
func TestLeaseManager(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	lm := c.LeasesService()
	if _, err := lm.Create(ctx); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Create without an id = %v; want InvalidArgument", err)
	}
	if _, err := lm.Create(ctx, leases.WithID("bad/id")); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Create(bad/id) = %v; want InvalidArgument", err)
	}
	if _, err := lm.Create(ctx, leases.WithExpiration(-time.Second), leases.WithRandomID()); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Create with a negative expiration = %v; want InvalidArgument", err)
	}
	l, err := lm.Create(ctx, leases.WithID("build-1"), leases.WithLabels(map[string]string{"kind": "build"}))
	if err != nil || l.CreatedAt.IsZero() {
		t.Fatalf("Create = %+v, %v", l, err)
	}
	if _, err := lm.Create(ctx, leases.WithID("build-1")); !errdefs.IsAlreadyExists(err) {
		t.Errorf("Create again = %v; want AlreadyExists", err)
	}
	r1, err := lm.Create(ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lm.List(ctx, "labels.kind==build"); err != nil || len(got) != 1 || got[0].ID != "build-1" {
		t.Errorf("List(labels.kind==build) = %v, %v", got, err)
	}
	if got, err := lm.List(ctx); err != nil || len(got) != 2 {
		t.Errorf("List = %v, %v; want 2", got, err)
	}
	d := digest.FromString("x")
	for _, r := range []leases.Resource{{ID: d.String(), Type: "content"}, {ID: "k", Type: "snapshots/overlay"}, {ID: "ref", Type: "ingests"}} {
		if err := lm.AddResource(ctx, l, r); err != nil {
			t.Fatalf("AddResource(%v) = %v", r, err)
		}
	}
	for _, r := range []leases.Resource{{ID: "x", Type: "content"}, {ID: "k", Type: "snapshots"}, {ID: "k", Type: "images"}, {ID: "", Type: "ingests"}} {
		if err := lm.AddResource(ctx, l, r); !errdefs.IsInvalidArgument(err) {
			t.Errorf("AddResource(%v) = %v; want InvalidArgument", r, err)
		}
	}
	if err := lm.AddResource(ctx, leases.Lease{ID: "nope"}, leases.Resource{ID: "k", Type: "ingests"}); !errdefs.IsNotFound(err) {
		t.Errorf("AddResource to a missing lease = %v; want NotFound", err)
	}
	if err := lm.DeleteResource(ctx, l, leases.Resource{ID: "ref", Type: "ingests"}); err != nil {
		t.Fatal(err)
	}
	rs, err := lm.ListResources(ctx, l)
	want := []leases.Resource{{ID: d.String(), Type: "content"}, {ID: "k", Type: "snapshots/overlay"}}
	if err != nil || !slices.Equal(rs, want) {
		t.Errorf("ListResources = %v, %v; want %v", rs, err, want)
	}
	if err := lm.Delete(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if err := lm.Delete(ctx, r1); !errdefs.IsNotFound(err) {
		t.Errorf("Delete again = %v; want NotFound", err)
	}
	// WithLease on a context that has a lease adds none.
	lctx := leases.WithLease(ctx, l.ID)
	same, done, err := c.WithLease(lctx)
	if err != nil || same != lctx {
		t.Fatalf("WithLease under a lease = %v, %v", same, err)
	}
	done(ctx)
	if got, _ := lm.List(ctx); len(got) != 1 {
		t.Errorf("leases after a nested WithLease's done: %v", got)
	}
}
