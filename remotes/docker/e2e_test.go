package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

// children returns the descriptors a manifest or index refers to.
func children(t *testing.T, desc ocispec.Descriptor, b []byte) []ocispec.Descriptor {
	t.Helper()
	if remotes.IsIndexType(desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Fatal(err)
		}
		return idx.Manifests
	}
	if remotes.IsManifestType(desc.MediaType) {
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return append([]ocispec.Descriptor{m.Config}, m.Layers...)
	}
	return nil
}

// pushImage pushes img's tree with the pusher of ref, children first.
func pushImage(t *testing.T, ctx context.Context, p remotes.Pusher, img testutil.Image, desc ocispec.Descriptor) {
	t.Helper()
	for _, c := range children(t, desc, img.Blobs[desc.Digest]) {
		pushImage(t, ctx, p, img, c)
	}
	if err := remotes.Push(ctx, p, providerOf(img.Blobs[desc.Digest]), desc); err != nil {
		t.Fatalf("Push(%s %s) = %v", desc.MediaType, desc.Digest, err)
	}
}

// fetchImage fetches the tree under desc into store, parents first, and
// checks every blob against img.
func fetchImage(t *testing.T, ctx context.Context, f remotes.Fetcher, store content.Store, img testutil.Image, desc ocispec.Descriptor) int {
	t.Helper()
	if err := remotes.Fetch(ctx, store, f, desc); err != nil {
		t.Fatalf("Fetch(%s %s) = %v", desc.MediaType, desc.Digest, err)
	}
	b, err := content.ReadBlob(ctx, store, desc, 0)
	if err != nil || !bytes.Equal(b, img.Blobs[desc.Digest]) {
		t.Fatalf("store holds %d bytes for %s (%v), want %d", len(b), desc.Digest, err, len(img.Blobs[desc.Digest]))
	}
	n := 1
	for _, c := range children(t, desc, b) {
		n += fetchImage(t, ctx, f, store, img, c)
	}
	return n
}

func newLocalStore(t testing.TB) content.Store {
	t.Helper()
	s, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRegistryRoundTrip pushes images with the pusher to the in-process
// distribution registry, resolves them and fetches them back.
func TestRegistryRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  testutil.Image
		opts []docker.ResolverOpt
	}{
		{name: "image", img: testutil.RandomImage(t, 3, 200_000)},
		{name: "index", img: testutil.RandomIndex(t, 2, 50_000)},
		{name: "chunked", img: testutil.RandomImage(t, 2, 300_000), opts: []docker.ResolverOpt{docker.WithChunkedUploads(100_000, 64<<10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := testutil.NewRegistry(t)
			r := testResolver(tc.opts...)
			// Tag only the top manifest, not the children pushed first.
			ref := reg.Host() + "/test/app:v1"
			p := pusherFor(t, r, ref+"@"+tc.img.Manifest.Digest.String())
			pushImage(t, ctx, p, tc.img, tc.img.Manifest)

			name, desc, err := r.Resolve(ctx, ref)
			if err != nil || name != ref || desc.Digest != tc.img.Manifest.Digest || desc.Size != tc.img.Manifest.Size || desc.MediaType != tc.img.Manifest.MediaType {
				t.Fatalf("Resolve(%q) = %q, %+v, %v; want %+v", ref, name, desc, err, tc.img.Manifest)
			}
			store := newLocalStore(t)
			n := fetchImage(t, ctx, fetcherFor(t, r, name), store, tc.img, desc)
			if n != len(tc.img.Blobs) {
				t.Errorf("fetched %d blobs, the image has %d", n, len(tc.img.Blobs))
			}
			tags, err := r.(remotes.Tagger).Tags(ctx, ref)
			if err != nil || !slices.Equal(tags, []string{"v1"}) {
				t.Errorf("Tags = %q, %v", tags, err)
			}
			// Pushed again: everything is there.
			var states []remotes.ProgressState
			err = remotes.Push(ctx, p, providerOf(), tc.img.Manifest, remotes.WithProgress(func(pr remotes.Progress) { states = append(states, pr.State) }))
			if err != nil || states[len(states)-1] != remotes.ProgressExists {
				t.Errorf("second Push = %v, progress %v", err, states)
			}
		})
	}
}

