package images_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

func only(p string) platforms.MatchComparer { return platforms.Only(platforms.MustParse(p)) }

func TestManifestFromIndex(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64", "linux/arm/v6")
	for _, tc := range []struct{ want, platform string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64", "linux/arm64"},
		{"linux/arm64", "linux/aarch64/v8"},
		{"linux/arm/v6", "linux/arm/v7"}, // arm/v7 runs v6
		{"linux/arm64", "linux/arm64/v8.2"},
	} {
		m, err := images.Manifest(ctx, s, img.index, only(tc.platform))
		if err != nil {
			t.Errorf("Manifest(%s) = %v", tc.platform, err)
			continue
		}
		if m.Config.Digest != img.configs[tc.want].Digest {
			t.Errorf("Manifest(%s) has config %s, want that of %s", tc.platform, m.Config.Digest, tc.want)
		}
	}
	// Only(linux/amd64) also accepts 386, but prefers amd64 wherever it is.
	img2 := buildIndex(t, s, "linux/386", "linux/amd64")
	if m, err := images.Manifest(ctx, s, img2.index, only("linux/amd64")); err != nil || m.Config.Digest != img2.configs["linux/amd64"].Digest {
		t.Errorf("Manifest(amd64) of [386, amd64] = config %s, %v; want amd64's", m.Config.Digest, err)
	}
	// All accepts everything, and takes the first.
	if m, err := images.Manifest(ctx, s, img.index, platforms.All()); err != nil || m.Config.Digest != img.configs["linux/amd64"].Digest {
		t.Errorf("Manifest(All) = config %s, %v; want the first's", m.Config.Digest, err)
	}
	// nil is the host's platform.
	host := platforms.DefaultString()
	img3 := buildIndex(t, s, "linux/s390x", host)
	if m, err := images.Manifest(ctx, s, img3.index, nil); err != nil || m.Config.Digest != img3.configs[host].Digest {
		t.Errorf("Manifest(nil) = config %s, %v; want that of %s", m.Config.Digest, err, host)
	}
}

func TestManifestNotFound(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	_, err := images.Manifest(ctx, s, img.index, only("linux/s390x"))
	if !errdefs.IsNotFound(err) {
		t.Fatalf("Manifest(s390x) = %v, want NotFound", err)
	}
	if want := "no manifest for linux/s390x; the index has linux/amd64, linux/arm64"; !strings.Contains(err.Error(), want) {
		t.Errorf("Manifest(s390x) = %q, want it to say %q", err, want)
	}
	if !strings.Contains(err.Error(), img.index.Digest.String()) {
		t.Errorf("Manifest(s390x) = %q, want the index named", err)
	}
	if _, err := images.Config(ctx, s, img.index, only("linux/s390x")); !errdefs.IsNotFound(err) {
		t.Errorf("Config(s390x) = %v, want NotFound", err)
	}
	if _, err := images.Size(ctx, s, img.index, only("linux/s390x")); !errdefs.IsNotFound(err) {
		t.Errorf("Size(s390x) = %v, want NotFound", err)
	}
	// A matcher that cannot say what it accepts.
	_, err = images.Manifest(ctx, s, img.index, anonymous{platforms.Only(platforms.MustParse("linux/s390x"))})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "no manifest for the requested platform; the index has") {
		t.Errorf("Manifest(anonymous matcher) = %v", err)
	}
	// A missing index is NotFound too, from the store.
	missing := img.index
	missing.Digest = digest.FromString("missing")
	if _, err := images.Manifest(ctx, s, missing, only("linux/amd64")); !errdefs.IsNotFound(err) {
		t.Errorf("Manifest(missing index) = %v, want NotFound", err)
	}
}

// anonymous hides the String method of a MatchComparer.
type anonymous struct{ m platforms.MatchComparer }

func (a anonymous) Match(p ocispec.Platform) bool   { return a.m.Match(p) }
func (a anonymous) Less(x, y ocispec.Platform) bool { return a.m.Less(x, y) }

