package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func fetcherFor(t testing.TB, r remotes.Resolver, ref string) remotes.Fetcher {
	t.Helper()
	f, err := r.Fetcher(context.Background(), ref)
	if err != nil {
		t.Fatalf("Fetcher(%q) = %v", ref, err)
	}
	return f
}

// fetchAll fetches desc and reads it to the end.
func fetchAll(f remotes.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	rc, err := f.Fetch(context.Background(), desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestFetchManifest(t *testing.T) {
	reg := newFakeRegistry(t)
	config := reg.addBlob("app", []byte(`{}`))
	good := reg.addManifest("app", "", ocispec.MediaTypeImageManifest, imageManifest(t, config))
	both := reg.addManifest("app", "", ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[],"layers":[]}`))
	lying := reg.addManifest("app", "", ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}`))
	asIndex := good
	asIndex.MediaType = ocispec.MediaTypeImageIndex
	huge := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: good.Digest, Size: remotes.MaxManifestSize + 1}
	wrongSize := good
	wrongSize.Size--
	f := fetcherFor(t, testResolver(), reg.host()+"/app")
	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		kind func(error) bool
	}{
		{name: "good", desc: good},
		{name: "index with layers", desc: both, kind: errdefs.IsDataLoss},
		{name: "mediaType field disagrees", desc: lying, kind: errdefs.IsDataLoss},
		{name: "manifest as index", desc: asIndex, kind: errdefs.IsDataLoss},
		{name: "too large", desc: huge, kind: errdefs.IsFailedPrecondition},
		{name: "wrong size", desc: wrongSize, kind: errdefs.IsDataLoss},
		{name: "bad digest", desc: ocispec.Descriptor{MediaType: good.MediaType, Digest: "sha256:../../etc", Size: 2}, kind: errdefs.IsInvalidArgument},
		{name: "schema 1", desc: ocispec.Descriptor{MediaType: remotes.MediaTypeDockerSchema1Manifest, Digest: good.Digest, Size: 2}, kind: errdefs.IsNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(reg.requests(""))
			b, err := fetchAll(f, tc.desc)
			if tc.kind != nil {
				if !tc.kind(err) {
					t.Fatalf("Fetch(%s) = %v, want an error of another kind", tc.name, err)
				}
				if (tc.name == "too large" || tc.name == "bad digest") && len(reg.requests("")) != before {
					t.Errorf("Fetch(%s) sent a request", tc.name)
				}
				return
			}
			if err != nil || digest.FromBytes(b) != tc.desc.Digest {
				t.Fatalf("Fetch(%s) = %d bytes, %v", tc.name, len(b), err)
			}
		})
	}
}

func TestFetchBlob(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 100_000)
	desc := reg.addBlob("app", data)
	corrupt := append([]byte(nil), data...)
	corrupt[50_000] ^= 1
	f := fetcherFor(t, testResolver(docker.WithMaxRetries(1)), reg.host()+"/app")
	serve := func(b []byte, length int) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if length >= 0 {
				w.Header().Set("Content-Length", strconv.Itoa(length))
			}
			w.WriteHeader(http.StatusOK)
			w.Write(b)
			return true
		}
	}
	for _, tc := range []struct {
		name string
		hook func(http.ResponseWriter, *http.Request) bool
		desc ocispec.Descriptor
		kind func(error) bool
	}{
		{name: "good", desc: desc},
		{name: "missing", desc: ocispec.Descriptor{Digest: digest.FromString("x"), Size: 1}, kind: errdefs.IsNotFound},
		{name: "corrupt", hook: serve(corrupt, len(corrupt)), desc: desc, kind: errdefs.IsDataLoss},
		{name: "short with length", hook: serve(data[:99_999], 99_999), desc: desc, kind: errdefs.IsDataLoss},
		{name: "long with length", hook: serve(append(data, 'x'), len(data)+1), desc: desc, kind: errdefs.IsDataLoss},
		{name: "short without length", hook: serve(data[:99_999], -1), desc: desc, kind: errdefs.IsDataLoss},
		{name: "long without length", hook: serve(append(data, 'x'), -1), desc: desc, kind: errdefs.IsDataLoss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.setHook(tc.hook)
			b, err := fetchAll(f, tc.desc)
			if tc.kind != nil {
				if err == nil || !tc.kind(err) {
					t.Fatalf("Fetch = %d bytes, %v; want an error of another kind", len(b), err)
				}
				return
			}
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("Fetch = %d bytes, %v", len(b), err)
			}
		})
	}
}

// cutOnce answers the first blob GET with the whole length announced but
// only part of the body, then cuts the connection.
func cutOnce(t *testing.T, data []byte, at int) func(http.ResponseWriter, *http.Request) bool {
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) bool {
		cut := false
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			once.Do(func() { cut = true })
		}
		if !cut {
			return false
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return true
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(data)) + "\r\n\r\n")
		buf.Write(data[:at])
		buf.Flush()
		return true
	}
}

