package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

// fakeRegistry is a small in-memory registry speaking enough of the
// distribution API for unit tests, with a hook to inject faults. The
// end-to-end tests run against the real one from internal/testutil.
type fakeRegistry struct {
	srv *httptest.Server

	mu        sync.Mutex
	blobs     map[string][]byte // repo "@" digest
	manifests map[string]stored // repo "@" digest, repo ":" tag
	uploads   map[string]*bytes.Buffer
	uploadN   int
	log       []string // "METHOD /path" of every request

	// chunkMin, when set, is sent as OCI-Chunk-Min-Length.
	chunkMin int64
	// pageSize, when set, pages tag lists.
	pageSize int
	// hook sees each request first; it returns true when it answered.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

type stored struct {
	mediaType string
	body      []byte
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{
		blobs:     map[string][]byte{},
		manifests: map[string]stored{},
		uploads:   map[string]*bytes.Buffer{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// host is the registry's "127.0.0.1:PORT".
func (f *fakeRegistry) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// setHook installs h, safely for the server's goroutines.
func (f *fakeRegistry) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeRegistry) addBlob(repo string, b []byte) ocispec.Descriptor {
	d := digest.FromBytes(b)
	f.mu.Lock()
	f.blobs[repo+"@"+d.String()] = b
	f.mu.Unlock()
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(b))}
}

func (f *fakeRegistry) addManifest(repo, tag, mediaType string, b []byte) ocispec.Descriptor {
	d := digest.FromBytes(b)
	f.mu.Lock()
	f.manifests[repo+"@"+d.String()] = stored{mediaType, b}
	if tag != "" {
		f.manifests[repo+":"+tag] = stored{mediaType, b}
	}
	f.mu.Unlock()
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

func (f *fakeRegistry) blob(repo string, d digest.Digest) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blobs[repo+"@"+d.String()]
	return b, ok
}

func (f *fakeRegistry) manifest(repo, ref string) (stored, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sep := ":"
	if strings.Contains(ref, ":") {
		sep = "@"
	}
	m, ok := f.manifests[repo+sep+ref]
	return m, ok
}

// requests returns the log lines that start with prefix ("GET /v2/").
func (f *fakeRegistry) requests(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	for _, sep := range []string{"/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list"} {
		if i := strings.LastIndex(p, sep); i > 0 {
			repo, rest := p[:i], p[i+len(sep):]
			switch sep {
			case "/manifests/":
				f.serveManifest(w, r, repo, rest)
			case "/blobs/uploads/":
				f.serveUpload(w, r, repo, rest)
			case "/blobs/":
				f.serveBlob(w, r, repo, digest.Digest(rest))
			default:
				f.serveTags(w, r, repo)
			}
			return
		}
	}
	registryError(w, http.StatusNotFound, "NAME_UNKNOWN")
}

func registryError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"%s"}]}`, code, strings.ToLower(strings.ReplaceAll(code, "_", " ")))
}

func (f *fakeRegistry) serveManifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, ok := f.manifest(repo, ref)
		if !ok {
			registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(m.body).String())
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		if r.Method == http.MethodGet {
			w.Write(m.body)
		}
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		tag := ""
		if !strings.Contains(ref, ":") {
			tag = ref
		} else if digest.FromBytes(b).String() != ref {
			registryError(w, http.StatusBadRequest, "DIGEST_INVALID")
			return
		}
		desc := f.addManifest(repo, tag, r.Header.Get("Content-Type"), b)
		w.Header().Set("Docker-Content-Digest", desc.Digest.String())
		w.WriteHeader(http.StatusCreated)
	default:
		registryError(w, http.StatusMethodNotAllowed, "UNSUPPORTED")
	}
}

func (f *fakeRegistry) serveBlob(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) {
	b, ok := f.blob(repo, d)
	if !ok {
		registryError(w, http.StatusNotFound, "BLOB_UNKNOWN")
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		return
	}
	serveRange(w, r, b)
}

// serveRange serves b, or the part an open-ended Range asks for.
func serveRange(w http.ResponseWriter, r *http.Request, b []byte) {
	if rg, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
		start, _ := strconv.Atoi(strings.TrimSuffix(rg, "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(b)-1, len(b)))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b[start:])
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (f *fakeRegistry) serveUpload(w http.ResponseWriter, r *http.Request, repo, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPost {
		q := r.URL.Query()
		if m := q.Get("mount"); m != "" {
			if b, ok := f.blobs[q.Get("from")+"@"+m]; ok {
				f.blobs[repo+"@"+m] = b
				w.Header().Set("Location", "/v2/"+repo+"/blobs/"+m)
				w.Header().Set("Docker-Content-Digest", m)
				w.WriteHeader(http.StatusCreated)
				return
			}
		}
		f.uploadN++
		id := strconv.Itoa(f.uploadN)
		f.uploads[id] = &bytes.Buffer{}
		w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id+"?_state=s"+id)
		if f.chunkMin > 0 {
			w.Header().Set("OCI-Chunk-Min-Length", strconv.FormatInt(f.chunkMin, 10))
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	buf, ok := f.uploads[id]
	if !ok {
		registryError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		return
	}
	switch r.Method {
	case http.MethodPatch:
		if cr := r.Header.Get("Content-Range"); cr != "" {
			start, _, _ := strings.Cut(cr, "-")
			if n, _ := strconv.Atoi(start); n != buf.Len() {
				registryError(w, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
				return
			}
		}
		io.Copy(buf, r.Body)
		w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id+"?_state=p"+strconv.Itoa(buf.Len()))
		w.Header().Set("Range", fmt.Sprintf("0-%d", buf.Len()-1))
		w.WriteHeader(http.StatusAccepted)
	case http.MethodPut:
		if _, err := io.Copy(buf, r.Body); err != nil {
			return
		}
		d := digest.Digest(r.URL.Query().Get("digest"))
		if digest.FromBytes(buf.Bytes()) != d {
			registryError(w, http.StatusBadRequest, "DIGEST_INVALID")
			return
		}
		f.blobs[repo+"@"+d.String()] = buf.Bytes()
		delete(f.uploads, id)
		w.Header().Set("Docker-Content-Digest", d.String())
		w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		delete(f.uploads, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fakeRegistry) serveTags(w http.ResponseWriter, r *http.Request, repo string) {
	f.mu.Lock()
	var tags []string
	for k := range f.manifests {
		if t, ok := strings.CutPrefix(k, repo+":"); ok {
			tags = append(tags, t)
		}
	}
	pageSize := f.pageSize
	f.mu.Unlock()
	if len(tags) == 0 {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN")
		return
	}
	slices.Sort(tags)
	if last := r.URL.Query().Get("last"); last != "" {
		i, _ := slices.BinarySearch(tags, last)
		tags = tags[min(i+1, len(tags)):]
	}
	if pageSize > 0 && len(tags) > pageSize {
		tags = tags[:pageSize]
		next := url.Values{"n": {strconv.Itoa(pageSize)}, "last": {tags[len(tags)-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, repo, next.Encode()))
	}
	json.NewEncoder(w).Encode(map[string]any{"name": repo, "tags": tags})
}

// testResolver returns a resolver with quick retries, for refs on the
// fake registry (plain http by the default hosts: it is on loopback).
func testResolver(opts ...docker.ResolverOpt) remotes.Resolver {
	return docker.NewResolver(append([]docker.ResolverOpt{docker.WithRetryBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)...)
}

// imageManifest returns an OCI image manifest of config and layers.
func imageManifest(t *testing.T, config ocispec.Descriptor, layers ...ocispec.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// memProvider is a content.Provider over blobs in memory.
type memProvider map[digest.Digest][]byte

func providerOf(blobs ...[]byte) memProvider {
	m := memProvider{}
	for _, b := range blobs {
		m[digest.FromBytes(b)] = b
	}
	return m
}

func (m memProvider) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	b, ok := m[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("content %s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	return nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
