package testutil

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// proxied starts a registry holding one random blob, and a fault proxy in
// front of it; it returns the proxy, the registry, the blob and its URL
// through the proxy.
func proxied(t *testing.T, size int) (*FaultProxy, *Registry, []byte, string) {
	t.Helper()
	reg := NewRegistry(t)
	data := randomBytes(size)
	desc := PushBlob(t, reg.Host(), "faults/repo", data)
	p := NewFaultProxy(t, reg.Host())
	return p, reg, data, p.URL() + "/v2/faults/repo/blobs/" + desc.Digest.String()
}

var blobGET = Match{Method: http.MethodGet, Path: "/blobs/sha256:"}

func TestFaultProxyForwards(t *testing.T) {
	p, reg, data, blobURL := proxied(t, 5000)
	resp, body := get(t, http.MethodGet, blobURL, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the proxy = %s", resp.Status)
	}
	mustEqual(t, "GET through the proxy", body, data)

	// Pushing through the proxy works: the registry's upload Location
	// points back at the proxy, not at the registry.
	reg.Reset()
	p.Reset()
	img := RandomImage(t, 1, 100)
	img.Push(t, p.Host(), "faults/pushed", "v1")
	if n := p.Count(http.MethodPut, "/blobs/uploads/"); n != 2 {
		t.Errorf("proxy saw %d upload PUTs, want 2 (config and layer)", n)
	}
	if n, m := reg.Count("", "/"), p.Count("", "/"); n != m {
		t.Errorf("registry saw %d requests, proxy %d; want the same", n, m)
	}
}