func TestRegistryMount(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, 10_000)
	img.Push(t, reg.Host(), "base", "v1")
	reg.Reset()
	r := testResolver()
	p := pusherFor(t, r, reg.Host()+"/app:v1")
	var got remotes.ProgressState
	err := remotes.Push(docker.WithMountSources(ctx, reg.Host()+"/base"), p, providerOf(), img.Layers[0],
		remotes.WithProgress(func(pr remotes.Progress) { got = pr.State }))
	if err != nil || got != remotes.ProgressMounted {
		t.Fatalf("Push with a mount source = %v, last progress %v; want Mounted", err, got)
	}
	if n := reg.Count("PUT", "/blobs/uploads/"); n != 0 {
		t.Errorf("%d upload PUTs for a mounted blob", n)
	}
	if _, err := fetchAll(fetcherFor(t, r, reg.Host()+"/app"), img.Layers[0]); err != nil {
		t.Errorf("Fetch of the mounted blob = %v", err)
	}
}

func TestRegistryTokenAuth(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithTokenAuth("alice", "s3cret"))
	img := testutil.RandomImage(t, 2, 20_000)
	creds := func(string) (string, string, error) { return "alice", "s3cret", nil }
	hosts := func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{
			Host: host, Scheme: "http", Path: "/v2",
			Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve | docker.HostCapabilityPush,
			Authorizer:   docker.NewAuthorizer(host, docker.WithAuthCredentials(creds)),
		}}, nil
	}
	r := testResolver(docker.WithHosts(hosts))
	ref := reg.Host() + "/team/app:v1"
	pushImage(t, ctx, pusherFor(t, r, ref), img, img.Manifest)
	_, desc, err := r.Resolve(ctx, ref)
	if err != nil || desc.Digest != img.Manifest.Digest {
		t.Fatalf("Resolve(%q) = %v, %v", ref, desc.Digest, err)
	}
	fetchImage(t, ctx, fetcherFor(t, r, ref), newLocalStore(t), img, desc)

	// Without credentials, the registry refuses.
	_, _, err = testResolver().Resolve(ctx, ref)
	if !errdefs.IsUnauthorized(err) {
		t.Errorf("Resolve without credentials = %v, want Unauthenticated", err)
	}

	// Wrong credentials: refused, naming the user, never the secret.
	wrong := func(string) (string, string, error) { return "alice", "wrong-secret", nil }
	r = testResolver(docker.WithHosts(func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{
			Host: host, Scheme: "http", Path: "/v2", Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve,
			Authorizer: docker.NewAuthorizer(host, docker.WithAuthCredentials(wrong)),
		}}, nil
	}))
	_, _, err = r.Resolve(ctx, ref)
	if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("Resolve with wrong credentials = %v, want PermissionDenied naming alice and not the secret", err)
	}
}

