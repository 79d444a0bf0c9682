package containerd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/remotes/docker/config"
	"github.com/daemonless/containerd/remotes/docker/credentials"
)

// DefaultHostsDir is where the default resolver looks for hosts.toml
// files (containerd's certs.d layout), when the directory exists.
const DefaultHostsDir = "/etc/containerd/certs.d"

// defaultResolver is the resolver of calls made without WithResolver.
func defaultResolver(ctx context.Context) (remotes.Resolver, error) {
	creds, err := credentials.Load()
	if err != nil {
		return nil, err
	}
	hopts := []config.HostOpt{config.WithCredentials(creds.Credentials)}
	if _, err := os.Stat(DefaultHostsDir); err == nil {
		hopts = append(hopts, config.WithHostDir(DefaultHostsDir))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("hosts directory: %w", err)
	}
	return docker.NewResolver(docker.WithHosts(config.ConfigureHosts(ctx, hopts...))), nil
}

func (rc *remoteContext) resolverFor(ctx context.Context) (remotes.Resolver, error) {
	if rc.resolver != nil {
		return rc.resolver, nil
	}
	return defaultResolver(ctx)
}

// Fetch copies the content of ref into the content store — the index or
// manifest, and the manifests, configs and layers of the chosen platform
// (of every platform with WithAllPlatforms) — and returns the image
// record it would store, without storing it. Content already in the
// store is not fetched again, and two fetches of the same blob at once,
// in this process or another, fetch it once.
//
// Fetch works under the lease of ctx, or a lease of its own that it
// deletes before returning: then no image references what it fetched,
// and the next garbage collection removes it unless the caller stores
// the record first. Fetch under WithLease to keep it longer.
func (c *Client) Fetch(ctx context.Context, ref string, opts ...RemoteOpt) (images.Image, error) {
	rc, err := c.remoteContext(opts)
	if err != nil {
		return images.Image{}, err
	}
	ctx, done, err := c.withTempLease(ctx, "fetch "+ref)
	if err != nil {
		return images.Image{}, err
	}
	defer done()
	return c.fetch(ctx, rc, ref, 0, nil)
}

// fetch resolves ref and fetches its tree, keeping at most limit manifests
// of an index (0: all the platform matcher accepts).
// A pullUnpacker, when not nil, is told of every blob in the store and of
// the manifests.
func (c *Client) fetch(ctx context.Context, rc *remoteContext, ref string, limit int, pu *pullUnpacker) (images.Image, error) {
	res, err := rc.resolverFor(ctx)
	if err != nil {
		return images.Image{}, err
	}
	name, desc, err := res.Resolve(ctx, ref)
	if err != nil {
		return images.Image{}, err
	}
	fetcher, err := res.Fetcher(ctx, name)
	if err != nil {
		return images.Image{}, err
	}
	store := c.ContentStore()
	var tops []remotes.TransferOpt
	if rc.progress != nil {
		tops = append(tops, remotes.WithProgress(rc.progress))
	}
	fetchHandler := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if images.IsNonDistributableType(d.MediaType) {
			return nil, nil // foreign layers are not fetched
		}
		if err := remotes.Fetch(ctx, store, fetcher, d, tops...); err != nil {
			return nil, err
		}
		if pu != nil {
			pu.blobs.in(d.Digest)
		}
		return nil, nil
	})
	// Manifests and indexes are labelled with all their children, those
	// of other platforms too, as containerd does.
	children := labelChildren(store, images.ChildrenHandler(store))
	children = images.FilterPlatforms(children, rc.platform)
	children = images.LimitManifests(children, rc.platform, limit)
	handlers := append(append([]images.Handler{}, rc.handlers...), fetchHandler)
	if pu != nil {
		handlers = append(handlers, images.HandlerFunc(pu.handler(ctx)))
	}
	handler := images.Handlers(append(handlers, children)...)
	if err := images.Dispatch(ctx, handler, rc.downloads, desc); err != nil {
		if errdefs.IsNotFound(err) && images.IsIndexType(desc.MediaType) {
			// No manifest for the platform: say which the index has.
			if _, merr := images.Manifest(ctx, store, desc, rc.platform); merr != nil {
				err = merr
			}
		}
		return images.Image{}, fmt.Errorf("fetch %s: %w", name, err)
	}
	return images.Image{Name: name, Target: desc, Labels: rc.labels}, nil
}

// Pull fetches ref for the chosen platform (WithPlatform; the host's by
// default) and stores its image record, only once every blob the image
// needs is committed: a pull that fails leaves no record, and pulling
// again continues where it stopped. A layer already in the store is not
// fetched again, and a pull of an image already complete asks the
// registry one question (a HEAD of the manifest).
//
// Pull works under the lease of ctx, or a lease of its own deleted once
// the image record is stored, so that garbage collection never takes a
// blob or a snapshot it has made before the record references them.
func (c *Client) Pull(ctx context.Context, ref string, opts ...RemoteOpt) (Image, error) {
	rc, err := c.remoteContext(opts)
	if err != nil {
		return nil, err
	}
	ctx, done, err := c.withTempLease(ctx, "pull "+ref)
	if err != nil {
		return nil, err
	}
	defer done()
	limit := 1
	if rc.allPlatforms {
		limit = 0
	}
	var pu *pullUnpacker
	if rc.unpack {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		pu = &pullUnpacker{c: c, rc: rc, platform: rc.platform}
		if rc.allPlatforms {
			pu.platform = platforms.Default()
		}
		rec, err := c.fetch(ctx, rc, ref, limit, pu)
		if err != nil {
			cancel()
			pu.wait()
			return nil, err
		}
		started, err := pu.wait()
		if err == nil && !started {
			err = fmt.Errorf("no manifest for the platform to unpack: %w", errdefs.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("pull %s: unpack: %w", rec.Name, err)
		}
		return c.storePulled(ctx, rc, rec)
	}
	rec, err := c.fetch(ctx, rc, ref, limit, nil)
	if err != nil {
		return nil, err
	}
	return c.storePulled(ctx, rc, rec)
}

// storePulled checks that a fetched image has its platform's manifest and
// stores its record.
func (c *Client) storePulled(ctx context.Context, rc *remoteContext, rec images.Image) (Image, error) {
	// The manifest for the platform must be there, or the index holds none.
	if _, err := images.Manifest(ctx, c.ContentStore(), rec.Target, rc.platform); err != nil {
		return nil, fmt.Errorf("pull %s: %w", rec.Name, err)
	}
	stored, err := c.images.Create(ctx, rec)
	if errdefs.IsAlreadyExists(err) {
		stored, err = c.images.Update(ctx, rec, "target", "labels")
	}
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", rec.Name, err)
	}
	return NewImageWithPlatform(c, stored, rc.platform), nil
}
