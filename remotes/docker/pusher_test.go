package docker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

func pusherFor(t *testing.T, r remotes.Resolver, ref string) remotes.Pusher {
	t.Helper()
	p, err := r.Pusher(context.Background(), ref)
	if err != nil {
		t.Fatalf("Pusher(%q) = %v", ref, err)
	}
	return p
}

// push writes data through the pusher in writes of at most step bytes.
func push(ctx context.Context, p remotes.Pusher, desc ocispec.Descriptor, data []byte, step int) error {
	w, err := p.Push(ctx, desc)
	if err != nil {
		return err
	}
	defer w.Close()
	for b := data; len(b) > 0; {
		n := min(step, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return w.Commit(ctx, desc.Size, desc.Digest)
}

func TestPushBlob(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		chunkMin int64
		opts     []docker.ResolverOpt
		patches  int
	}{
		{name: "monolithic", size: 100_000},
		{name: "empty", size: 0},
		{name: "chunked by the registry", size: 3500, chunkMin: 1000, opts: []docker.ResolverOpt{docker.WithChunkedUploads(1<<30, 10)}, patches: 4},
		{name: "chunked by size", size: 100_000, opts: []docker.ResolverOpt{docker.WithChunkedUploads(50_000, 30_000)}, patches: 4},
		{name: "chunked, exact chunks", size: 90_000, opts: []docker.ResolverOpt{docker.WithChunkedUploads(50_000, 30_000)}, patches: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			reg.chunkMin = tc.chunkMin
			data := randomBytes(t, tc.size)
			desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(data), Size: int64(len(data))}
			p := pusherFor(t, testResolver(tc.opts...), reg.host()+"/app:v1")
			if err := push(context.Background(), p, desc, data, 7777); err != nil {
				t.Fatalf("push = %v", err)
			}
			if got, ok := reg.blob("app", desc.Digest); !ok || !bytes.Equal(got, data) {
				t.Errorf("registry holds %d bytes (%v), want %d", len(got), ok, len(data))
			}
			if n := len(reg.requests("PATCH ")); n != tc.patches {
				t.Errorf("%d PATCHes, want %d", n, tc.patches)
			}
			if n := len(reg.requests("PUT ")); n != 1 {
				t.Errorf("%d PUTs, want 1", n)
			}
			// Pushed once, it is there.
			_, err := p.Push(context.Background(), desc)
			if !errdefs.IsAlreadyExists(err) {
				t.Errorf("second Push = %v, want AlreadyExists", err)
			}
		})
	}
}

func TestPushBlobRefusesBadContent(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 10_000)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(data), Size: int64(len(data))}
	other := append([]byte(nil), data...)
	other[0] ^= 1
	p := pusherFor(t, testResolver(), reg.host()+"/app:v1")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"other bytes", other},
		{"short", data[:9000]},
		{"long", append(data, 'x')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := push(context.Background(), p, desc, tc.data, 4096)
			if !errdefs.IsFailedPrecondition(err) {
				t.Errorf("push(%s) = %v, want FailedPrecondition", tc.name, err)
			}
			if _, ok := reg.blob("app", desc.Digest); ok {
				t.Errorf("push(%s) left a blob", tc.name)
			}
		})
	}
	if n := len(reg.requests("DELETE ")); n != 3 {
		t.Errorf("%d DELETEs of abandoned uploads, want 3", n)
	}
}

func TestPushMount(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 1000)
	desc := reg.addBlob("base", data)
	p := pusherFor(t, testResolver(), reg.host()+"/app:v1")
	ctx := docker.WithMountSources(context.Background(), "docker.io/library/elsewhere", reg.host()+"/base")
	var progress []remotes.ProgressState
	err := remotes.Push(ctx, p, providerOf(data), desc, remotes.WithProgress(func(pr remotes.Progress) {
		progress = append(progress, pr.State)
	}))
	if err != nil {
		t.Fatalf("Push = %v", err)
	}
	if _, ok := reg.blob("app", desc.Digest); !ok {
		t.Error("blob not mounted")
	}
	if len(progress) != 2 || progress[1] != remotes.ProgressMounted {
		t.Errorf("progress %v, want Waiting, Mounted", progress)
	}
	if n := len(reg.requests("PUT ")); n != 0 {
		t.Errorf("%d PUTs for a mounted blob", n)
	}
	_, err = p.Push(docker.WithMountSources(context.Background(), reg.host()+"/base"), ocispec.Descriptor{Digest: desc.Digest, Size: desc.Size})
	var mounted *remotes.MountedError
	if !errdefs.IsAlreadyExists(err) || errors.As(err, &mounted) {
		t.Errorf("Push of a blob the repository holds = %v, want plain AlreadyExists", err)
	}
}

