package remotes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/remotes"
)

// memFetcher serves blobs from memory and records the offsets its readers
// were moved to.
type memFetcher struct {
	mu      sync.Mutex
	blobs   map[digest.Digest][]byte
	fetches int
	seeks   []int64
}

func newMemFetcher(blobs ...[]byte) *memFetcher {
	f := &memFetcher{blobs: map[digest.Digest][]byte{}}
	for _, b := range blobs {
		f.blobs[digest.FromBytes(b)] = b
	}
	return f
}

func (f *memFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	b, ok := f.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	return &seekRecorder{Reader: bytes.NewReader(b), f: f}, nil
}

type seekRecorder struct {
	*bytes.Reader
	f *memFetcher
}

func (s *seekRecorder) Seek(off int64, whence int) (int64, error) {
	n, err := s.Reader.Seek(off, whence)
	s.f.mu.Lock()
	s.f.seeks = append(s.f.seeks, n)
	s.f.mu.Unlock()
	return n, err
}

func (s *seekRecorder) Close() error { return nil }

func newStore(t *testing.T) content.Store {
	t.Helper()
	s, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomBlob(t *testing.T, n int) ([]byte, ocispec.Descriptor) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(b), Size: int64(n)}
}

// states records the progress states reported.
type states struct {
	mu  sync.Mutex
	got []remotes.ProgressState
}

func (s *states) fn(p remotes.Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, p.State)
}

// compact returns the states with runs of Moving reports folded into one.
func (s *states) compact() []remotes.ProgressState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []remotes.ProgressState
	for _, st := range s.got {
		if len(out) > 0 && st == remotes.ProgressMoving && out[len(out)-1] == st {
			continue
		}
		out = append(out, st)
	}
	return out
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data, desc := randomBlob(t, 3<<20)
	f := newMemFetcher(data)
	var st states
	if err := remotes.Fetch(ctx, store, f, desc, remotes.WithProgress(st.fn)); err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	got, err := content.ReadBlob(ctx, store, desc, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob after Fetch = %d bytes, %v", len(got), err)
	}
	want := []remotes.ProgressState{remotes.ProgressWaiting, remotes.ProgressMoving, remotes.ProgressDone}
	if c := st.compact(); !slices.Equal(c, want) {
		t.Errorf("progress %v, want %v", c, want)
	}

	// Held already: not fetched again.
	st = states{}
	if err := remotes.Fetch(ctx, store, f, desc, remotes.WithProgress(st.fn)); err != nil {
		t.Fatalf("second Fetch = %v", err)
	}
	if f.fetches != 1 {
		t.Errorf("fetched %d times, want once", f.fetches)
	}
	if want := []remotes.ProgressState{remotes.ProgressWaiting, remotes.ProgressExists}; !slices.Equal(st.got, want) {
		t.Errorf("progress %v, want %v", st.got, want)
	}
}

func TestFetchFailures(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data, desc := randomBlob(t, 1000)
	wrong := desc
	wrong.Digest = digest.FromString("other")
	f := newMemFetcher(data)
	f.blobs[wrong.Digest] = data // serves bytes of another digest
	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		kind func(error) bool
	}{
		{"missing", ocispec.Descriptor{Digest: digest.FromString("missing"), Size: 7}, errdefs.IsNotFound},
		{"corrupt", wrong, errdefs.IsFailedPrecondition},
		{"bad digest", ocispec.Descriptor{Digest: "sha256:zz", Size: 1}, errdefs.IsInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failed error
			err := remotes.Fetch(ctx, store, f, tc.desc, remotes.WithProgress(func(p remotes.Progress) {
				if p.State == remotes.ProgressFailed {
					failed = p.Err
				}
			}))
			if !tc.kind(err) || failed != err {
				t.Fatalf("Fetch = %v (reported %v), want an error of another kind", err, failed)
			}
			if _, err := store.Info(ctx, tc.desc.Digest); !errdefs.IsNotFound(err) && tc.name != "bad digest" {
				t.Errorf("store holds %s after a failed fetch", tc.desc.Digest)
			}
		})
	}
}

func TestFetchContinuesIngest(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data, desc := randomBlob(t, 100_000)
	w, err := store.Writer(ctx, content.WithRef(remotes.RefKey(desc)), content.WithDescriptor(desc))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:40_000])
	w.Close()
	f := newMemFetcher(data)
	if err := remotes.Fetch(ctx, store, f, desc, remotes.WithProgress(func(remotes.Progress) {})); err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	if !slices.Contains(f.seeks, 40_000) {
		t.Errorf("reader moved to %v, want to 40000", f.seeks)
	}
	if got, _ := content.ReadBlob(ctx, store, desc, 0); !bytes.Equal(got, data) {
		t.Error("blob differs")
	}
}