// TestRegistryFaults runs fetches through the fault proxy in front of the
// in-process registry.
func TestRegistryFaults(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, 1<<20)
	img.Push(t, reg.Host(), "app", "v1")
	layer := img.Layers[0]
	blobs := testutil.Match{Method: "GET", Path: "/blobs/sha256:"}
	manifests := testutil.Match{Path: "/manifests/"}
	for _, tc := range []struct {
		name   string
		faults func(p *testutil.FaultProxy)
		kind   func(error) bool
		gets   int // blob GETs, 0 to not check
	}{
		{name: "cut once", faults: func(p *testutil.FaultProxy) { p.CutAfter(blobs, 200_000, 1) }, gets: 2},
		{name: "cut twice", faults: func(p *testutil.FaultProxy) { p.CutAfter(blobs, 100_000, 2) }, gets: 3},
		{name: "cut, then no range", faults: func(p *testutil.FaultProxy) {
			p.CutAfter(blobs, 300_000, 1)
			p.IgnoreRange(blobs, 1)
		}, gets: 2},
		{name: "cut always", faults: func(p *testutil.FaultProxy) { p.CutAfter(blobs, 1000, testutil.Forever) }, kind: errdefs.IsDataLoss},
		{name: "500 once", faults: func(p *testutil.FaultProxy) { p.Fail(blobs, 500, 1) }, gets: 2},
		{name: "503 on manifests", faults: func(p *testutil.FaultProxy) { p.Fail(manifests, 503, 2) }},
		{name: "rate limited", faults: func(p *testutil.FaultProxy) { p.RateLimit(blobs, "0", 2) }, gets: 3},
		{name: "404 is final", faults: func(p *testutil.FaultProxy) { p.Fail(blobs, 404, 1) }, kind: errdefs.IsNotFound, gets: 1},
		// remotes.Fetch leaves the digest check to the store's Commit.
		{name: "corrupt", faults: func(p *testutil.FaultProxy) { p.Corrupt(blobs, 1) }, kind: errdefs.IsFailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := testutil.NewFaultProxy(t, reg.Host())
			tc.faults(proxy)
			r := testResolver()
			ref := proxy.Host() + "/app:v1"
			_, desc, err := r.Resolve(ctx, ref)
			if err != nil {
				t.Fatalf("Resolve = %v", err)
			}
			store := newLocalStore(t)
			f := fetcherFor(t, r, ref)
			if err := remotes.Fetch(ctx, store, f, desc); err != nil {
				t.Fatalf("Fetch(manifest) = %v", err)
			}
			err = remotes.Fetch(ctx, store, f, layer)
			if gets := proxy.Count("GET", "/blobs/"); tc.gets != 0 && gets != tc.gets {
				t.Errorf("%d blob GETs, want %d: %v", gets, tc.gets, proxy.Requests())
			}
			if tc.kind != nil {
				if !tc.kind(err) {
					t.Fatalf("Fetch(layer) = %v, want an error of another kind", err)
				}
				if _, err := store.Info(ctx, layer.Digest); !errdefs.IsNotFound(err) {
					t.Errorf("store holds the layer after a failed fetch: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch(layer) = %v", err)
			}
			if b, _ := content.ReadBlob(ctx, store, layer, 0); !bytes.Equal(b, img.Blobs[layer.Digest]) {
				t.Error("layer differs")
			}
		})
	}
}

// TestRegistryRedirect fetches blobs that the registry redirects to
// storage on another host: the credentials must not follow.
func TestRegistryRedirect(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("alice", "s3cret"))
	img := testutil.RandomImage(t, 1, 300_000)
	img.Push(t, reg.Host(), "app", "v1", testutil.WithAuth("alice", "s3cret"))
	proxy := testutil.NewFaultProxy(t, reg.Host())
	mirror := testutil.NewBlobMirror(t)
	proxy.RedirectBlobs(mirror)
	proxy.CutAfter(testutil.Match{Method: "GET", Path: "/blobs/sha256:"}, 100_000, 1)
	creds := func(string) (string, string, error) { return "alice", "s3cret", nil }
	hosts := func(host string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{
			Host: host, Scheme: "http", Capabilities: docker.HostCapabilityPull | docker.HostCapabilityResolve,
			Authorizer: docker.NewAuthorizer(host, docker.WithAuthCredentials(creds)),
		}}, nil
	}
	r := testResolver(docker.WithHosts(hosts))
	ref := proxy.Host() + "/app:v1"
	_, desc, err := r.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	fetchImage(t, ctx, fetcherFor(t, r, ref), newLocalStore(t), img, desc)
	reqs := mirror.Requests()
	if len(reqs) < 2 {
		t.Fatalf("mirror got %d requests, want the redirected GETs and a resume: %v", len(reqs), reqs)
	}
	for _, rq := range reqs {
		if rq.Auth != "" {
			t.Errorf("mirror got credentials: %v", rq)
		}
	}
}

