package docker

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Thu, 02 Jan 2025 03:04:15 GMT", 10 * time.Second, true},
		{"Thu, 02 Jan 2025 03:00:00 GMT", 0, true},
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := &resolver{opts: resolverOpts{backoffMin: 100 * time.Millisecond, backoffMax: time.Second}}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 20 {
			if d := r.backoff(n); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1": true, "127.1.2.3:80": true,
		"[::1]:5000": true, "::1": true, "example.com": false, "10.0.0.1:5000": false,
		"localhost.example.com": false, "128.0.0.1": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestDefaultHosts(t *testing.T) {
	r := NewResolver().(*resolver)
	for in, want := range map[string]string{
		"docker.io":       "https://registry-1.docker.io/v2",
		"ghcr.io":         "https://ghcr.io/v2",
		"localhost:5000":  "http://localhost:5000/v2",
		"127.0.0.1:39999": "http://127.0.0.1:39999/v2",
		"[::1]:5000":      "http://[::1]:5000/v2",
	} {
		hosts, err := r.opts.hosts(in)
		if err != nil || len(hosts) != 1 {
			t.Fatalf("hosts(%q) = %v, %v", in, hosts, err)
		}
		h := hosts[0]
		if got := h.Scheme + "://" + h.Host + h.Path; got != want {
			t.Errorf("hosts(%q) = %s, want %s", in, got, want)
		}
		// An anonymous authorizer, the same one on every call.
		again, _ := r.opts.hosts(in)
		if h.Authorizer == nil || h.Authorizer != again[0].Authorizer {
			t.Errorf("hosts(%q): authorizer %v then %v, want one anonymous authorizer kept", in, h.Authorizer, again[0].Authorizer)
		}
	}
}

func TestNextPage(t *testing.T) {
	base, _ := url.Parse("https://r.example/v2/app/tags/list")
	for _, tc := range []struct {
		links []string
		want  string
		err   bool
	}{
		{nil, "", false},
		{[]string{`</v2/app/tags/list?last=b&n=2>; rel="next"`}, "https://r.example/v2/app/tags/list?last=b&n=2", false},
		{[]string{`<https://r.example/v2/app/tags/list?last=c>; rel=next`}, "https://r.example/v2/app/tags/list?last=c", false},
		{[]string{`</x>; rel="prev", </y>; rel="next"`}, "https://r.example/y", false},
		{[]string{`<https://evil.example/v2/app/tags/list>; rel="next"`}, "", true},
	} {
		got, err := nextPage(base, tc.links)
		if (err != nil) != tc.err {
			t.Errorf("nextPage(%q) = %v", tc.links, err)
			continue
		}
		if s := ""; got != nil {
			s = got.String()
			if s != tc.want {
				t.Errorf("nextPage(%q) = %s, want %s", tc.links, s, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("nextPage(%q) = nil, want %s", tc.links, tc.want)
		}
	}
}

// TestPutKeepsUploadQuery: the digest is added to the registry's upload
// URL without touching the query the registry gave, byte for byte.
func TestPutKeepsUploadQuery(t *testing.T) {
	for _, tc := range []struct{ location, want string }{
		{"http://r/v2/app/blobs/uploads/u1", "digest=sha256%3A" + strings.Repeat("a", 64)},
		{"http://r/v2/app/blobs/uploads/u1?_state=z;y&b=2&a=1", "_state=z;y&b=2&a=1&digest=sha256%3A" + strings.Repeat("a", 64)},
	} {
		loc, _ := url.Parse(tc.location)
		w := &blobWriter{location: loc, desc: ocispec.Descriptor{Digest: digest.Digest("sha256:" + strings.Repeat("a", 64))}, p: &pusher{}}
		if got := w.put().url.RawQuery; got != tc.want {
			t.Errorf("put() query for %s = %q, want %q", tc.location, got, tc.want)
		}
	}
}