func TestManifestLone(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64")
	target := img.manifests["linux/amd64"]
	target.Platform = nil // as a tag pointing at a manifest is resolved
	m, err := images.Manifest(ctx, s, target, only("linux/amd64"))
	if err != nil || m.Config.Digest != img.configs["linux/amd64"].Digest {
		t.Errorf("Manifest(lone manifest, amd64) = config %s, %v", m.Config.Digest, err)
	}
	_, err = images.Manifest(ctx, s, target, only("linux/arm64"))
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "no manifest for linux/arm64; the image is linux/amd64") {
		t.Errorf("Manifest(lone amd64 manifest, arm64) = %v, want NotFound naming both", err)
	}
	if _, err := images.Manifest(ctx, s, target, platforms.All()); err != nil {
		t.Errorf("Manifest(lone manifest, All) = %v", err)
	}
	// A target that is not an image.
	if _, err := images.Manifest(ctx, s, img.shared, nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Manifest(layer) = %v, want InvalidArgument", err)
	}
}

func TestManifestIndexVariants(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	shared := put(t, s, images.MediaTypeOCILayerGzip, []byte("the shared base layer"))
	amd, amdCfg, _, _ := buildManifest(t, s, "linux/amd64", shared)
	arm, armCfg, _, _ := buildManifest(t, s, "linux/arm64", shared)
	index := func(entries ...ocispec.Descriptor) ocispec.Descriptor {
		return putJSON(t, s, images.MediaTypeOCIIndex, ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: images.MediaTypeOCIIndex, Manifests: entries})
	}

	// Entries without a platform are ranked by their configs.
	plain := index(amd, arm)
	if m, err := images.Manifest(ctx, s, plain, only("linux/arm64")); err != nil || m.Config.Digest != armCfg.Digest {
		t.Errorf("Manifest(arm64) from entries without platforms = config %s, %v", m.Config.Digest, err)
	}
	if ps, err := images.Platforms(ctx, s, plain); err != nil || len(ps) != 2 || ps[1].Architecture != "arm64" {
		t.Errorf("Platforms(entries without platforms) = %+v, %v", ps, err)
	}

	// Nested indexes are searched, and counted in the size.
	inner := index(withPlatform(arm, "linux/arm64"))
	outer := index(withPlatform(amd, "linux/amd64"), inner)
	if m, err := images.Manifest(ctx, s, outer, only("linux/arm64")); err != nil || m.Config.Digest != armCfg.Digest {
		t.Errorf("Manifest(arm64) through a nested index = config %s, %v", m.Config.Digest, err)
	}
	size, err := images.Size(ctx, s, outer, only("linux/arm64"))
	want := outer.Size + inner.Size + arm.Size + armCfg.Size + shared.Size + int64(len("the layer of linux/arm64"))
	if err != nil || size != want {
		t.Errorf("Size(arm64) through a nested index = %d, %v; want %d", size, err, want)
	}
	if ps, err := images.Platforms(ctx, s, outer); err != nil || len(ps) != 2 {
		t.Errorf("Platforms(nested) = %+v, %v", ps, err)
	}

	// Indexes nested too deep.
	deep := index(withPlatform(amd, "linux/amd64"))
	for range 8 {
		deep = index(deep)
	}
	if _, err := images.Manifest(ctx, s, deep, only("linux/amd64")); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Manifest through 9 nested indexes = %v, want InvalidArgument", err)
	}

	// Attestation manifests are never chosen, nor listed.
	att := put(t, s, images.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"`+string(digest.FromString("c"))+`","size":1},"layers":[]}`))
	att = withPlatform(att, "unknown/unknown")
	att.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest"}
	withAtt := index(att, withPlatform(amd, "linux/amd64"))
	if m, err := images.Manifest(ctx, s, withAtt, platforms.All()); err != nil || m.Config.Digest != amdCfg.Digest {
		t.Errorf("Manifest(All) with an attestation first = config %s, %v; want amd64's", m.Config.Digest, err)
	}
	if ps, err := images.Platforms(ctx, s, withAtt); err != nil || len(ps) != 1 || ps[0].Architecture != "amd64" {
		t.Errorf("Platforms(with an attestation) = %+v, %v; want linux/amd64 alone", ps, err)
	}

	// An entry without a platform whose manifest is not stored is passed
	// over; so is a nested index that is not stored.
	absent := ocispec.Descriptor{MediaType: images.MediaTypeOCIManifest, Digest: digest.FromString("absent"), Size: 100}
	absentIndex := ocispec.Descriptor{MediaType: images.MediaTypeOCIIndex, Digest: digest.FromString("absent index"), Size: 100}
	partial := index(absent, absentIndex, withPlatform(arm, "linux/arm64"))
	if m, err := images.Manifest(ctx, s, partial, only("linux/arm64")); err != nil || m.Config.Digest != armCfg.Digest {
		t.Errorf("Manifest(arm64) with absent entries = config %s, %v", m.Config.Digest, err)
	}
	// But the chosen manifest must be there.
	gone := index(withPlatform(absent, "linux/arm64"))
	if _, err := images.Manifest(ctx, s, gone, only("linux/arm64")); !errdefs.IsNotFound(err) {
		t.Errorf("Manifest(arm64) whose manifest is absent = %v, want NotFound", err)
	}

	// An index that names no platform says so.
	artifact := put(t, s, images.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"`+string(digest.FromString("{}"))+`","size":2},"layers":[]}`))
	_, err = images.Manifest(ctx, s, index(artifact), only("linux/amd64"))
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "the index names no platform") {
		t.Errorf("Manifest of an index of artifacts = %v", err)
	}
	if ps, err := images.Platforms(ctx, s, artifact); err != nil || ps != nil {
		t.Errorf("Platforms(artifact) = %+v, %v; want none", ps, err)
	}
}

