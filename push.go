package containerd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

// Push pushes the image whose manifest or index is desc from the content
// store to ref's repository, children first: layers and configs (several
// at once, WithMaxConcurrentUploads), then manifests, then the index.
// Only content the store holds is pushed — the other platforms of an
// index pulled for one platform are assumed to be on the registry
// already — and content the registry holds is not sent again.
//
// ref names the remote repository and may differ from the local name.
// Without a tag or digest ("registry.example/app") the image is pushed
// by digest only; with a tag, only desc itself gets the tag; a digest in
// ref must be desc's.
func (c *Client) Push(ctx context.Context, ref string, desc ocispec.Descriptor, opts ...RemoteOpt) error {
	rc, err := c.remoteContext(opts)
	if err != nil {
		return err
	}
	pr, err := remotes.ParseRef(ref)
	if err != nil {
		return err
	}
	if err := content.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if pr.Digest != "" && pr.Digest != desc.Digest {
		return fmt.Errorf("push %s: the reference's digest is not the image's %s: %w", ref, desc.Digest, errdefs.ErrInvalidArgument)
	}
	target := pr.Name + "@" + desc.Digest.String()
	if hasTag(ref) {
		target = pr.Name + ":" + pr.Tag + "@" + desc.Digest.String()
	}
	store := c.ContentStore()
	if _, err := store.Info(ctx, desc.Digest); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	blobs, manifests, missing, err := pushOrder(ctx, store, desc)
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	res, err := rc.resolverFor(ctx)
	if err != nil {
		return err
	}
	pusher, err := res.Pusher(ctx, target)
	if err != nil {
		return err
	}
	// Repositories of the same registry that this store knows hold the
	// image (it was pulled from or pushed to them) are asked to lend
	// their blobs: a mount moves no bytes.
	ctx = docker.WithMountSources(ctx, c.mountSources(ctx, pr, desc)...)
	var tops []remotes.TransferOpt
	if rc.progress != nil {
		tops = append(tops, remotes.WithProgress(rc.progress))
	}
	if err := pushAll(ctx, pusher, store, blobs, rc.uploads, tops); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	for _, m := range manifests {
		if err := remotes.Push(ctx, pusher, store, m, tops...); err != nil {
			if len(missing) > 0 {
				return fmt.Errorf("push %s: %w (the content store lacks %s of the image; pull it with all platforms to push it elsewhere)", ref, err, strings.Join(missing, ", "))
			}
			return fmt.Errorf("push %s: %w", ref, err)
		}
	}
	return nil
}

// mountSources returns the repositories on pr's registry, other than
// pr's, of the images of the store whose target is desc.
func (c *Client) mountSources(ctx context.Context, pr remotes.Ref, desc ocispec.Descriptor) []string {
	recs, err := c.images.List(ctx, "target.digest=="+desc.Digest.String())
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range recs {
		src, err := remotes.ParseRef(r.Name)
		if err == nil && src.Domain == pr.Domain && src.Name != pr.Name && !slices.Contains(out, src.Name) {
			out = append(out, src.Name)
		}
	}
	return out
}

// hasTag reports whether the reference ref names a tag of its own (the
// last path segment has a ':', before any '@').
func hasTag(ref string) bool {
	name, _, _ := strings.Cut(ref, "@")
	return strings.Contains(name[strings.LastIndex(name, "/")+1:], ":")
}

// pushOrder lists what to push of the tree under root that the store
// holds: blobs (configs, layers), and manifests and indexes with every
// child before its parent. Each descriptor appears once. missing names
// the manifests of an index the store lacks (their platforms, or
// digests).
func pushOrder(ctx context.Context, store content.Store, root ocispec.Descriptor) (blobs, manifests []ocispec.Descriptor, missing []string, err error) {
	children := images.ChildrenHandler(store)
	seen := map[string]bool{}
	var visit func(d ocispec.Descriptor, top bool) error
	visit = func(d ocispec.Descriptor, top bool) error {
		if seen[d.Digest.String()] {
			return nil
		}
		seen[d.Digest.String()] = true
		if !top {
			if _, err := store.Info(ctx, d.Digest); errdefs.IsNotFound(err) {
				// Not held here: assumed on the registry.
				if images.IsManifestType(d.MediaType) || images.IsIndexType(d.MediaType) {
					name := d.Digest.String()
					if d.Platform != nil {
						name = platforms.Format(*d.Platform)
					}
					missing = append(missing, name)
				}
				return nil
			} else if err != nil {
				return err
			}
		}
		if !images.IsManifestType(d.MediaType) && !images.IsIndexType(d.MediaType) {
			blobs = append(blobs, d)
			return nil
		}
		kids, err := children(ctx, d)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := visit(k, false); err != nil {
				return err
			}
		}
		manifests = append(manifests, d)
		return nil
	}
	err = visit(root, true)
	return blobs, manifests, missing, err
}

// pushAll pushes descs with at most limit at once; the first failure
// stops the rest.
func pushAll(ctx context.Context, p remotes.Pusher, store content.Provider, descs []ocispec.Descriptor, limit int, opts []remotes.TransferOpt) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, limit)
		once sync.Once
		ferr error
	)
	for _, d := range descs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := remotes.Push(ctx, p, store, d, opts...); err != nil {
				once.Do(func() { ferr = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return ferr
	}
	return context.Cause(ctx)
}