func TestFetchResumes(t *testing.T) {
	data := randomBytes(t, 1<<20)
	for _, tc := range []struct {
		name      string
		noRange   bool // the server ignores Range and sends the whole blob
		wantRange string
	}{
		{name: "206", wantRange: "bytes=300000-"},
		{name: "200 instead of 206", noRange: true, wantRange: "bytes=300000-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			desc := reg.addBlob("app", data)
			cut := cutOnce(t, data, 300_000)
			var ranges []string
			var mu sync.Mutex
			reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				ranges = append(ranges, r.Header.Get("Range"))
				mu.Unlock()
				if tc.noRange {
					r.Header.Del("Range")
				}
				return cut(w, r)
			})
			b, err := fetchAll(fetcherFor(t, testResolver(), reg.host()+"/app"), desc)
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("Fetch = %d bytes, %v", len(b), err)
			}
			if len(ranges) != 2 || ranges[0] != "" || ranges[1] != tc.wantRange {
				t.Errorf("Range headers %q, want none then %q", ranges, tc.wantRange)
			}
		})
	}
}

func TestFetchResumeBudget(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 10_000)
	desc := reg.addBlob("app", data)
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		conn, buf, _ := w.(http.Hijacker).Hijack()
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n")
		buf.Flush()
		return true
	})
	b, err := fetchAll(fetcherFor(t, testResolver(docker.WithMaxRetries(2)), reg.host()+"/app"), desc)
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Fetch from a server that always cuts = %d bytes, %v", len(b), err)
	}
	if n := len(reg.requests("GET ")); n != 3 {
		t.Errorf("%d GETs, want 3 (the first and 2 resumes)", n)
	}
}

func TestFetchCancelDuringBody(t *testing.T) {
	reg := newFakeRegistry(t)
	data := randomBytes(t, 1<<20)
	desc := reg.addBlob("app", data)
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	f := fetcherFor(t, testResolver(), reg.host()+"/app")
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(10*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll after cancel = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %v", d)
	}
}

// tokenAuthorizer authorizes every request to its host with a fixed
// token.
type tokenAuthorizer struct{ host string }

func (a tokenAuthorizer) Authorize(ctx context.Context, req *http.Request) error {
	if req.URL.Host == a.host {
		req.Header.Set("Authorization", "Bearer secret")
	}
	return nil
}

func (a tokenAuthorizer) AddResponses(ctx context.Context, _ []*http.Response) error {
	return errdefs.ErrNotImplemented
}

func TestFetchRedirectDropsAuthorization(t *testing.T) {
	data := randomBytes(t, 10_000)
	var cdnAuth []string
	var mu sync.Mutex
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		serveRange(w, r, data)
	}))
	defer cdn.Close()
	reg := newFakeRegistry(t)
	desc := reg.addBlob("app", data)
	var regAuth string
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		regAuth = r.Header.Get("Authorization")
		http.Redirect(w, r, cdn.URL+"/blob?sig=x", http.StatusTemporaryRedirect)
		return true
	})
	r := testResolver(docker.WithHosts(func(string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{Host: reg.host(), Scheme: "http", Capabilities: docker.HostCapabilityPull, Authorizer: tokenAuthorizer{reg.host()}}}, nil
	}))
	b, err := fetchAll(fetcherFor(t, r, "example.com/app"), desc)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("Fetch = %d bytes, %v", len(b), err)
	}
	if regAuth != "Bearer secret" {
		t.Errorf("registry got Authorization %q, want the token", regAuth)
	}
	if len(cdnAuth) != 1 || cdnAuth[0] != "" {
		t.Errorf("CDN got Authorization %q, want none", cdnAuth)
	}
}

func TestFetchForeignURLs(t *testing.T) {
	data := randomBytes(t, 5000)
	var auth []string
	var mu sync.Mutex
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		serveRange(w, r, data)
	}))
	defer foreign.Close()
	reg := newFakeRegistry(t)
	desc := ocispec.Descriptor{MediaType: remotes.MediaTypeDockerForeignLayer, Digest: digest.FromBytes(data), Size: int64(len(data)),
		URLs: []string{"file:///etc/passwd", foreign.URL + "/layer"}}
	r := testResolver(docker.WithHosts(func(string) ([]docker.RegistryHost, error) {
		return []docker.RegistryHost{{Host: reg.host(), Scheme: "http", Capabilities: docker.HostCapabilityPull,
			Authorizer: tokenAuthorizer{foreign.Listener.Addr().String()}, Header: http.Header{"X-Registry-Secret": {"s"}}}}, nil
	}))
	f := fetcherFor(t, r, "example.com/app")
	b, err := fetchAll(f, desc)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("Fetch = %d bytes, %v", len(b), err)
	}
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("foreign URL got Authorization %q, want none", auth)
	}
	// When the registry has the blob, the URLs are not used.
	reg.addBlob("app", data)
	if _, err := fetchAll(f, desc); err != nil {
		t.Fatal(err)
	}
	if len(auth) != 1 {
		t.Errorf("foreign URL asked %d times, want once", len(auth))
	}
}