func TestConfigAndRootFS(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	cfg, err := images.Config(ctx, s, img.index, only("linux/arm64"))
	if err != nil || cfg.Digest != img.configs["linux/arm64"].Digest || cfg.MediaType != images.MediaTypeOCIConfig {
		t.Fatalf("Config(arm64) = %+v, %v", cfg, err)
	}
	diffIDs, err := images.RootFS(ctx, s, cfg)
	if err != nil || !slices.Equal(diffIDs, img.diffIDs["linux/arm64"]) {
		t.Errorf("RootFS = %v, %v; want %v", diffIDs, err, img.diffIDs["linux/arm64"])
	}
	if _, err := images.RootFS(ctx, s, img.shared); !errdefs.IsInvalidArgument(err) {
		t.Errorf("RootFS(layer) = %v, want InvalidArgument", err)
	}
}

func TestSize(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")
	for _, p := range img.platforms {
		want := img.index.Size + img.manifests[p].Size + img.configs[p].Size
		for _, l := range img.layers[p] {
			want += l.Size
		}
		if got, err := images.Size(ctx, s, img.index, only(p)); err != nil || got != want {
			t.Errorf("Size(index, %s) = %d, %v; want %d", p, got, err, want)
		}
		lone := img.manifests[p]
		lone.Platform = nil
		if got, err := images.Size(ctx, s, lone, only(p)); err != nil || got != want-img.index.Size {
			t.Errorf("Size(manifest, %s) = %d, %v; want %d", p, got, err, want-img.index.Size)
		}
	}

	// A layer named twice is counted once; layers need not be stored.
	cfg := img.configs["linux/amd64"]
	absent := ocispec.Descriptor{MediaType: images.MediaTypeOCILayerZstd, Digest: digest.FromString("absent"), Size: 1000}
	m := putJSON(t, s, images.MediaTypeOCIManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: images.MediaTypeOCIManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{img.shared, absent, img.shared},
	})
	want := m.Size + cfg.Size + img.shared.Size + absent.Size
	if got, err := images.Size(ctx, s, m, platforms.All()); err != nil || got != want {
		t.Errorf("Size(manifest with a repeated layer) = %d, %v; want %d", got, err, want)
	}
}

func TestPlatforms(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64", "linux/arm/v7")
	ps, err := images.Platforms(ctx, s, img.index)
	if err != nil {
		t.Fatalf("Platforms(index) = %v", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, platforms.Format(p))
	}
	if want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}; !slices.Equal(got, want) {
		t.Errorf("Platforms(index) = %v, want %v", got, want)
	}

	lone := img.manifests["linux/arm/v7"]
	lone.Platform = nil
	ps, err = images.Platforms(ctx, s, lone)
	if err != nil || len(ps) != 1 || platforms.Format(ps[0]) != "linux/arm/v7" {
		t.Errorf("Platforms(manifest) = %+v, %v; want its config's linux/arm/v7", ps, err)
	}
	if _, err := images.Platforms(ctx, s, img.configs["linux/amd64"]); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Platforms(config) = %v, want InvalidArgument", err)
	}
	// The same platform twice is listed once.
	twice := putJSON(t, s, images.MediaTypeOCIIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		Manifests: []ocispec.Descriptor{img.manifests["linux/amd64"], img.manifests["linux/amd64"]},
	})
	if ps, err := images.Platforms(ctx, s, twice); err != nil || len(ps) != 1 {
		t.Errorf("Platforms(the same entry twice) = %+v, %v; want one", ps, err)
	}
}
