package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// Forever, passed as the times of a fault, makes it apply to every matching
// request until [FaultProxy.Clear].
const Forever = -1

// Match selects the requests a fault applies to.
type Match struct {
	// Method is the HTTP method to match; "" matches any.
	Method string
	// Path is a regular expression searched for in the URL path (so a
	// plain string matches as a substring: "/blobs/sha256:"); "" matches
	// any path.
	Path string
}

type faultKind int

const (
	faultFail faultKind = iota
	faultRateLimit
	faultCut
	faultCorrupt
	faultSlow
	faultIgnoreRange
)

// fault is one queued fault; left counts the requests it still applies to,
// Forever for no limit.
type fault struct {
	kind       faultKind
	method     string
	path       *regexp.Regexp
	left       int
	status     int
	retryAfter string
	n          int64 // faultCut: bytes sent; faultSlow: bytes per second
}

// FaultProxy is a reverse proxy in front of a registry that injects faults
// into the requests it forwards. Faults wait in a queue in the order they
// were added; a request takes the first fault that matches it and has uses
// left, and at most one. A request that takes none is forwarded untouched.
//
// The proxy keeps the client's Host header when it forwards, so the
// absolute URLs a registry builds (upload Locations) point back at the
// proxy. Its embedded [RequestLog] records every request as the client sent
// it. Its methods are safe for concurrent use.
type FaultProxy struct {
	RequestLog

	t         testing.TB
	target    *url.URL
	srv       *httptest.Server
	transport *http.Transport

	mu     sync.Mutex
	faults []*fault
	mirror *BlobMirror
}

// NewFaultProxy starts a proxy in front of target, a host ("127.0.0.1:PORT")
// or a base URL, and stops it when the test ends.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("NewFaultProxy(%q): not a host or URL: %v", target, err)
	}
	p := &FaultProxy{
		t:      t,
		target: &url.URL{Scheme: u.Scheme, Host: u.Host},
		// Bodies pass through as the upstream sent them: no transparent
		// gzip, no proxy from the environment.
		transport: &http.Transport{DisableCompression: true, ForceAttemptHTTP2: false},
	}
	p.srv = httptest.NewServer(logged(&p.RequestLog, http.HandlerFunc(p.serve)))
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// Host returns the proxy's host, "127.0.0.1:PORT".
func (p *FaultProxy) Host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// URL returns the proxy's base URL, "http://127.0.0.1:PORT".
func (p *FaultProxy) URL() string { return p.srv.URL }

// Fail answers the next times matching requests with status and a
// registry-style JSON error body, without forwarding them.
func (p *FaultProxy) Fail(m Match, status, times int) {
	p.t.Helper()
	p.add(m, times, &fault{kind: faultFail, status: status})
}

// RateLimit answers the next times matching requests with 429 Too Many
// Requests, a TOOMANYREQUESTS error body and, unless retryAfter is "", a
// Retry-After header with that value ("2", or an HTTP date).
func (p *FaultProxy) RateLimit(m Match, retryAfter string, times int) {
	p.t.Helper()
	p.add(m, times, &fault{kind: faultRateLimit, status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// CutAfter forwards the next times matching requests but sends only the
// response's header and the first n bytes of its body, then closes the
// connection: the client reads n bytes and then an unexpected EOF. A body
// of n bytes or fewer is sent whole.
func (p *FaultProxy) CutAfter(m Match, n int64, times int) {
	p.t.Helper()
	if n < 0 {
		p.t.Fatalf("CutAfter(%d): negative", n)
	}
	p.add(m, times, &fault{kind: faultCut, n: n})
}

// Corrupt forwards the next times matching requests and inverts the bits of
// the response body's first byte and of every 4096th after it, keeping its
// length.
func (p *FaultProxy) Corrupt(m Match, times int) {
	p.t.Helper()
	p.add(m, times, &fault{kind: faultCorrupt})
}

// Slow forwards the next times matching requests and sends the response
// body at about bytesPerSecond, in pieces of a fiftieth of that. It stops
// early when the client goes away.
func (p *FaultProxy) Slow(m Match, bytesPerSecond int64, times int) {
	p.t.Helper()
	if bytesPerSecond <= 0 {
		p.t.Fatalf("Slow(%d): must be positive", bytesPerSecond)
	}
	p.add(m, times, &fault{kind: faultSlow, n: bytesPerSecond})
}

// IgnoreRange forwards the next times matching requests without their
// Range and If-Range headers, so the registry answers 200 with the whole
// body where the client asked for part of it.
func (p *FaultProxy) IgnoreRange(m Match, times int) {
	p.t.Helper()
	p.add(m, times, &fault{kind: faultIgnoreRange})
}

// RedirectBlobs makes the proxy answer blob GETs the way registries backed
// by object storage do: it forwards the GET (with the client's
// credentials, without its Range), and when the registry answers 200 it
// stocks mirror with the blob and answers 307 with a Location on the
// mirror. Any other answer (a 401 challenge, a 404) passes through.
//
// Fail and RateLimit faults apply to such a GET as to any other; CutAfter,
// Corrupt and Slow apply to the mirror's answer to the first request for
// the Location. IgnoreRange has no effect there. Pass nil to stop
// redirecting.
func (p *FaultProxy) RedirectBlobs(mirror *BlobMirror) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mirror = mirror
}

// Pending returns how many queued faults still have uses left (a Forever
// fault counts as one).
func (p *FaultProxy) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.faults {
		if f.left != 0 {
			n++
		}
	}
	return n
}

// Clear drops every queued fault.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

func (p *FaultProxy) add(m Match, times int, f *fault) {
	p.t.Helper()
	if times < 1 && times != Forever {
		p.t.Fatalf("fault times = %d: want at least 1, or Forever", times)
	}
	if m.Path != "" {
		re, err := regexp.Compile(m.Path)
		if err != nil {
			p.t.Fatalf("fault Match.Path %q: %v", m.Path, err)
		}
		f.path = re
	}
	f.method, f.left = m.Method, times
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// take returns a copy of the first fault that applies to r, using it up
// once, or nil.
func (p *FaultProxy) take(r *http.Request) *fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.left == 0 ||
			(f.method != "" && f.method != r.Method) ||
			(f.path != nil && !f.path.MatchString(r.URL.Path)) {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		c := *f
		return &c
	}
	return nil
}

// blobPath matches the path of a blob (not of an upload).
var blobPath = regexp.MustCompile(`^/v2/.+/blobs/([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$`)

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	f := p.take(r)
	if f != nil {
		switch f.kind {
		case faultFail, faultRateLimit:
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			writeRegistryError(w, r, f.status)
			return
		case faultIgnoreRange:
			r = r.Clone(r.Context())
			r.Header.Del("Range")
			r.Header.Del("If-Range")
			f = nil
		}
	}
	p.mu.Lock()
	mirror := p.mirror
	p.mu.Unlock()
	if mirror != nil && r.Method == http.MethodGet && blobPath.MatchString(r.URL.Path) {
		p.redirect(w, r, mirror, f)
		return
	}

	resp, err := p.roundTrip(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(&faultWriter{w: w, f: f, ctx: r.Context()}, resp.Body)
}

// roundTrip forwards r to the target.
func (p *FaultProxy) roundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	// out.Host keeps the client's Host header.
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	return p.transport.RoundTrip(out)
}

