package testutil

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// BlobMirror is a blob store on its own port, standing in for the object
// storage or CDN a registry redirects blob downloads to (see
// [FaultProxy.RedirectBlobs]). It serves GET and HEAD of /blobs/<digest>
// with Range support, and, like a pre-signed object storage URL, answers
// 400 to a request that carries an Authorization header: credentials for
// the registry must not follow a redirect to another host. Its embedded
// [RequestLog] records every request, Authorization included.
type BlobMirror struct {
	RequestLog

	srv *httptest.Server

	mu     sync.Mutex
	blobs  map[digest.Digest][]byte
	faults map[string]*fault
	next   int
}

// NewBlobMirror starts an empty mirror and stops it when the test ends.
func NewBlobMirror(t testing.TB) *BlobMirror {
	t.Helper()
	m := &BlobMirror{blobs: map[digest.Digest][]byte{}, faults: map[string]*fault{}}
	m.srv = httptest.NewServer(logged(&m.RequestLog, http.HandlerFunc(m.serve)))
	t.Cleanup(func() {
		m.srv.CloseClientConnections()
		m.srv.Close()
	})
	return m
}

// Host returns the mirror's host, "127.0.0.1:PORT".
func (m *BlobMirror) Host() string { return strings.TrimPrefix(m.srv.URL, "http://") }

// URL returns the mirror's base URL; blobs are under URL()+"/blobs/".
func (m *BlobMirror) URL() string { return m.srv.URL }

// Put stocks the mirror with data and returns its digest.
func (m *BlobMirror) Put(data []byte) digest.Digest {
	d := digest.FromBytes(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[d] = data
	return d
}

// addFault stores a one-shot body fault and returns its key for the
// Location's fault parameter.
func (m *BlobMirror) addFault(f *fault) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	key := strconv.Itoa(m.next)
	m.faults[key] = f
	return key
}

func (m *BlobMirror) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "InvalidArgument: only one auth mechanism allowed; the URL is already signed", http.StatusBadRequest)
		return
	}
	d, err := digest.Parse(strings.TrimPrefix(r.URL.Path, "/blobs/"))
	m.mu.Lock()
	data, ok := m.blobs[d]
	key := r.URL.Query().Get("fault")
	f := m.faults[key]
	delete(m.faults, key)
	m.mu.Unlock()
	if err != nil || !ok {
		http.Error(w, "no such blob", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+d.String()+`"`)
	http.ServeContent(&faultResponse{ResponseWriter: w, fw: faultWriter{w: w, f: f, ctx: r.Context()}},
		r, "", time.Time{}, bytes.NewReader(data))
}

// faultResponse is a ResponseWriter whose body goes through a faultWriter.
type faultResponse struct {
	http.ResponseWriter
	fw faultWriter
}

func (r *faultResponse) Write(b []byte) (int, error) { return r.fw.Write(b) }

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *faultResponse) Unwrap() http.ResponseWriter { return r.ResponseWriter }
