package docker_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

func TestResolve(t *testing.T) {
	reg := newFakeRegistry(t)
	config := reg.addBlob("app", []byte(`{}`))
	manifest := imageManifest(t, config)
	want := reg.addManifest("app", "v1", ocispec.MediaTypeImageManifest, manifest)
	reg.addManifest("app2", "generic", "application/json", manifest)
	schema1 := reg.addManifest("old", "v1", remotes.MediaTypeDockerSchema1SignedManifest, []byte(`{"schemaVersion":1,"fsLayers":[]}`))
	reg.addManifest("old2", "sniffed", "text/plain", []byte(`{"schemaVersion":1,"fsLayers":[]}`))
	h := reg.host()

	noDigestOnHead := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			return true // 200, no digest, no length
		}
		return false
	}
	headNotAllowed := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return true
		}
		return false
	}
	for _, tc := range []struct {
		name     string
		ref      string
		hook     func(http.ResponseWriter, *http.Request) bool
		wantName string
		wantGETs int
		kind     func(error) bool
	}{
		{name: "tag", ref: h + "/app:v1", wantName: h + "/app:v1"},
		{name: "digest", ref: h + "/app@" + want.Digest.String(), wantName: h + "/app@" + want.Digest.String()},
		{name: "tag and digest", ref: h + "/app:v1@" + want.Digest.String(), wantName: h + "/app:v1@" + want.Digest.String()},
		{name: "HEAD without digest", ref: h + "/app:v1", hook: noDigestOnHead, wantName: h + "/app:v1", wantGETs: 1},
		{name: "HEAD not allowed", ref: h + "/app:v1", hook: headNotAllowed, wantName: h + "/app:v1", wantGETs: 1},
		{name: "generic content type", ref: h + "/app2:generic", wantName: h + "/app2:generic", wantGETs: 1},
		{name: "missing tag", ref: h + "/app:v2", kind: errdefs.IsNotFound, wantGETs: 1},
		{name: "missing repository", ref: h + "/nope", kind: errdefs.IsNotFound, wantGETs: 1},
		{name: "schema 1", ref: h + "/old:v1", kind: errdefs.IsNotImplemented},
		{name: "schema 1 by digest", ref: h + "/old@" + schema1.Digest.String(), kind: errdefs.IsNotImplemented},
		{name: "schema 1 sniffed", ref: h + "/old2:sniffed", kind: errdefs.IsNotImplemented, wantGETs: 1},
		{name: "malformed", ref: h + "/App:v1", kind: errdefs.IsInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.setHook(tc.hook)
			before := len(reg.requests("GET "))
			name, desc, err := testResolver().Resolve(context.Background(), tc.ref)
			if gets := len(reg.requests("GET ")) - before; gets != tc.wantGETs {
				t.Errorf("Resolve(%q) sent %d GETs, want %d: %q", tc.ref, gets, tc.wantGETs, reg.requests(""))
			}
			if tc.kind != nil {
				if !tc.kind(err) {
					t.Fatalf("Resolve(%q) = %v, want an error of another kind", tc.ref, err)
				}
				if !strings.Contains(err.Error(), tc.ref[len(h)+1:len(h)+4]) {
					t.Errorf("Resolve(%q) = %v, does not name the reference", tc.ref, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q) = %v", tc.ref, err)
			}
			if name != tc.wantName || desc.Digest != want.Digest || desc.Size != want.Size {
				t.Errorf("Resolve(%q) = %q, %+v; want %q, %+v", tc.ref, name, desc, tc.wantName, want)
			}
			if tc.name != "generic content type" && desc.MediaType != ocispec.MediaTypeImageManifest {
				t.Errorf("Resolve(%q) media type %q", tc.ref, desc.MediaType)
			}
		})
	}
}

func TestResolveNormalises(t *testing.T) {
	var got []string
	r := docker.NewResolver(docker.WithHosts(func(host string) ([]docker.RegistryHost, error) {
		got = append(got, host)
		return nil, errors.New("no network in this test")
	}))
	if _, _, err := r.Resolve(context.Background(), "redis"); err == nil {
		t.Fatal("Resolve(redis) with no hosts succeeded")
	}
	if len(got) != 1 || got[0] != "docker.io" {
		t.Errorf("hosts asked for %q, want docker.io", got)
	}
}