func (p *FaultProxy) redirect(w http.ResponseWriter, r *http.Request, mirror *BlobMirror, f *fault) {
	whole := r.Clone(r.Context())
	whole.Header.Del("Range")
	whole.Header.Del("If-Range")
	resp, err := p.roundTrip(whole)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	dgst := digest.Digest(blobPath.FindStringSubmatch(r.URL.Path)[1])
	loc := mirror.URL() + "/blobs/" + mirror.Put(data).String()
	if f != nil && f.kind != faultIgnoreRange {
		loc += "?fault=" + mirror.addFault(f)
	}
	w.Header().Set("Docker-Content-Digest", dgst.String())
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// hopHeaders are the hop-by-hop headers a proxy does not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
}

// writeRegistryError answers with status and an OCI distribution error
// body (none for HEAD).
func writeRegistryError(w http.ResponseWriter, r *http.Request, status int) {
	code := "UNKNOWN"
	switch status {
	case http.StatusUnauthorized:
		code = "UNAUTHORIZED"
	case http.StatusForbidden:
		code = "DENIED"
	case http.StatusNotFound:
		code = "NAME_UNKNOWN"
		if strings.Contains(r.URL.Path, "/blobs/") {
			code = "BLOB_UNKNOWN"
		} else if strings.Contains(r.URL.Path, "/manifests/") {
			code = "MANIFEST_UNKNOWN"
		}
	case http.StatusTooManyRequests:
		code = "TOOMANYREQUESTS"
	case http.StatusServiceUnavailable:
		code = "UNAVAILABLE"
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{
		"code": code, "message": fmt.Sprintf("injected fault: %d %s", status, http.StatusText(status)),
	}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// faultWriter applies a body fault (cut, corrupt, slow) to what is written
// through it; with no fault, or another kind, it passes writes through.
type faultWriter struct {
	w   http.ResponseWriter
	f   *fault
	ctx context.Context
	off int64
}

func (fw *faultWriter) Write(b []byte) (int, error) {
	if fw.f == nil {
		return fw.w.Write(b)
	}
	switch fw.f.kind {
	case faultCut:
		if rem := fw.f.n - fw.off; int64(len(b)) >= rem && rem >= 0 {
			_, _ = fw.w.Write(b[:rem])
			_ = http.NewResponseController(fw.w).Flush()
			// The server closes the connection without finishing the
			// response, and logs nothing.
			panic(http.ErrAbortHandler)
		}
	case faultCorrupt:
		c := append([]byte(nil), b...)
		for i := range c {
			if (fw.off+int64(i))%4096 == 0 {
				c[i] ^= 0xff
			}
		}
		n, err := fw.w.Write(c)
		fw.off += int64(n)
		return n, err
	case faultSlow:
		return fw.writeSlow(b)
	}
	n, err := fw.w.Write(b)
	fw.off += int64(n)
	return n, err
}

func (fw *faultWriter) writeSlow(b []byte) (int, error) {
	rate := fw.f.n
	piece := max(rate/50, 1)
	rc := http.NewResponseController(fw.w)
	written := 0
	for len(b) > 0 {
		k := min(int64(len(b)), piece)
		n, err := fw.w.Write(b[:k])
		written += n
		fw.off += int64(n)
		if err != nil {
			return written, err
		}
		_ = rc.Flush()
		b = b[k:]
		timer := time.NewTimer(time.Duration(k) * time.Second / time.Duration(rate))
		select {
		case <-fw.ctx.Done():
			timer.Stop()
			return written, fw.ctx.Err()
		case <-timer.C:
		}
	}
	return written, nil
}
