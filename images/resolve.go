package images

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/platforms"
)

// maxIndexDepth bounds the nesting of indexes inside indexes that
// Manifest, Size and Platforms follow.
const maxIndexDepth = 8

// annotationReferenceType marks the manifests BuildKit adds to an index
// for attestations (SBOM, provenance), which are not runnable images.
const annotationReferenceType = "vnd.docker.reference.type"

// Manifest returns the manifest of the image whose target is target,
// for platform (the host's, platforms.Default(), when nil).
//
// When target is an index, its entries are ranked by platform and the
// best one platform accepts is read; nested indexes are searched too, up
// to 8 deep. An entry without a platform is ranked by the platform in its
// config; one whose manifest or config is not in p is passed over, as are
// BuildKit's attestation manifests. When target is a manifest, its
// platform (target.Platform, or its config's) must be accepted.
//
// No acceptable manifest is a NotFound error that names what the index
// has: "index sha256:…: no manifest for linux/s390x; the index has
// linux/amd64, linux/arm64: not found". A target that is neither a
// manifest nor an index is InvalidArgument. Errors from reading the
// manifests, indexes and configs are returned as ReadManifest, ReadIndex
// and ReadConfig give them.
func Manifest(ctx context.Context, p content.Provider, target ocispec.Descriptor, platform platforms.MatchComparer) (ocispec.Manifest, error) {
	r, err := resolve(ctx, p, target, platform)
	return r.manifest, err
}

// Config returns the descriptor of the config of the image whose target
// is target, for platform, as Manifest chooses.
func Config(ctx context.Context, p content.Provider, target ocispec.Descriptor, platform platforms.MatchComparer) (ocispec.Descriptor, error) {
	m, err := Manifest(ctx, p, target, platform)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return m.Config, nil
}

// RootFS returns the diff IDs of the image config configDesc names: the
// digests of its layers uncompressed, bottom first. It reads the config
// with ReadConfig.
func RootFS(ctx context.Context, p content.Provider, configDesc ocispec.Descriptor) ([]digest.Digest, error) {
	img, err := ReadConfig(ctx, p, configDesc)
	if err != nil {
		return nil, err
	}
	return img.RootFS.DiffIDs, nil
}

// Size returns the size in bytes of the image whose target is target, for
// platform: the manifest Manifest chooses, its config and its layers,
// together with the target and any nested index on the way when target
// is an index. A blob named twice is counted once. Sizes are those of the
// descriptors; only the indexes and the manifest are read, so layers need
// not be in p.
func Size(ctx context.Context, p content.Provider, target ocispec.Descriptor, platform platforms.MatchComparer) (int64, error) {
	r, err := resolve(ctx, p, target, platform)
	if err != nil {
		return 0, err
	}
	var size int64
	counted := map[digest.Digest]bool{}
	add := func(d ocispec.Descriptor) {
		if !counted[d.Digest] {
			counted[d.Digest] = true
			size += d.Size
		}
	}
	for _, d := range r.indexes {
		add(d)
	}
	add(r.desc)
	add(r.manifest.Config)
	for _, l := range r.manifest.Layers {
		add(l)
	}
	return size, nil
}

// Platforms returns the platforms of the image whose target is target.
// For an index, these are the platforms of its entries, nested indexes
// included, in order and without repeats; an entry without a platform
// counts with the platform of its config, and is left out when its
// manifest or config is not in p, as are BuildKit's attestation
// manifests. For a manifest, it is target.Platform or its config's
// platform; an artifact without one has none. A target that is neither a
// manifest nor an index is InvalidArgument.
func Platforms(ctx context.Context, p content.Provider, target ocispec.Descriptor) ([]ocispec.Platform, error) {
	switch {
	case IsManifestType(target.MediaType):
		pl, ok, err := manifestPlatform(ctx, p, target)
		if err != nil || !ok {
			return nil, err
		}
		return []ocispec.Platform{pl}, nil
	case IsIndexType(target.MediaType):
		cands, err := collect(ctx, p, target, nil)
		if err != nil {
			return nil, err
		}
		var ps []ocispec.Platform
		for _, c := range cands {
			if c.platform != nil && !slices.ContainsFunc(ps, func(q ocispec.Platform) bool { return samePlatform(q, *c.platform) }) {
				ps = append(ps, *c.platform)
			}
		}
		return ps, nil
	}
	return nil, notImage(target)
}

// resolved is a manifest chosen for a platform and the path to it.
type resolved struct {
	indexes  []ocispec.Descriptor // from the target down; none for a lone manifest
	desc     ocispec.Descriptor
	manifest ocispec.Manifest
}

// candidate is a manifest found in an index, and the indexes leading to it.
type candidate struct {
	desc     ocispec.Descriptor
	platform *ocispec.Platform // nil when unknown
	indexes  []ocispec.Descriptor
}