func TestFaultProxyFail(t *testing.T) {
	p, reg, data, blobURL := proxied(t, 100)
	reg.Reset()
	p.Fail(blobGET, http.StatusInternalServerError, 2)
	for i := range 2 {
		resp, body := get(t, http.MethodGet, blobURL, nil)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"UNKNOWN"`) {
			t.Fatalf("GET %d = %s %s, want 500 with an error body", i, resp.Status, body)
		}
	}
	if n := p.Pending(); n != 0 {
		t.Errorf("Pending() = %d after the faults ran out", n)
	}
	resp, body := get(t, http.MethodGet, blobURL, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET after the faults = %s", resp.Status)
	}
	mustEqual(t, "GET after the faults", body, data)
	if n := reg.Count(http.MethodGet, "/blobs/"); n != 1 {
		t.Errorf("registry saw %d GETs, want 1: faults are not forwarded", n)
	}
	if got := p.Requests(); len(got) != 3 || got[0].Status != 500 || got[2].Status != 200 {
		t.Errorf("proxy log = %v", got)
	}

	// A fault for another method or path leaves the request alone.
	p.Fail(Match{Method: http.MethodHead}, http.StatusServiceUnavailable, Forever)
	p.Fail(Match{Path: "/manifests/"}, http.StatusNotFound, 1)
	if resp, _ := get(t, http.MethodGet, blobURL, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with non-matching faults = %s", resp.Status)
	}
	for range 2 {
		if resp, _ := get(t, http.MethodHead, blobURL, nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("HEAD with a Forever fault = %s, want 503", resp.Status)
		}
	}
	if n := p.Pending(); n != 2 {
		t.Errorf("Pending() = %d, want 2", n)
	}
	p.Clear()
	if resp, _ := get(t, http.MethodHead, blobURL, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD after Clear = %s", resp.Status)
	}
}

func TestFaultProxyRateLimit(t *testing.T) {
	p, _, _, blobURL := proxied(t, 100)
	p.RateLimit(Match{}, "3", 1)
	resp, body := get(t, http.MethodGet, blobURL, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" ||
		!strings.Contains(string(body), "TOOMANYREQUESTS") {
		t.Fatalf("GET = %s, Retry-After %q, %s", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := get(t, http.MethodGet, blobURL, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET after the 429 = %s", resp.Status)
	}
}

func TestFaultProxyCutAfter(t *testing.T) {
	p, _, data, blobURL := proxied(t, 100000)
	p.CutAfter(blobGET, 30000, 1)

	resp, err := http.Get(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(data)) {
		t.Fatalf("GET = %s, length %d", resp.Status, resp.ContentLength)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 30000 {
		t.Fatalf("reading the cut body: %d bytes, %v; want 30000 bytes, unexpected EOF", len(got), err)
	}
	mustEqual(t, "the bytes before the cut", got, data[:30000])

	resp, rest := get(t, http.MethodGet, blobURL, hdr("Range", "bytes=30000-"))
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != "bytes 30000-99999/100000" {
		t.Fatalf("resume = %s, Content-Range %q", resp.Status, resp.Header.Get("Content-Range"))
	}
	mustEqual(t, "resumed download", append(got, rest...), data)
	if r := p.Requests()[1]; r.Range != "bytes=30000-" {
		t.Errorf("log of the resume: Range %q", r.Range)
	}
}

func TestFaultProxyCorrupt(t *testing.T) {
	p, _, data, blobURL := proxied(t, 10000)
	p.Corrupt(blobGET, 1)
	_, body := get(t, http.MethodGet, blobURL, nil)
	if len(body) != len(data) {
		t.Fatalf("corrupted body has %d bytes, want %d", len(body), len(data))
	}
	for i := range body {
		want := data[i]
		if i%4096 == 0 {
			want ^= 0xff
		}
		if body[i] != want {
			t.Fatalf("byte %d = %#x, want %#x", i, body[i], want)
		}
	}
	_, body = get(t, http.MethodGet, blobURL, nil)
	mustEqual(t, "GET after the corruption", body, data)
}

func TestFaultProxySlow(t *testing.T) {
	p, _, data, blobURL := proxied(t, 20000)
	// 20000 bytes at 200000 B/s: 5 pieces of 4000, 20 ms apart each.
	p.Slow(blobGET, 200000, 1)
	start := time.Now()
	_, body := get(t, http.MethodGet, blobURL, nil)
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("slow GET took %v, want at least 100ms", took)
	}
	mustEqual(t, "slow GET", body, data)
}

func TestFaultProxyIgnoreRange(t *testing.T) {
	p, reg, data, blobURL := proxied(t, 1000)
	reg.Reset()
	p.IgnoreRange(blobGET, 1)
	resp, body := get(t, http.MethodGet, blobURL, hdr("Range", "bytes=500-"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with an ignored Range = %s, want 200", resp.Status)
	}
	mustEqual(t, "GET with an ignored Range", body, data)
	if r := p.Requests()[0]; r.Range != "bytes=500-" {
		t.Errorf("proxy log Range = %q, want the client's", r.Range)
	}
	if r := reg.Requests()[0]; r.Range != "" {
		t.Errorf("registry got Range %q, want none", r.Range)
	}
	resp, body = get(t, http.MethodGet, blobURL, hdr("Range", "bytes=500-"))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET with Range after the fault = %s, want 206", resp.Status)
	}
	mustEqual(t, "ranged GET", body, data[500:])
}

func TestFaultProxyRedirectBlobs(t *testing.T) {
	reg := NewRegistry(t, WithTokenAuth("dave", "pw"))
	img := RandomImage(t, 1, 50000)
	img.Push(t, reg.Host(), "redirect/repo", "v1", WithAuth("dave", "pw"))
	layer := img.Layers[0]
	data := img.Blobs[layer.Digest]

	p := NewFaultProxy(t, reg.Host())
	mirror := NewBlobMirror(t)
	p.RedirectBlobs(mirror)
	blobURL := p.URL() + "/v2/redirect/repo/blobs/" + layer.Digest.String()

	resp, _ := get(t, http.MethodGet, blobURL, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a token = %s, want the registry's 401", resp.Status)
	}
	_, token := tokenByHand(t, resp.Header.Get("WWW-Authenticate"), "dave", "pw")
	bearer := hdr("Authorization", "Bearer "+token)

	// Go's own client keeps Authorization on a redirect to the same
	// hostname on another port; the mirror refuses it.
	resp, _ = get(t, http.MethodGet, blobURL, bearer)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET following the redirect with Authorization = %s, want the mirror's 400", resp.Status)
	}
	if r := mirror.Requests()[0]; r.Auth != "Bearer" {
		t.Fatalf("mirror log = %v, want the leaked Bearer recorded", mirror.Requests())
	}

	// A client that drops credentials on a change of host gets the blob;
	// here the first download is cut, and resumed on the mirror.
	mirror.Reset()
	careful := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}}
	p.CutAfter(blobGET, 1000, 1)
	req, _ := http.NewRequest(http.MethodGet, blobURL, nil)
	req.Header = bearer
	resp, err := careful.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 1000 {
		t.Fatalf("cut download from the mirror: %d bytes, %v", len(got), err)
	}
	loc := resp.Request.URL.String()
	if !strings.HasPrefix(loc, mirror.URL()+"/blobs/") {
		t.Fatalf("download came from %s, want the mirror", loc)
	}
	resp, rest := get(t, http.MethodGet, loc, hdr("Range", "bytes=1000-"))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("resume on the mirror = %s", resp.Status)
	}
	mustEqual(t, "blob from the mirror", append(got, rest...), data)
	for _, r := range mirror.Requests() {
		if r.Auth != "" {
			t.Errorf("mirror got Authorization: %v", r)
		}
	}
	if n := mirror.Count(http.MethodGet, "/blobs/"); n != 2 {
		t.Errorf("mirror saw %d GETs, want 2", n)
	}

	// Manifests are not redirected.
	resp, _ = get(t, http.MethodGet, p.URL()+"/v2/redirect/repo/manifests/v1",
		hdr("Authorization", "Bearer "+token, "Accept", ocispec.MediaTypeImageManifest))
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != p.Host() {
		t.Fatalf("GET manifest = %s from %s", resp.Status, resp.Request.URL.Host)
	}
}
