package containerd_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

func newClient(t *testing.T) *containerd.Client {
	t.Helper()
	c, err := containerd.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// resolver is a registry client that reads no credential or hosts files
// of the machine.
func resolver() containerd.RemoteOpt { return containerd.WithResolver(docker.NewResolver()) }

func blobSize(img testutil.Image) int64 {
	n := img.Manifest.Size + img.Config.Size
	for _, l := range img.Layers {
		n += l.Size
	}
	return n
}

func TestPullImage(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 50_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	c := newClient(t)
	var visited, done int
	var mu sync.Mutex
	got, err := c.Pull(ctx, reg.Host()+"/team/app:v1", resolver(),
		containerd.WithPullLabels(map[string]string{"origin": "test"}),
		containerd.WithImageHandler(images.HandlerFunc(func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			mu.Lock()
			visited++
			mu.Unlock()
			return nil, nil
		})),
		containerd.WithProgress(func(p remotes.Progress) {
			if p.State == remotes.ProgressDone {
				mu.Lock()
				done++
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatalf("Pull = %v", err)
	}
	if got.Name() != reg.Host()+"/team/app:v1" || got.Target().Digest != img.Manifest.Digest || got.Labels()["origin"] != "test" {
		t.Fatalf("Pull = %s %s %v", got.Name(), got.Target().Digest, got.Labels())
	}
	if visited != 4 || done != 4 {
		t.Errorf("handler saw %d descriptors and progress %d done, want 4 and 4", visited, done)
	}
	cfg, err := got.Config(ctx)
	if err != nil || cfg.OS != "linux" {
		t.Fatalf("Config = %+v, %v", cfg.Platform, err)
	}
	if diffs, err := got.RootFS(ctx); err != nil || len(diffs) != 2 {
		t.Fatalf("RootFS = %v, %v", diffs, err)
	}
	if size, err := got.Size(ctx); err != nil || size != blobSize(img) {
		t.Fatalf("Size = %d, %v; want %d (manifest + config + layers)", size, err, blobSize(img))
	}
	same, err := c.GetImage(ctx, got.Name())
	if err != nil || same.Target().Digest != img.Manifest.Digest {
		t.Fatalf("GetImage = %v", err)
	}
	list, err := c.ListImages(ctx, "labels.origin==test")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListImages = %d images, %v", len(list), err)
	}
}

func TestPullPlatforms(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	idx := testutil.RandomIndex(t, 1, 20_000)
	idx.Push(t, reg.Host(), "multi", "v1")
	c := newClient(t)
	img, err := c.Pull(ctx, reg.Host()+"/multi:v1", resolver(), containerd.WithPlatform("linux/arm64"))
	if err != nil {
		t.Fatalf("Pull(linux/arm64) = %v", err)
	}
	cfg, err := img.Config(ctx)
	if err != nil || cfg.Architecture != "arm64" {
		t.Fatalf("Config = %s, %v; want arm64", cfg.Architecture, err)
	}
	// Only the chosen platform's layers were fetched.
	for _, p := range idx.Platforms {
		arch := p.Manifest.Platform.Architecture
		_, err := c.ContentStore().Info(ctx, p.Layers[0].Digest)
		if held := err == nil; held != (arch == "arm64") {
			t.Errorf("layer of linux/%s held = %v, want %v", arch, held, arch == "arm64")
		}
	}
	_, err = c.Pull(ctx, reg.Host()+"/multi:v1", resolver(), containerd.WithPlatform("linux/s390x"))
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "linux/amd64") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("Pull(linux/s390x) = %v, want NotFound listing the index's platforms", err)
	}
}

// TestPullResumes: a layer the registry will not serve fails the pull,
// naming the layer, and leaves no image record; the next pull fetches
// only what is missing.
func TestPullResumes(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 30_000)
	img.Push(t, reg.Host(), "app", "v1")
	proxy := testutil.NewFaultProxy(t, reg.Host())
	missing := img.Layers[1].Digest.String()
	proxy.Fail(testutil.Match{Method: "GET", Path: missing}, 404, testutil.Forever)
	c := newClient(t)
	ref := proxy.Host() + "/app:v1"
	_, err := c.Pull(ctx, ref, resolver(), containerd.WithMaxConcurrentDownloads(1))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Pull with a missing layer = %v, want an error naming %s", err, missing)
	}
	if _, err := c.GetImage(ctx, ref); !errdefs.IsNotFound(err) {
		t.Fatalf("GetImage after a failed pull = %v, want NotFound", err)
	}
	var held []string
	for _, d := range append([]ocispec.Descriptor{img.Config}, img.Layers...) {
		if _, err := c.ContentStore().Info(ctx, d.Digest); err == nil {
			held = append(held, d.Digest.String())
		}
	}
	proxy.Clear()
	proxy.Reset()
	if _, err := c.Pull(ctx, ref, resolver()); err != nil {
		t.Fatalf("Pull again = %v", err)
	}
	for _, d := range held {
		if n := proxy.Count("GET", d); n != 0 {
			t.Errorf("blob %s, committed by the failed pull, was fetched again (%d GETs)", d, n)
		}
	}
	if n := proxy.Count("GET", missing); n != 1 {
		t.Errorf("the missing layer was fetched %d times, want 1", n)
	}
}