func TestResolveMirrors(t *testing.T) {
	mirror := newFakeRegistry(t)
	upstream := newFakeRegistry(t)
	config := upstream.addBlob("app", []byte(`{}`))
	want := upstream.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, config))
	mirror.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, config, config))
	pullOnly := docker.HostCapabilityPull
	hosts := func(string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{
			{Host: mirror.host(), Scheme: "http", Capabilities: pullOnly},
			{Host: upstream.host(), Scheme: "http", Capabilities: pullOnly | docker.HostCapabilityResolve},
		}, nil
	}
	r := testResolver(docker.WithHosts(hosts))
	_, desc, err := r.Resolve(context.Background(), "example.com/app:v1")
	if err != nil || desc.Digest != want.Digest {
		t.Fatalf("Resolve(tag) = %v, %v; want %s from the upstream", desc.Digest, err, want.Digest)
	}
	if n := len(mirror.requests("")); n != 0 {
		t.Errorf("a pull-only mirror got %d requests to resolve a tag", n)
	}
	// By digest, the mirror is asked first; it lacks it, the upstream has it.
	if _, _, err := r.Resolve(context.Background(), "example.com/app@"+want.Digest.String()); err != nil {
		t.Fatalf("Resolve(digest) = %v", err)
	}
	if n := len(mirror.requests("HEAD ")); n != 1 {
		t.Errorf("mirror got %d HEADs for a digest, want 1", n)
	}
}

func TestResolveRetries(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, reg.addBlob("app", []byte(`{}`))))
	ref := reg.host() + "/app:v1"
	fail := func(n int, status int, header http.Header) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if n == 0 {
				return false
			}
			n--
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			return true
		}
	}
	for _, tc := range []struct {
		name     string
		hook     func(http.ResponseWriter, *http.Request) bool
		opts     []docker.ResolverOpt
		requests int
		kind     func(error) bool
	}{
		{name: "500 then 200", hook: fail(1, 500, nil), requests: 2},
		{name: "503 four times", hook: fail(4, 503, nil), requests: 5},
		{name: "503 five times", hook: fail(5, 503, nil), requests: 5, kind: errdefs.IsUnavailable},
		{name: "no retries", hook: fail(1, 502, nil), opts: []docker.ResolverOpt{docker.WithMaxRetries(0)}, requests: 1, kind: errdefs.IsUnavailable},
		{name: "429 then 200", hook: fail(1, 429, http.Header{"Retry-After": {"0"}}), requests: 2},
		{name: "429 always", hook: fail(10, 429, nil), requests: 5, kind: errdefs.IsResourceExhausted},
		{name: "408 then 200", hook: fail(1, 408, nil), requests: 2},
		{name: "403 is final", hook: fail(1, 403, nil), requests: 1, kind: errdefs.IsPermissionDenied},
		{name: "400 is final", hook: fail(1, 400, nil), requests: 1, kind: errdefs.IsInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.setHook(tc.hook)
			before := len(reg.requests(""))
			_, _, err := testResolver(tc.opts...).Resolve(context.Background(), ref)
			if n := len(reg.requests("")) - before; n != tc.requests {
				t.Errorf("Resolve sent %d requests, want %d", n, tc.requests)
			}
			switch {
			case tc.kind == nil && err != nil:
				t.Errorf("Resolve(%q) = %v", ref, err)
			case tc.kind != nil && !tc.kind(err):
				t.Errorf("Resolve(%q) = %v, want an error of another kind", ref, err)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, reg.addBlob("app", []byte(`{}`))))
	var first time.Time
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if first.IsZero() {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	r := docker.NewResolver(docker.WithRetryBackoff(time.Millisecond, 3*time.Second))
	if _, _, err := r.Resolve(context.Background(), reg.host()+"/app:v1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(first); d < 900*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", d)
	}
}

func TestResolveCancelledDuringBackoff(t *testing.T) {
	reg := newFakeRegistry(t)
	ctx, cancel := context.WithCancel(context.Background())
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		cancel()
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	r := docker.NewResolver(docker.WithRetryBackoff(time.Hour, time.Hour))
	start := time.Now()
	_, _, err := r.Resolve(ctx, reg.host()+"/app:v1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Resolve took %v to notice the cancellation", d)
	}
}

func TestRegistryError(t *testing.T) {
	reg := newFakeRegistry(t)
	_, _, err := testResolver().Resolve(context.Background(), reg.host()+"/app:v1")
	var re *docker.Error
	if !errors.As(err, &re) {
		t.Fatalf("Resolve = %v (%T), want a *docker.Error inside", err, err)
	}
	if re.StatusCode != 404 || len(re.Errors) != 1 || re.Errors[0].Code != "MANIFEST_UNKNOWN" || re.Temporary() {
		t.Errorf("error = %+v", re)
	}
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("error %q: not NotFound or lacks the code", err)
	}
}

func TestInvalidOption(t *testing.T) {
	r := docker.NewResolver(docker.WithMaxRetries(-1))
	if _, _, err := r.Resolve(context.Background(), "redis"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Resolve with an invalid option = %v, want InvalidArgument", err)
	}
}