func resolve(ctx context.Context, p content.Provider, target ocispec.Descriptor, platform platforms.MatchComparer) (resolved, error) {
	if platform == nil {
		platform = platforms.Default()
	}
	switch {
	case IsManifestType(target.MediaType):
		m, err := ReadManifest(ctx, p, target)
		if err != nil {
			return resolved{}, err
		}
		pl, ok, err := platformOf(ctx, p, target, m)
		if err != nil {
			return resolved{}, err
		}
		if ok && !platform.Match(pl) {
			return resolved{}, fmt.Errorf("manifest %s: no manifest for %s; the image is %s: %w", target.Digest, describe(platform), platforms.Format(pl), errdefs.ErrNotFound)
		}
		return resolved{desc: target, manifest: m}, nil
	case IsIndexType(target.MediaType):
		cands, err := collect(ctx, p, target, nil)
		if err != nil {
			return resolved{}, err
		}
		var best *candidate
		for i := range cands {
			c := &cands[i]
			if c.platform == nil || !platform.Match(*c.platform) {
				continue
			}
			if best == nil || platform.Less(*c.platform, *best.platform) {
				best = c
			}
		}
		if best == nil {
			return resolved{}, fmt.Errorf("index %s: no manifest for %s; %s: %w", target.Digest, describe(platform), listPlatforms(cands), errdefs.ErrNotFound)
		}
		m, err := ReadManifest(ctx, p, best.desc)
		if err != nil {
			return resolved{}, err
		}
		return resolved{indexes: best.indexes, desc: best.desc, manifest: m}, nil
	}
	return resolved{}, notImage(target)
}

// collect lists the manifests of the index desc, depth first, with their
// platforms. parents are the indexes above desc.
func collect(ctx context.Context, p content.Provider, desc ocispec.Descriptor, parents []ocispec.Descriptor) ([]candidate, error) {
	if len(parents) >= maxIndexDepth {
		return nil, fmt.Errorf("index %s: indexes nested more than %d deep: %w", desc.Digest, maxIndexDepth, errdefs.ErrInvalidArgument)
	}
	idx, err := ReadIndex(ctx, p, desc)
	if err != nil {
		return nil, err
	}
	path := append(slices.Clip(parents), desc)
	var cands []candidate
	for _, child := range idx.Manifests {
		if _, ok := child.Annotations[annotationReferenceType]; ok {
			continue
		}
		switch {
		case IsManifestType(child.MediaType):
			c := candidate{desc: child, platform: child.Platform, indexes: path}
			if c.platform == nil {
				pl, ok, err := manifestPlatform(ctx, p, child)
				if errdefs.IsNotFound(err) {
					continue
				}
				if err != nil {
					return nil, err
				}
				if ok {
					c.platform = &pl
				}
			}
			cands = append(cands, c)
		case IsIndexType(child.MediaType):
			nested, err := collect(ctx, p, child, path)
			if errdefs.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			cands = append(cands, nested...)
		}
	}
	return cands, nil
}

// manifestPlatform reads the manifest desc names and returns its
// platform, as platformOf does.
func manifestPlatform(ctx context.Context, p content.Provider, desc ocispec.Descriptor) (ocispec.Platform, bool, error) {
	if desc.Platform != nil {
		return *desc.Platform, true, nil
	}
	m, err := ReadManifest(ctx, p, desc)
	if err != nil {
		return ocispec.Platform{}, false, err
	}
	return platformOf(ctx, p, desc, m)
}

// platformOf returns the platform of the manifest m that desc names:
// desc.Platform, or the platform its image config states. An artifact,
// whose config is not an image config or states no platform, has none.
func platformOf(ctx context.Context, p content.Provider, desc ocispec.Descriptor, m ocispec.Manifest) (ocispec.Platform, bool, error) {
	if desc.Platform != nil {
		return *desc.Platform, true, nil
	}
	if !IsConfigType(m.Config.MediaType) {
		return ocispec.Platform{}, false, nil
	}
	img, err := ReadConfig(ctx, p, m.Config)
	if err != nil {
		return ocispec.Platform{}, false, err
	}
	if img.OS == "" && img.Architecture == "" {
		return ocispec.Platform{}, false, nil
	}
	return img.Platform, true, nil
}

// listPlatforms says which platforms cands have, for error messages.
func listPlatforms(cands []candidate) string {
	var names []string
	for _, c := range cands {
		if c.platform == nil {
			continue
		}
		if name := platforms.Format(*c.platform); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "the index names no platform"
	}
	return "the index has " + strings.Join(names, ", ")
}

func samePlatform(a, b ocispec.Platform) bool {
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant &&
		a.OSVersion == b.OSVersion && slices.Equal(a.OSFeatures, b.OSFeatures)
}

func notImage(target ocispec.Descriptor) error {
	return fmt.Errorf("target %s: media type %.80q is neither a manifest nor an index: %w", target.Digest, target.MediaType, errdefs.ErrInvalidArgument)
}
