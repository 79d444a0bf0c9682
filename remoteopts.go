package containerd

import (
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/remotes"
)

const (
	// DefaultMaxConcurrentDownloads is how many blobs Pull and Fetch
	// move at once unless WithMaxConcurrentDownloads says otherwise.
	DefaultMaxConcurrentDownloads = 3
	// DefaultMaxConcurrentUploads is Push's like number.
	DefaultMaxConcurrentUploads = 3
)

// RemoteOpt configures Pull, Fetch and Push.
type RemoteOpt func(*remoteContext) error

// remoteContext holds the settings of one Pull, Fetch or Push.
type remoteContext struct {
	resolver     remotes.Resolver
	platform     platforms.MatchComparer
	allPlatforms bool
	downloads    int
	uploads      int
	labels       map[string]string
	handlers     []images.Handler
	progress     remotes.ProgressFunc
	unpack       bool
	snapshotter  string
}

func (c *Client) remoteContext(opts []RemoteOpt) (*remoteContext, error) {
	rc := &remoteContext{
		platform:  platforms.Default(),
		downloads: DefaultMaxConcurrentDownloads,
		uploads:   DefaultMaxConcurrentUploads,
	}
	for _, o := range opts {
		if err := o(rc); err != nil {
			return nil, err
		}
	}
	if rc.allPlatforms {
		rc.platform = platforms.All()
	}
	return rc, nil
}

// WithResolver sets the resolver that finds and moves content. The
// default is a registry client configured as dctr's is: hosts.toml files
// under /etc/containerd/certs.d when they exist, and credentials from
// docker's config.json and podman's auth.json.
func WithResolver(r remotes.Resolver) RemoteOpt {
	return func(rc *remoteContext) error {
		if r == nil {
			return fmt.Errorf("resolver is nil: %w", errdefs.ErrInvalidArgument)
		}
		rc.resolver = r
		return nil
	}
}

// WithPlatform chooses the platform of an index to pull ("linux/arm64",
// "linux/arm/v7"). The default is the host's platform.
func WithPlatform(platform string) RemoteOpt {
	return func(rc *remoteContext) error {
		p, err := platforms.Parse(platform)
		if err != nil {
			return err
		}
		rc.platform = platforms.Only(p)
		return nil
	}
}

// WithPlatformMatcher chooses platforms with m, as WithPlatform does.
func WithPlatformMatcher(m platforms.MatchComparer) RemoteOpt {
	return func(rc *remoteContext) error {
		if m == nil {
			return fmt.Errorf("platform matcher is nil: %w", errdefs.ErrInvalidArgument)
		}
		rc.platform = m
		return nil
	}
}

// WithAllPlatforms makes Fetch and Pull move the content of every
// platform of an index. The default is the chosen platform only.
func WithAllPlatforms(rc *remoteContext) error {
	rc.allPlatforms = true
	return nil
}

// WithMaxConcurrentDownloads sets how many blobs move at once. The
// default is DefaultMaxConcurrentDownloads.
func WithMaxConcurrentDownloads(n int) RemoteOpt {
	return func(rc *remoteContext) error {
		if n < 1 {
			return fmt.Errorf("max concurrent downloads %d: %w", n, errdefs.ErrInvalidArgument)
		}
		rc.downloads = n
		return nil
	}
}

// WithMaxConcurrentUploads sets how many blobs Push moves at once. The
// default is DefaultMaxConcurrentUploads.
func WithMaxConcurrentUploads(n int) RemoteOpt {
	return func(rc *remoteContext) error {
		if n < 1 {
			return fmt.Errorf("max concurrent uploads %d: %w", n, errdefs.ErrInvalidArgument)
		}
		rc.uploads = n
		return nil
	}
}

// WithPullLabels sets labels on the image record Pull stores. The default
// is none.
func WithPullLabels(labels map[string]string) RemoteOpt {
	return func(rc *remoteContext) error {
		if rc.labels == nil {
			rc.labels = map[string]string{}
		}
		for k, v := range labels {
			rc.labels[k] = v
		}
		return nil
	}
}

// WithImageHandler runs h on every descriptor Pull and Fetch visit, before
// its content is fetched: to watch, or to skip (images.ErrSkipDesc).
func WithImageHandler(h images.Handler) RemoteOpt {
	return func(rc *remoteContext) error {
		if h == nil {
			return fmt.Errorf("image handler is nil: %w", errdefs.ErrInvalidArgument)
		}
		rc.handlers = append(rc.handlers, h)
		return nil
	}
}

// WithProgress has fn told how each descriptor's transfer goes (see
// remotes.Progress). The default is no reports.
func WithProgress(fn remotes.ProgressFunc) RemoteOpt {
	return func(rc *remoteContext) error {
		rc.progress = fn
		return nil
	}
}