// TestDockerRegistryProcess runs a round trip against Debian's
// docker-registry (distribution 2.8) in its own process.
func TestDockerRegistryProcess(t *testing.T) {
	host := testutil.StartDockerRegistry(t)
	ctx := context.Background()
	img := testutil.RandomIndex(t, 2, 100_000)
	r := testResolver(docker.WithChunkedUploads(150_000, 64<<10))
	ref := host + "/test/app:v1"
	pushImage(t, ctx, pusherFor(t, r, ref+"@"+img.Manifest.Digest.String()), img, img.Manifest)
	_, desc, err := r.Resolve(ctx, ref)
	if err != nil || desc.Digest != img.Manifest.Digest {
		t.Fatalf("Resolve(%q) = %v, %v", ref, desc.Digest, err)
	}
	fetchImage(t, ctx, fetcherFor(t, r, ref), newLocalStore(t), img, desc)
}

// TestFetchByDigest fetches a blob knowing only its digest: the size comes
// from the registry and is enforced; a missing blob is NotFound.
func TestFetchByDigest(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	data := bytes.Repeat([]byte("blob by digest "), 10_000)
	desc := testutil.PushBlob(t, reg.Host(), "team/app", data)
	f := fetcherFor(t, testResolver(), reg.Host()+"/team/app")
	fd, ok := f.(remotes.FetcherByDigest)
	if !ok {
		t.Fatalf("%T is not a remotes.FetcherByDigest", f)
	}
	rc, got, err := fd.FetchByDigest(ctx, desc.Digest)
	if err != nil {
		t.Fatalf("FetchByDigest = %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(b, data) || got.Size != int64(len(data)) {
		t.Fatalf("FetchByDigest read %d bytes (descriptor size %d), %v; want the %d pushed", len(b), got.Size, err, len(data))
	}
	if _, _, err := fd.FetchByDigest(ctx, digest.FromString("absent")); !errdefs.IsNotFound(err) {
		t.Fatalf("FetchByDigest(absent) = %v, want NotFound", err)
	}
	if _, _, err := fd.FetchByDigest(ctx, "sha256:../../x"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("FetchByDigest(sha256:../../x) = %v, want InvalidArgument", err)
	}
}

// TestPushRetriesUpload: an upload the registry fails midway (500 on the
// PUT that carries the blob) is sent again from the store by remotes.Push.
func TestPushRetriesUpload(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	proxy := testutil.NewFaultProxy(t, reg.Host())
	proxy.Fail(testutil.Match{Method: "PUT", Path: "/blobs/uploads/"}, 500, 1)
	store := newLocalStore(t)
	data := bytes.Repeat([]byte("retried upload "), 50_000)
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, store, "blob", bytes.NewReader(data), desc); err != nil {
		t.Fatal(err)
	}
	ref := proxy.Host() + "/team/app"
	if err := remotes.Push(ctx, pusherFor(t, testResolver(), ref), store, desc); err != nil {
		t.Fatalf("Push through one failing PUT = %v", err)
	}
	if n := proxy.Count("PUT", "/blobs/uploads/"); n != 2 {
		t.Errorf("%d upload PUTs, want 2 (one failed, one retried)", n)
	}
	rc, err := fetcherFor(t, testResolver(), reg.Host()+"/team/app").Fetch(ctx, desc)
	if err != nil {
		t.Fatalf("Fetch after the retried push = %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Fetch after the retried push: %d bytes, %v", len(got), err)
	}
}

// TestFetchSlowCancelled: a fetch from a registry that trickles is ended
// by its context's deadline, promptly, and commits nothing.
func TestFetchSlowCancelled(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, 1<<20)
	img.Push(t, reg.Host(), "app", "v1")
	proxy := testutil.NewFaultProxy(t, reg.Host())
	proxy.Slow(testutil.Match{Method: "GET", Path: "/blobs/sha256:"}, 10_000, testutil.Forever)
	store := newLocalStore(t)
	f := fetcherFor(t, testResolver(), proxy.Host()+"/app:v1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := remotes.Fetch(ctx, store, f, img.Layers[0])
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch from a trickling registry = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v to notice its deadline", d)
	}
	if _, err := store.Info(context.Background(), img.Layers[0].Digest); !errdefs.IsNotFound(err) {
		t.Errorf("store holds the layer after a cancelled fetch: %v", err)
	}
}
