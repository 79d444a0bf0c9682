package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/platforms"
)

var (
	// ErrSkipDesc is returned by a handler to say that the descriptor's
	// children are not to be visited. It is no failure: Walk and Dispatch
	// go on with the other descriptors, and do not return it.
	ErrSkipDesc = errors.New("skip descriptor")

	// ErrStopHandler is returned by a handler inside Handlers to stop the
	// chain for this descriptor: the handlers after it are not called and
	// the children returned by those before it are kept. Walk and Dispatch
	// take it, from a handler called directly, as ErrSkipDesc.
	ErrStopHandler = errors.New("stop handler")
)

// Handler does something with one descriptor of an image tree, such as
// fetching its blob, and returns the descriptors it refers to, which Walk
// and Dispatch then visit.
type Handler interface {
	// Handle handles desc and returns its children, which may be none.
	// It may be called concurrently by Dispatch, and should return
	// promptly when ctx ends.
	Handle(ctx context.Context, desc ocispec.Descriptor) (children []ocispec.Descriptor, err error)
}

// HandlerFunc is a function that is a Handler.
type HandlerFunc func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error)

// Handle calls f(ctx, desc).
func (f HandlerFunc) Handle(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return f(ctx, desc)
}

// Handlers chains hs: each is called in order on the descriptor, and the
// children of all are returned together, in order. A handler that returns
// ErrStopHandler ends the chain there (its own children are dropped, those
// before it kept); any other error, ErrSkipDesc too, ends the chain and is
// returned.
func Handlers(hs ...Handler) HandlerFunc {
	return func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		var children []ocispec.Descriptor
		for _, h := range hs {
			ch, err := h.Handle(ctx, desc)
			if errors.Is(err, ErrStopHandler) {
				break
			}
			if err != nil {
				return nil, err
			}
			children = append(children, ch...)
		}
		return children, nil
	}
}

// Walk calls h on each of descs and, depth first, on the children h
// returns, one call at a time: a descriptor's whole subtree is walked
// before its next sibling. A descriptor reachable along two paths is
// handled twice; Dispatch handles it once. A handler error other than
// ErrSkipDesc or ErrStopHandler ends the walk and is returned as it is;
// so does the end of ctx, checked before each call.
func Walk(ctx context.Context, h Handler, descs ...ocispec.Descriptor) error {
	for _, desc := range descs {
		if err := ctx.Err(); err != nil {
			return err
		}
		children, err := h.Handle(ctx, desc)
		if errors.Is(err, ErrSkipDesc) || errors.Is(err, ErrStopHandler) {
			continue
		}
		if err != nil {
			return err
		}
		if err := Walk(ctx, h, children...); err != nil {
			return err
		}
	}
	return nil
}

// Dispatch calls h on each of descs and on the children h returns, as
// Walk does, but concurrently: at most limit calls to h run at once (no
// bound when limit is 0 or less), and a descriptor's children are
// dispatched as soon as its handler returns. Each digest is handled at
// most once per Dispatch call, however many paths reach it; descriptors
// without a digest are handled each time.
//
// The first error of a handler (other than ErrSkipDesc or ErrStopHandler)
// cancels the context the other handlers were given, stops further calls,
// and is returned, as it is, once every handler has returned. When ctx
// ends first, its error is returned.
func Dispatch(ctx context.Context, h Handler, limit int, descs ...ocispec.Descriptor) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &dispatcher{ctx: ctx, cancel: cancel, h: h, seen: map[digest.Digest]bool{}}
	if limit > 0 {
		d.slots = make(chan struct{}, limit)
	}
	d.dispatch(descs)
	d.wg.Wait()
	return d.err
}

// dispatcher is the state of one Dispatch call.
type dispatcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	h      Handler
	slots  chan struct{} // a token per running handler; nil: no limit
	wg     sync.WaitGroup

	mu   sync.Mutex
	seen map[digest.Digest]bool
	err  error
}

// dispatch starts a goroutine for each of descs not seen before.
func (d *dispatcher) dispatch(descs []ocispec.Descriptor) {
	for _, desc := range descs {
		if err := d.ctx.Err(); err != nil {
			d.fail(err)
			return
		}
		if !d.claim(desc.Digest) {
			continue
		}
		d.wg.Add(1)
		go d.handle(desc)
	}
}

