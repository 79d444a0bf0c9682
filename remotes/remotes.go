package remotes

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
)

const (
	// MaxManifestSize bounds manifests and indexes read from a registry.
	MaxManifestSize = 4 << 20
	// MaxSmallBodySize bounds token responses and error bodies.
	MaxSmallBodySize = 1 << 20
)

// Resolver turns references into descriptors and opens fetchers and
// pushers for them.
type Resolver interface {
	// Resolve finds the descriptor ref names: the manifest or index its
	// tag or digest points at. name is the normalised reference
	// ("docker.io/library/redis:latest"). A missing reference is a
	// NotFound error.
	Resolve(ctx context.Context, ref string) (name string, desc ocispec.Descriptor, err error)

	// Fetcher returns a Fetcher for the repository of ref.
	Fetcher(ctx context.Context, ref string) (Fetcher, error)

	// Pusher returns a Pusher for the repository of ref. When ref names
	// a tag, pushing a manifest tags it.
	Pusher(ctx context.Context, ref string) (Pusher, error)
}

// Fetcher reads content from a repository.
type Fetcher interface {
	// Fetch opens the content desc names. The reader yields exactly
	// desc.Size bytes whose digest is desc.Digest, or fails: a short,
	// long or corrupt stream is an error at the end of the stream, never
	// a clean io.EOF.
	Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error)
}

// Pusher writes content to a repository.
type Pusher interface {
	// Push opens a writer for desc. Content the repository already holds
	// is an AlreadyExists error and needs no writing. The blob becomes
	// visible when the writer's Commit succeeds.
	Push(ctx context.Context, desc ocispec.Descriptor) (content.Writer, error)
}

// Tagger is implemented by resolvers that can list a repository's tags.
type Tagger interface {
	// Tags lists the tags of the repository ref names, in the order the
	// registry gives them.
	Tags(ctx context.Context, ref string) ([]string, error)
}

// Progress is a report on one descriptor being moved.
type Progress struct {
	Desc ocispec.Descriptor
	// State is one of the Progress states.
	State ProgressState
	// Offset is how many bytes have been moved; Desc.Size is the total.
	Offset int64
	// Err is set when State is ProgressFailed.
	Err error
}

// ProgressState says where a descriptor's transfer is.
type ProgressState int

const (
	ProgressWaiting ProgressState = iota // queued
	ProgressMoving                       // bytes are flowing
	ProgressExists                       // already there: skipped
	ProgressMounted                      // cross-repository mount: nothing moved
	ProgressDone                         // moved and committed
	ProgressFailed                       // failed; see Err
)

// ProgressFunc receives progress reports. It is called from the goroutine
// doing the transfer, so it must be quick and safe for concurrent use.
type ProgressFunc func(Progress)

// FetcherByDigest is implemented by fetchers that can fetch a blob
// knowing only its digest, as "dctr content fetch-blob" does. The
// descriptor returned carries the size the registry reported, which the
// reader then enforces; the digest is checked as for Fetch.
type FetcherByDigest interface {
	FetchByDigest(ctx context.Context, dgst digest.Digest) (io.ReadCloser, ocispec.Descriptor, error)
}
