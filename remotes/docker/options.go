package docker

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/containerd/errdefs"
)

// Defaults of the resolver's options.
const (
	// DefaultMaxRetries is how often a request is retried after a
	// temporary failure, and how often a broken download is resumed
	// without progress in between.
	DefaultMaxRetries = 4
	// DefaultRetryBackoffMin and DefaultRetryBackoffMax bound the wait
	// before a retry; it doubles from the one to the other.
	DefaultRetryBackoffMin = 100 * time.Millisecond
	DefaultRetryBackoffMax = 5 * time.Second
	// DefaultChunkThreshold is the blob size from which uploads go in
	// chunks rather than in one PUT.
	DefaultChunkThreshold = 64 << 20
	// DefaultChunkSize is the size of an upload chunk, unless the
	// registry asks for larger ones (OCI-Chunk-Min-Length).
	DefaultChunkSize = 16 << 20
)

// modulePath is this module's path, to find its version in build info.
const modulePath = "github.com/daemonless/containerd"

// ResolverOpt configures NewResolver.
type ResolverOpt func(*resolverOpts) error

type resolverOpts struct {
	hosts          RegistryHosts
	header         http.Header
	maxRetries     int
	backoffMin     time.Duration
	backoffMax     time.Duration
	chunkThreshold int64
	chunkSize      int64
}

// WithHosts sets where the registries of references are found. The
// default serves docker.io from https://registry-1.docker.io, loopback
// hosts (localhost, 127.0.0.0/8, [::1], any port) over plain http and
// every other registry over https at its own name, with no credentials.
// Hosts whose Client is nil use a client of the resolver's own.
func WithHosts(hosts RegistryHosts) ResolverOpt {
	return func(o *resolverOpts) error {
		if hosts == nil {
			return fmt.Errorf("resolver hosts: nil: %w", errdefs.ErrInvalidArgument)
		}
		o.hosts = hosts
		return nil
	}
}

// WithHeader adds header to every request, before the host's own header.
// The default is a User-Agent of "dctr/<version>"; a User-Agent in header
// replaces it.
func WithHeader(header http.Header) ResolverOpt {
	return func(o *resolverOpts) error {
		for k, v := range header {
			o.header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
		return nil
	}
}

// WithMaxRetries sets how often a request is retried after a temporary
// failure (408, 429, 5xx, a connection reset or cut short), and how often
// a broken download is resumed without progress in between. The default
// is DefaultMaxRetries; 0 disables retries.
func WithMaxRetries(n int) ResolverOpt {
	return func(o *resolverOpts) error {
		if n < 0 {
			return fmt.Errorf("max retries %d: %w", n, errdefs.ErrInvalidArgument)
		}
		o.maxRetries = n
		return nil
	}
}

// WithRetryBackoff sets the wait before a retry: it starts at min and
// doubles up to max, each wait drawn at random from its upper half so
// that clients do not retry in step. max also caps the wait a registry
// asks for in Retry-After. The defaults are DefaultRetryBackoffMin and
// DefaultRetryBackoffMax.
func WithRetryBackoff(min, max time.Duration) ResolverOpt {
	return func(o *resolverOpts) error {
		if min <= 0 || max < min {
			return fmt.Errorf("retry backoff %v..%v: %w", min, max, errdefs.ErrInvalidArgument)
		}
		o.backoffMin, o.backoffMax = min, max
		return nil
	}
}

// WithChunkedUploads sets how blobs are uploaded: in one PUT up to
// threshold bytes, in PATCH requests of size bytes from there on (or of
// the registry's OCI-Chunk-Min-Length, when larger). A registry that
// sends OCI-Chunk-Min-Length gets chunks whatever the blob's size. The
// defaults are DefaultChunkThreshold and DefaultChunkSize.
func WithChunkedUploads(threshold, size int64) ResolverOpt {
	return func(o *resolverOpts) error {
		if threshold <= 0 || size <= 0 {
			return fmt.Errorf("chunked uploads from %d bytes in chunks of %d: %w", threshold, size, errdefs.ErrInvalidArgument)
		}
		o.chunkThreshold, o.chunkSize = threshold, size
		return nil
	}
}

func makeResolverOpts(opts []ResolverOpt) (resolverOpts, error) {
	o := resolverOpts{
		header:         http.Header{"User-Agent": {userAgent()}},
		maxRetries:     DefaultMaxRetries,
		backoffMin:     DefaultRetryBackoffMin,
		backoffMax:     DefaultRetryBackoffMax,
		chunkThreshold: DefaultChunkThreshold,
		chunkSize:      DefaultChunkSize,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// userAgent is "dctr/" and this module's version, as the build records
// it: a release when the module is a dependency, "dev" when it is the
// main module or the build says nothing.
func userAgent() string {
	version := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
				version = m.Version
			}
		}
	}
	return "dctr/" + version
}