func (d *dispatcher) handle(desc ocispec.Descriptor) {
	defer d.wg.Done()
	if d.slots != nil {
		select {
		case d.slots <- struct{}{}:
		case <-d.ctx.Done():
			d.fail(d.ctx.Err())
			return
		}
	}
	if err := d.ctx.Err(); err != nil {
		d.release()
		d.fail(err)
		return
	}
	children, err := d.h.Handle(d.ctx, desc)
	d.release()
	switch {
	case errors.Is(err, ErrSkipDesc) || errors.Is(err, ErrStopHandler):
	case err != nil:
		d.fail(err)
	default:
		d.dispatch(children)
	}
}

func (d *dispatcher) release() {
	if d.slots != nil {
		<-d.slots
	}
}

// claim reports whether dgst is to be handled: it has not been before, or
// it is empty.
func (d *dispatcher) claim(dgst digest.Digest) bool {
	if dgst == "" {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[dgst] {
		return false
	}
	d.seen[dgst] = true
	return true
}

// fail keeps the first error and cancels the rest.
func (d *dispatcher) fail(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
	d.cancel()
}

// ChildrenHandler returns the children of manifests and indexes read from
// p: a manifest's config, then its layers; an index's manifests, in order.
// Other descriptors have none. Manifests and indexes are read and checked
// by ReadManifest and ReadIndex, whose errors it returns; a Docker schema 1
// manifest is a NotImplemented error.
func ChildrenHandler(p content.Provider) HandlerFunc {
	return func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		switch {
		case IsManifestType(desc.MediaType):
			m, err := ReadManifest(ctx, p, desc)
			if err != nil {
				return nil, err
			}
			return append([]ocispec.Descriptor{m.Config}, m.Layers...), nil
		case IsIndexType(desc.MediaType):
			idx, err := ReadIndex(ctx, p, desc)
			if err != nil {
				return nil, err
			}
			return idx.Manifests, nil
		case IsSchema1Type(desc.MediaType):
			return nil, fmt.Errorf("manifest %s: Docker schema 1 manifests are not supported: %w", desc.Digest, errdefs.ErrNotImplemented)
		}
		return nil, nil
	}
}

// FilterPlatforms wraps f to drop the children that name a platform m does
// not accept. Children without a platform are kept. A nil m is the host's
// platform, platforms.Default().
func FilterPlatforms(f HandlerFunc, m platforms.Matcher) HandlerFunc {
	if m == nil {
		m = platforms.Default()
	}
	return func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		children, err := f(ctx, desc)
		if err != nil {
			return children, err
		}
		var kept []ocispec.Descriptor
		for _, c := range children {
			if c.Platform == nil || m.Match(*c.Platform) {
				kept = append(kept, c)
			}
		}
		return kept, nil
	}
}

// LimitManifests wraps f so that the children of an index are sorted by m,
// best first (children without a platform last, all stably), and only the
// first n are kept; n of 0 or less keeps all. The children of other
// descriptors pass unchanged. With n above 0, an index left without
// children is a NotFound error. Put FilterPlatforms inside it, so that the
// children m does not accept are gone before the cut. A nil m is the
// host's platform, platforms.Default().
func LimitManifests(f HandlerFunc, m platforms.MatchComparer, n int) HandlerFunc {
	if m == nil {
		m = platforms.Default()
	}
	return func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		children, err := f(ctx, desc)
		if err != nil || !IsIndexType(desc.MediaType) {
			return children, err
		}
		children = slices.Clone(children)
		slices.SortStableFunc(children, func(a, b ocispec.Descriptor) int {
			switch {
			case before(m, a, b):
				return -1
			case before(m, b, a):
				return 1
			}
			return 0
		})
		if n > 0 {
			if len(children) == 0 {
				return nil, fmt.Errorf("index %s: no manifest for %s: %w", desc.Digest, describe(m), errdefs.ErrNotFound)
			}
			if len(children) > n {
				children = children[:n]
			}
		}
		return children, nil
	}
}

// before reports whether m prefers a's platform to b's; a descriptor with
// a platform is preferred to one without.
func before(m platforms.MatchComparer, a, b ocispec.Descriptor) bool {
	switch {
	case a.Platform == nil:
		return false
	case b.Platform == nil:
		return true
	}
	return m.Less(*a.Platform, *b.Platform)
}

// describe names what m accepts, for error messages.
func describe(m platforms.Matcher) string {
	if s, ok := m.(fmt.Stringer); ok {
		return s.String()
	}
	return "the requested platform"
}
