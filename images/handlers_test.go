package images_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

// recorder is a handler that records the digests it is called on.
type recorder struct {
	mu   sync.Mutex
	seen []digest.Digest
}

func (r *recorder) Handle(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, desc.Digest)
	return nil, nil
}

func (r *recorder) digests() []digest.Digest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// counts returns how often each digest was seen.
func (r *recorder) counts() map[digest.Digest]int {
	n := map[digest.Digest]int{}
	for _, d := range r.digests() {
		n[d]++
	}
	return n
}

// tree is a handler over a made-up tree: the children of a descriptor are
// named by its digest.
type tree map[digest.Digest][]ocispec.Descriptor

func (tr tree) Handle(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return tr[desc.Digest], nil
}

func node(name string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString(name), Size: int64(len(name))}
}

func TestWalkOrder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	var r recorder
	if err := images.Walk(ctx, images.Handlers(&r, images.ChildrenHandler(s)), img.index); err != nil {
		t.Fatalf("Walk = %v", err)
	}
	var want []digest.Digest
	want = append(want, img.index.Digest)
	for _, p := range img.platforms {
		want = append(want, img.manifests[p].Digest, img.configs[p].Digest)
		want = append(want, digests(img.layers[p])...)
	}
	if got := r.digests(); !slices.Equal(got, want) {
		t.Errorf("Walk visited\n%v\nwant (depth first, the shared layer twice)\n%v", got, want)
	}
}

func TestWalkSkipAndErrors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")

	var r recorder
	skipManifests := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if images.IsManifestType(desc.MediaType) {
			return nil, images.ErrSkipDesc
		}
		return nil, nil
	})
	if err := images.Walk(ctx, images.Handlers(&r, skipManifests, images.ChildrenHandler(s)), img.index); err != nil {
		t.Fatalf("Walk skipping manifests = %v", err)
	}
	if got, want := r.digests(), []digest.Digest{img.index.Digest, img.manifests["linux/amd64"].Digest, img.manifests["linux/arm64"].Digest}; !slices.Equal(got, want) {
		t.Errorf("Walk skipping manifests visited %v, want %v", got, want)
	}

	boom := errors.New("boom")
	r = recorder{}
	failConfig := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if images.IsConfigType(desc.MediaType) {
			return nil, boom
		}
		return nil, nil
	})
	err := images.Walk(ctx, images.Handlers(&r, failConfig, images.ChildrenHandler(s)), img.index)
	if !errors.Is(err, boom) {
		t.Fatalf("Walk with a failing handler = %v, want %v", err, boom)
	}
	if got, want := r.digests(), []digest.Digest{img.index.Digest, img.manifests["linux/amd64"].Digest, img.configs["linux/amd64"].Digest}; !slices.Equal(got, want) {
		t.Errorf("Walk with a failing handler visited %v, want %v", got, want)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	r = recorder{}
	if err := images.Walk(cctx, &r, img.index); !errors.Is(err, context.Canceled) || len(r.digests()) != 0 {
		t.Errorf("Walk with a cancelled context = %v after %d calls, want context.Canceled and none", err, len(r.digests()))
	}
}

func TestHandlers(t *testing.T) {
	ctx := context.Background()
	a, b, c := node("a"), node("b"), node("c")
	returns := func(children ...ocispec.Descriptor) images.HandlerFunc {
		return func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) { return children, nil }
	}
	fails := func(err error) images.HandlerFunc {
		return func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			return []ocispec.Descriptor{c}, err
		}
	}
	var r recorder
	got, err := images.Handlers(returns(a), returns(), returns(b, c))(ctx, a)
	if err != nil || !slices.Equal(digests(got), digests([]ocispec.Descriptor{a, b, c})) {
		t.Errorf("Handlers(a; ; b c) = %v, %v", digests(got), err)
	}
	got, err = images.Handlers(returns(a), fails(images.ErrStopHandler), &r)(ctx, a)
	if err != nil || !slices.Equal(digests(got), []digest.Digest{a.Digest}) || len(r.digests()) != 0 {
		t.Errorf("Handlers(a; stop; recorder) = %v, %v, recorder called %d times; want [a], nil, 0", digests(got), err, len(r.digests()))
	}
	got, err = images.Handlers(returns(a), fails(fmt.Errorf("wrapped: %w", images.ErrSkipDesc)), &r)(ctx, a)
	if !errors.Is(err, images.ErrSkipDesc) || got != nil || len(r.digests()) != 0 {
		t.Errorf("Handlers(a; skip; recorder) = %v, %v; want nil, ErrSkipDesc", digests(got), err)
	}
}

func TestDispatchOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	for _, limit := range []int{0, 1, 2, 8} {
		var r recorder
		if err := images.Dispatch(ctx, images.Handlers(&r, images.ChildrenHandler(s)), limit, img.index); err != nil {
			t.Fatalf("Dispatch(limit %d) = %v", limit, err)
		}
		want := map[digest.Digest]int{img.index.Digest: 1, img.shared.Digest: 1}
		for _, p := range img.platforms {
			want[img.manifests[p].Digest] = 1
			want[img.configs[p].Digest] = 1
			want[img.layers[p][1].Digest] = 1
		}
		got := r.counts()
		if len(got) != len(want) {
			t.Errorf("Dispatch(limit %d) handled %d digests, want %d", limit, len(got), len(want))
		}
		for d, n := range want {
			if got[d] != n {
				t.Errorf("Dispatch(limit %d) handled %s %d times, want once", limit, d, got[d])
			}
		}
	}
	// The same descriptor given twice, and a descriptor reached again
	// further down, are handled once.
	var r recorder
	root, leaf := node("root"), node("leaf")
	h := images.Handlers(&r, tree{root.Digest: {leaf, root}})
	if err := images.Dispatch(ctx, h, 0, root, root, leaf); err != nil {
		t.Fatal(err)
	}
	if got := r.counts(); got[root.Digest] != 1 || got[leaf.Digest] != 1 || len(got) != 2 {
		t.Errorf("Dispatch(root, root, leaf) handled %v, want each once", got)
	}
}

// TestDispatchLimit holds every handler until as many run as the limit
// allows, and checks that no more ever run at once.
func TestDispatchLimit(t *testing.T) {
	const leaves = 12
	for _, limit := range []int{1, 3, 0} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			root := node("root")
			var children []ocispec.Descriptor
			for i := range leaves {
				children = append(children, node(fmt.Sprint("leaf ", i)))
			}
			want := limit
			if limit == 0 {
				want = leaves
			}
			var running, peak atomic.Int32
			full := make(chan struct{})
			var fullOnce sync.Once
			h := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
				if desc.Digest == root.Digest {
					return children, nil
				}
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if int(n) == want {
					fullOnce.Do(func() { close(full) })
				}
				select {
				case <-full:
					return nil, nil
				case <-ctx.Done():
					return nil, fmt.Errorf("never %d handlers at once: %w", want, ctx.Err())
				}
			})
			if err := images.Dispatch(ctx, h, limit, root); err != nil {
				t.Fatalf("Dispatch = %v", err)
			}
			if got := int(peak.Load()); got != want {
				t.Errorf("Dispatch(limit %d): at most %d handlers at once, want %d", limit, got, want)
			}
		})
	}
}

func TestDispatchErrorCancels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, failing, waiting, late := node("root"), node("failing"), node("waiting"), node("late")
	boom := errors.New("boom")
	started := make(chan struct{})
	var lateCalled, waitingCancelled atomic.Bool
	h := images.HandlerFunc(func(hctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		switch desc.Digest {
		case root.Digest:
			return []ocispec.Descriptor{failing, waiting}, nil
		case failing.Digest:
			select {
			case <-started:
			case <-ctx.Done():
			}
			return nil, boom
		case waiting.Digest:
			close(started)
			select {
			case <-hctx.Done():
				waitingCancelled.Store(true)
			case <-ctx.Done():
			}
			// Children returned after the failure are not handled.
			return []ocispec.Descriptor{late}, nil
		case late.Digest:
			lateCalled.Store(true)
		}
		return nil, nil
	})
	err := images.Dispatch(ctx, h, 0, root)
	if !errors.Is(err, boom) {
		t.Fatalf("Dispatch = %v, want %v", err, boom)
	}
	if !waitingCancelled.Load() {
		t.Error("the other handler's context was not cancelled")
	}
	if lateCalled.Load() {
		t.Error("a child was handled after the failure")
	}

	// A context that has ended handles nothing.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	var r recorder
	if err := images.Dispatch(cctx, &r, 2, root); !errors.Is(err, context.Canceled) || len(r.digests()) != 0 {
		t.Errorf("Dispatch(cancelled) = %v after %d calls, want context.Canceled and none", err, len(r.digests()))
	}
}