func TestProgressThrottled(t *testing.T) {
	ctx := context.Background()
	data, desc := randomBlob(t, 64<<20)
	var moving int
	err := remotes.Fetch(ctx, newStore(t), newMemFetcher(data), desc, remotes.WithProgress(func(p remotes.Progress) {
		if p.State == remotes.ProgressMoving {
			moving++
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	// Without throttling there would be one report per read: 64 or more.
	if moving < 1 || moving >= 64 {
		t.Errorf("%d Moving reports for 64 MiB", moving)
	}
}

// memPusher takes pushes into memory; held blobs are AlreadyExists, and
// mounted ones are reported so.
type memPusher struct {
	blobs   map[digest.Digest][]byte
	mounted map[digest.Digest]bool
}

func (p *memPusher) Push(ctx context.Context, desc ocispec.Descriptor) (content.Writer, error) {
	if _, ok := p.blobs[desc.Digest]; ok {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, errdefs.ErrAlreadyExists)
	}
	if p.mounted[desc.Digest] {
		return nil, &remotes.MountedError{Digest: desc.Digest, From: "docker.io/library/base"}
	}
	return &memWriter{p: p, desc: desc, h: digest.Canonical.Digester()}, nil
}

type memWriter struct {
	p    *memPusher
	desc ocispec.Descriptor
	buf  bytes.Buffer
	h    digest.Digester
}

func (w *memWriter) Write(b []byte) (int, error) { w.h.Hash().Write(b); return w.buf.Write(b) }
func (w *memWriter) Close() error                { return nil }
func (w *memWriter) Digest() digest.Digest       { return w.h.Digest() }
func (w *memWriter) Truncate(int64) error        { return errdefs.ErrNotImplemented }
func (w *memWriter) Status() (content.Status, error) {
	return content.Status{Offset: int64(w.buf.Len())}, nil
}
func (w *memWriter) Commit(ctx context.Context, size int64, expected digest.Digest, _ ...content.Opt) error {
	if w.Digest() != expected || int64(w.buf.Len()) != size {
		return errdefs.ErrFailedPrecondition
	}
	w.p.blobs[expected] = w.buf.Bytes()
	return nil
}

func TestPush(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	data, desc := randomBlob(t, 1<<20)
	mdata, mdesc := randomBlob(t, 100)
	for _, b := range []struct {
		data []byte
		desc ocispec.Descriptor
	}{{data, desc}, {mdata, mdesc}} {
		if err := content.WriteBlob(ctx, store, "x", bytes.NewReader(b.data), b.desc); err != nil {
			t.Fatal(err)
		}
	}
	p := &memPusher{blobs: map[digest.Digest][]byte{}, mounted: map[digest.Digest]bool{mdesc.Digest: true}}
	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		want remotes.ProgressState
	}{
		{"new", desc, remotes.ProgressDone},
		{"again", desc, remotes.ProgressExists},
		{"mounted", mdesc, remotes.ProgressMounted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st states
			if err := remotes.Push(ctx, p, store, tc.desc, remotes.WithProgress(st.fn)); err != nil {
				t.Fatalf("Push = %v", err)
			}
			if c := st.compact(); c[0] != remotes.ProgressWaiting || c[len(c)-1] != tc.want {
				t.Errorf("progress %v, want Waiting ... %v", c, tc.want)
			}
		})
	}
	if !bytes.Equal(p.blobs[desc.Digest], data) {
		t.Error("pushed bytes differ")
	}
	missing := ocispec.Descriptor{Digest: digest.FromString("nope"), Size: 4}
	if err := remotes.Push(ctx, p, store, missing); !errdefs.IsNotFound(err) {
		t.Errorf("Push of content the store lacks = %v, want NotFound", err)
	}
	wrongSize := desc
	wrongSize.Size++
	delete(p.blobs, desc.Digest)
	if err := remotes.Push(ctx, p, store, wrongSize); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("Push with a wrong size = %v, want FailedPrecondition", err)
	}
}

func TestRefKey(t *testing.T) {
	d := digest.FromString("x")
	for mt, want := range map[string]string{
		ocispec.MediaTypeImageManifest:                "manifest-",
		remotes.MediaTypeDockerManifest:               "manifest-",
		ocispec.MediaTypeImageIndex:                   "index-",
		remotes.MediaTypeDockerManifestList:           "index-",
		ocispec.MediaTypeImageConfig:                  "config-",
		remotes.MediaTypeDockerConfig:                 "config-",
		ocispec.MediaTypeImageLayerGzip:               "layer-",
		"application/vnd.oci.image.layer.v1.tar+zstd": "layer-",
		remotes.MediaTypeDockerLayer:                  "layer-",
		"application/octet-stream":                    "blob-",
		"":                                            "blob-",
	} {
		if got := remotes.RefKey(ocispec.Descriptor{MediaType: mt, Digest: d}); got != want+d.String() {
			t.Errorf("RefKey(%q) = %q, want %q", mt, got, want+d.String())
		}
	}
}