// TestRePullOneRequest: pulling an image already complete asks the
// registry one question.
func TestRePullOneRequest(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 30_000)
	img.Push(t, reg.Host(), "app", "v1")
	proxy := testutil.NewFaultProxy(t, reg.Host())
	c := newClient(t)
	ref := proxy.Host() + "/app:v1"
	if _, err := c.Pull(ctx, ref, resolver()); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	if _, err := c.Pull(ctx, ref, resolver()); err != nil {
		t.Fatalf("Pull again = %v", err)
	}
	reqs := proxy.Requests()
	if len(reqs) != 1 || reqs[0].Method != "HEAD" || !strings.Contains(reqs[0].Path, "/manifests/") {
		t.Fatalf("re-pull made %d requests (%v), want one HEAD of the manifest", len(reqs), reqs)
	}
}

// TestConcurrentPulls: two pulls of one image at once fetch each blob once.
func TestConcurrentPulls(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 3, 200_000)
	img.Push(t, reg.Host(), "app", "v1")
	proxy := testutil.NewFaultProxy(t, reg.Host())
	c := newClient(t)
	ref := proxy.Host() + "/app:v1"
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Pull(ctx, ref, resolver())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Pull %d = %v", i, err)
		}
	}
	for _, d := range append([]ocispec.Descriptor{img.Config}, img.Layers...) {
		if n := proxy.Count("GET", "/blobs/"+d.Digest.String()); n != 1 {
			t.Errorf("blob %s fetched %d times, want once", d.Digest, n)
		}
	}
}

func TestPushRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	idx := testutil.RandomIndex(t, 1, 20_000)
	idx.Push(t, reg.Host(), "src", "v1")
	c := newClient(t)
	pulled, err := c.Pull(ctx, reg.Host()+"/src:v1", resolver(), containerd.WithAllPlatforms)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Push(ctx, reg.Host()+"/dst:v2", pulled.Target(), resolver()); err != nil {
		t.Fatalf("Push = %v", err)
	}
	other := newClient(t)
	back, err := other.Pull(ctx, reg.Host()+"/dst:v2", resolver(), containerd.WithPlatform("linux/arm64"))
	if err != nil || back.Target().Digest != pulled.Target().Digest {
		t.Fatalf("Pull of the pushed image = %v", err)
	}
	// Without a tag: pushed by digest, and no tag appears.
	if err := c.Push(ctx, reg.Host()+"/bydigest", pulled.Target(), resolver()); err != nil {
		t.Fatalf("Push without a tag = %v", err)
	}
	res := docker.NewResolver()
	if _, d, err := res.Resolve(ctx, reg.Host()+"/bydigest@"+pulled.Target().Digest.String()); err != nil || d.Digest != pulled.Target().Digest {
		t.Fatalf("Resolve by digest after a push without a tag = %v", err)
	}
	if _, _, err := res.Resolve(ctx, reg.Host()+"/bydigest:latest"); !errdefs.IsNotFound(err) {
		t.Fatalf("Resolve(latest) after a push without a tag = %v, want NotFound", err)
	}
	if err := c.Push(ctx, reg.Host()+"/x@sha256:"+strings.Repeat("0", 64), pulled.Target(), resolver()); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Push with another digest in the reference = %v, want InvalidArgument", err)
	}
}

// TestPushMountsFromSource: pushing an image pulled from one repository to
// another of the same registry mounts its blobs instead of uploading them.
func TestPushMountsFromSource(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 100_000)
	img.Push(t, reg.Host(), "src/app", "v1")
	proxy := testutil.NewFaultProxy(t, reg.Host())
	c := newClient(t)
	if _, err := c.Pull(ctx, proxy.Host()+"/src/app:v1", resolver()); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	var mounted int
	var mu sync.Mutex
	err := c.Push(ctx, proxy.Host()+"/dst/app:v1", img.Manifest, resolver(), containerd.WithProgress(func(p remotes.Progress) {
		if p.State == remotes.ProgressMounted {
			mu.Lock()
			mounted++
			mu.Unlock()
		}
	}))
	if err != nil {
		t.Fatalf("Push = %v", err)
	}
	if mounted != 3 {
		t.Errorf("%d blobs mounted, want 3 (config and 2 layers)", mounted)
	}
	if n := proxy.Count("PUT", "/blobs/uploads/") + proxy.Count("PATCH", "/blobs/uploads/"); n != 0 {
		t.Errorf("%d blob uploads, want none (mounted)", n)
	}
}