func TestPushMountRefused(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 1000)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	p := pusherFor(t, testResolver(), reg.host()+"/app:v1")
	// The source lacks the blob: the registry starts an upload instead.
	ctx := docker.WithMountSources(context.Background(), reg.host()+"/base")
	if err := push(ctx, p, desc, data, 1000); err != nil {
		t.Fatalf("push = %v", err)
	}
	if n := len(reg.requests("POST ")); n != 1 {
		t.Errorf("%d POSTs, want the mount attempt's upload to be used", n)
	}
}

func TestPushManifest(t *testing.T) {
	reg := newFakeRegistry(t)
	config := reg.addBlob("app", []byte(`{}`))
	manifest := imageManifest(t, config)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	r := testResolver()
	ref := reg.host() + "/app:v1"
	if err := push(context.Background(), pusherFor(t, r, ref), desc, manifest, 100); err != nil {
		t.Fatalf("push = %v", err)
	}
	if m, ok := reg.manifest("app", "v1"); !ok || m.mediaType != desc.MediaType || !bytes.Equal(m.body, manifest) {
		t.Errorf("tag v1 holds %+v", m)
	}
	if _, got, err := r.Resolve(context.Background(), ref); err != nil || got.Digest != desc.Digest {
		t.Errorf("Resolve(%q) = %v, %v", ref, got.Digest, err)
	}
	if _, err := pusherFor(t, r, ref).Push(context.Background(), desc); !errdefs.IsAlreadyExists(err) {
		t.Errorf("Push of the tagged manifest again = %v, want AlreadyExists", err)
	}
	// A reference with tag and digest tags only the manifest of its digest.
	other := imageManifest(t, config, config)
	otherDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(other), Size: int64(len(other))}
	if err := push(context.Background(), pusherFor(t, r, ref+"@"+desc.Digest.String()), otherDesc, other, 1<<20); err != nil {
		t.Fatalf("push of a child = %v", err)
	}
	if m, _ := reg.manifest("app", "v1"); !bytes.Equal(m.body, manifest) {
		t.Error("pushing another manifest moved the tag")
	}
	if _, ok := reg.manifest("app", otherDesc.Digest.String()); !ok {
		t.Error("child manifest not pushed by digest")
	}
	// A document that is not what its media type says is not pushed.
	bad := []byte(`{"schemaVersion":2,"manifests":[],"layers":[]}`)
	badDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(bad), Size: int64(len(bad))}
	if err := push(context.Background(), pusherFor(t, r, reg.host()+"/app"), badDesc, bad, 100); !errdefs.IsDataLoss(err) {
		t.Errorf("push of an index with layers = %v, want DataLoss", err)
	}
}

func TestPushRefusesForeignLocation(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "http://attacker.example/upload")
			w.WriteHeader(http.StatusAccepted)
			return true
		}
		return false
	})
	data := []byte("blob")
	_, err := pusherFor(t, testResolver(), reg.host()+"/app").Push(context.Background(), ocispec.Descriptor{Digest: digest.FromBytes(data), Size: 4})
	if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), "attacker.example") {
		t.Errorf("Push with a Location on another host = %v, want PermissionDenied naming it", err)
	}
}

func TestPushWriter(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 1000)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	w, err := pusherFor(t, testResolver(), reg.host()+"/app").Push(context.Background(), desc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Truncate(0); err != nil {
		t.Errorf("Truncate(0) before writing = %v", err)
	}
	w.Write(data[:10])
	if err := w.Truncate(0); !errdefs.IsNotImplemented(err) {
		t.Errorf("Truncate(0) after writing = %v, want NotImplemented", err)
	}
	st, _ := w.Status()
	if st.Offset != 10 || st.Total != 1000 || st.Expected != desc.Digest {
		t.Errorf("Status = %+v", st)
	}
	if w.Digest() != digest.FromBytes(data[:10]) {
		t.Errorf("Digest = %s, want that of the 10 bytes written", w.Digest())
	}
	if err := content.Copy(context.Background(), w, bytes.NewReader(data), desc.Size, desc.Digest); err != nil {
		t.Fatalf("Copy after 10 bytes = %v", err)
	}
	if got, _ := reg.blob("app", desc.Digest); !bytes.Equal(got, data) {
		t.Error("blob differs")
	}
}

func TestPushCommitCancelled(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done() // never answers
		return true
	})
	data := randomBytes(t, 10_000)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	w, err := pusherFor(t, testResolver(), reg.host()+"/app").Push(context.Background(), desc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if err := w.Commit(ctx, desc.Size, desc.Digest); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Commit took %v to notice the cancellation", d)
	}
}

func TestPushRetriesStart(t *testing.T) {
	reg := newFakeRegistry(t)
	failed := false
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && !failed {
			failed = true
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	data := randomBytes(t, 1000)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := push(context.Background(), pusherFor(t, testResolver(), reg.host()+"/app"), desc, data, 100); err != nil {
		t.Fatalf("push = %v", err)
	}
	if n := len(reg.requests("POST ")); n != 2 {
		t.Errorf("%d POSTs, want 2", n)
	}
}