func TestDispatchSkip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	var r recorder
	skip := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if desc.Digest == img.manifests["linux/arm64"].Digest {
			return nil, images.ErrSkipDesc
		}
		return images.ChildrenHandler(s)(ctx, desc)
	})
	if err := images.Dispatch(ctx, images.Handlers(&r, skip), 0, img.index); err != nil {
		t.Fatalf("Dispatch = %v", err)
	}
	got := r.counts()
	if got[img.configs["linux/arm64"].Digest] != 0 || got[img.configs["linux/amd64"].Digest] != 1 || len(got) != 6 {
		t.Errorf("Dispatch skipping linux/arm64 handled %v", got)
	}
}

func TestChildrenHandler(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	h := images.ChildrenHandler(s)
	for _, tc := range []struct {
		name string
		desc ocispec.Descriptor
		want []digest.Digest
	}{
		{"index", img.index, []digest.Digest{img.manifests["linux/amd64"].Digest, img.manifests["linux/arm64"].Digest}},
		{"manifest", img.manifests["linux/arm64"], append([]digest.Digest{img.configs["linux/arm64"].Digest}, digests(img.layers["linux/arm64"])...)},
		{"config", img.configs["linux/arm64"], nil},
		{"layer", img.shared, nil},
	} {
		got, err := h(ctx, tc.desc)
		if err != nil || !slices.Equal(digests(got), tc.want) {
			t.Errorf("ChildrenHandler(%s) = %v, %v; want %v", tc.name, digests(got), err, tc.want)
		}
	}
	schema1 := ocispec.Descriptor{MediaType: images.MediaTypeDockerSchema1SignedManifest, Digest: digest.FromString("s1"), Size: 2}
	if _, err := h(ctx, schema1); !errdefs.IsNotImplemented(err) {
		t.Errorf("ChildrenHandler(schema 1) = %v, want NotImplemented", err)
	}
	bad := put(t, s, images.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"manifests":[]}`))
	if _, err := h(ctx, bad); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ChildrenHandler(manifest with manifests) = %v, want InvalidArgument", err)
	}
	missing := img.manifests["linux/amd64"]
	missing.Digest = digest.FromString("missing")
	if _, err := h(ctx, missing); !errdefs.IsNotFound(err) {
		t.Errorf("ChildrenHandler(missing manifest) = %v, want NotFound", err)
	}
}

func withPlatform(d ocispec.Descriptor, p string) ocispec.Descriptor {
	if p != "" {
		pl := platforms.MustParse(p)
		d.Platform = &pl
	}
	return d
}

func TestFilterPlatforms(t *testing.T) {
	ctx := context.Background()
	amd, arm, none := withPlatform(node("amd64"), "linux/amd64"), withPlatform(node("arm64"), "linux/arm64/v8"), node("none")
	children := images.HandlerFunc(func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		return []ocispec.Descriptor{amd, none, arm}, nil
	})
	got, err := images.FilterPlatforms(children, platforms.Only(platforms.MustParse("linux/aarch64")))(ctx, node("index"))
	if err != nil || !slices.Equal(digests(got), digests([]ocispec.Descriptor{none, arm})) {
		t.Errorf("FilterPlatforms(arm64) = %v, %v; want the arm64 child and the one without a platform", digests(got), err)
	}
	got, _ = images.FilterPlatforms(children, platforms.All())(ctx, node("index"))
	if len(got) != 3 {
		t.Errorf("FilterPlatforms(All) kept %d of 3", len(got))
	}

	// nil is the host's platform.
	host, other := withPlatform(node("host"), platforms.DefaultString()), withPlatform(node("other"), "plan9/mips")
	got, err = images.FilterPlatforms(func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		return []ocispec.Descriptor{other, host}, nil
	}, nil)(ctx, node("index"))
	if err != nil || !slices.Equal(digests(got), []digest.Digest{host.Digest}) {
		t.Errorf("FilterPlatforms(nil) = %v, %v; want the host's child", digests(got), err)
	}

	// Over a stored index.
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	got, err = images.FilterPlatforms(images.ChildrenHandler(s), platforms.OnlyStrict(platforms.MustParse("linux/amd64")))(ctx, img.index)
	if err != nil || !slices.Equal(digests(got), []digest.Digest{img.manifests["linux/amd64"].Digest}) {
		t.Errorf("FilterPlatforms(ChildrenHandler, amd64)(index) = %v, %v", digests(got), err)
	}
}

func TestLimitManifests(t *testing.T) {
	ctx := context.Background()
	amd, v6, v7, none := withPlatform(node("amd64"), "linux/amd64"), withPlatform(node("v6"), "linux/arm/v6"), withPlatform(node("v7"), "linux/arm/v7"), node("none")
	index := ocispec.Descriptor{MediaType: images.MediaTypeOCIIndex, Digest: digest.FromString("index"), Size: 5}
	manifest := ocispec.Descriptor{MediaType: images.MediaTypeOCIManifest, Digest: digest.FromString("manifest"), Size: 8}
	returns := func(children ...ocispec.Descriptor) images.HandlerFunc {
		return func(context.Context, ocispec.Descriptor) ([]ocispec.Descriptor, error) { return children, nil }
	}
	m := platforms.Only(platforms.MustParse("linux/arm/v7"))
	for _, tc := range []struct {
		n    int
		desc ocispec.Descriptor
		want []ocispec.Descriptor
	}{
		{1, index, []ocispec.Descriptor{v7}},
		{2, index, []ocispec.Descriptor{v7, v6}},
		{0, index, []ocispec.Descriptor{v7, v6, amd, none}},
		{-1, index, []ocispec.Descriptor{v7, v6, amd, none}},
		{10, index, []ocispec.Descriptor{v7, v6, amd, none}},
		{1, manifest, []ocispec.Descriptor{none, amd, v6, v7}},
	} {
		got, err := images.LimitManifests(returns(none, amd, v6, v7), m, tc.n)(ctx, tc.desc)
		if err != nil || !slices.Equal(digests(got), digests(tc.want)) {
			t.Errorf("LimitManifests(arm/v7, %d)(%s) = %v, %v; want %v", tc.n, tc.desc.MediaType, digests(got), err, digests(tc.want))
		}
	}
	if _, err := images.LimitManifests(returns(), m, 1)(ctx, index); !errdefs.IsNotFound(err) {
		t.Errorf("LimitManifests(n=1) on an index without children = %v, want NotFound", err)
	}

	// The usual chain, over a stored index: only the chosen platform's
	// tree is handled.
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm/v6", "linux/arm/v7")
	m = platforms.Only(platforms.MustParse("linux/arm/v8"))
	var r recorder
	h := images.Handlers(&r, images.LimitManifests(images.FilterPlatforms(images.ChildrenHandler(s), m), m, 1))
	if err := images.Dispatch(ctx, h, 2, img.index); err != nil {
		t.Fatalf("Dispatch = %v", err)
	}
	got := r.counts()
	want := append([]digest.Digest{img.index.Digest, img.manifests["linux/arm/v7"].Digest, img.configs["linux/arm/v7"].Digest}, digests(img.layers["linux/arm/v7"])...)
	if len(got) != len(want) {
		t.Errorf("pull of linux/arm/v8 handled %v, want %v", got, want)
	}
	for _, d := range want {
		if got[d] != 1 {
			t.Errorf("pull of linux/arm/v8 handled %s %d times, want once", d, got[d])
		}
	}
	// No platform that matches: the index has no children left.
	m = platforms.Only(platforms.MustParse("linux/s390x"))
	h = images.LimitManifests(images.FilterPlatforms(images.ChildrenHandler(s), m), m, 1)
	if err := images.Dispatch(ctx, h, 2, img.index); !errdefs.IsNotFound(err) {
		t.Errorf("pull of linux/s390x = %v, want NotFound", err)
	}
}
