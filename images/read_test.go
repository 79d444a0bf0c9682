package images_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/images"
)

func TestReadManifestIndexConfig(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64", "linux/arm64")

	idx, err := images.ReadIndex(ctx, s, img.index)
	if err != nil {
		t.Fatalf("ReadIndex = %v", err)
	}
	if got, want := digests(idx.Manifests), []digest.Digest{img.manifests["linux/amd64"].Digest, img.manifests["linux/arm64"].Digest}; !slices.Equal(got, want) {
		t.Errorf("ReadIndex manifests = %v, want %v", got, want)
	}
	if p := idx.Manifests[1].Platform; p == nil || p.Architecture != "arm64" {
		t.Errorf("ReadIndex manifest 1 platform = %+v", p)
	}

	m, err := images.ReadManifest(ctx, s, img.manifests["linux/arm64"])
	if err != nil {
		t.Fatalf("ReadManifest = %v", err)
	}
	if m.Config.Digest != img.configs["linux/arm64"].Digest || !slices.Equal(digests(m.Layers), digests(img.layers["linux/arm64"])) {
		t.Errorf("ReadManifest = config %s layers %v", m.Config.Digest, digests(m.Layers))
	}

	cfg, err := images.ReadConfig(ctx, s, m.Config)
	if err != nil {
		t.Fatalf("ReadConfig = %v", err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" || !slices.Equal(cfg.RootFS.DiffIDs, img.diffIDs["linux/arm64"]) {
		t.Errorf("ReadConfig = %s/%s %v", cfg.OS, cfg.Architecture, cfg.RootFS.DiffIDs)
	}
}

func TestReadWrongMediaType(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64")
	if _, err := images.ReadManifest(ctx, s, img.index); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ReadManifest(index) = %v, want InvalidArgument", err)
	}
	if _, err := images.ReadIndex(ctx, s, img.manifests["linux/amd64"]); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ReadIndex(manifest) = %v, want InvalidArgument", err)
	}
	if _, err := images.ReadConfig(ctx, s, img.shared); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ReadConfig(layer) = %v, want InvalidArgument", err)
	}
	// The bytes of a manifest, presented as an index: the JSON's
	// mediaType disagrees.
	asIndex := img.manifests["linux/amd64"]
	asIndex.MediaType = images.MediaTypeOCIIndex
	if _, err := images.ReadIndex(ctx, s, asIndex); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ReadIndex(manifest bytes as an index) = %v, want InvalidArgument", err)
	}
	// An OCI manifest presented as a Docker one.
	asDocker := img.manifests["linux/amd64"]
	asDocker.MediaType = images.MediaTypeDockerManifest
	if _, err := images.ReadManifest(ctx, s, asDocker); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "says it is") {
		t.Errorf("ReadManifest(OCI bytes as Docker) = %v, want InvalidArgument", err)
	}
}

func TestReadOversize(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	pad := strings.Repeat("x", images.MaxManifestSize)
	big := put(t, s, images.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"annotations":{"pad":"`+pad+`"}}`))
	if _, err := images.ReadManifest(ctx, s, big); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("ReadManifest(%d bytes) = %v, want FailedPrecondition", big.Size, err)
	}
	// A descriptor that understates the size is not believed.
	small := big
	small.Size = 100
	if _, err := images.ReadManifest(ctx, s, small); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("ReadManifest(%d bytes, descriptor says 100) = %v, want FailedPrecondition", big.Size, err)
	}
	asIndex := big
	asIndex.MediaType = images.MediaTypeOCIIndex
	if _, err := images.ReadIndex(ctx, s, asIndex); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("ReadIndex(%d bytes) = %v, want FailedPrecondition", big.Size, err)
	}

	cpad := strings.Repeat("x", images.MaxConfigSize)
	bigConfig := put(t, s, images.MediaTypeOCIConfig, []byte(`{"author":"`+cpad+`"}`))
	if _, err := images.ReadConfig(ctx, s, bigConfig); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("ReadConfig(%d bytes) = %v, want FailedPrecondition", bigConfig.Size, err)
	}
	// Configs may be larger than manifests.
	okConfig := put(t, s, images.MediaTypeOCIConfig, []byte(`{"author":"`+pad+`"}`))
	if _, err := images.ReadConfig(ctx, s, okConfig); err != nil {
		t.Errorf("ReadConfig(%d bytes) = %v", okConfig.Size, err)
	}
}

func TestReadChecksBlob(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := buildIndex(t, s, "linux/amd64")
	m := img.manifests["linux/amd64"]

	wrongSize := m
	wrongSize.Size--
	if _, err := images.ReadManifest(ctx, s, wrongSize); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("ReadManifest(size one short) = %v, want FailedPrecondition", err)
	}
	missing := m
	missing.Digest = digest.FromString("not stored")
	if _, err := images.ReadManifest(ctx, s, missing); !errdefs.IsNotFound(err) {
		t.Errorf("ReadManifest(missing) = %v, want NotFound", err)
	}
	badDigest := m
	badDigest.Digest = "sha256:../../etc/passwd"
	if _, err := images.ReadManifest(ctx, s, badDigest); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ReadManifest(bad digest) = %v, want InvalidArgument", err)
	}

	// A provider that serves other bytes under the digest.
	other := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + string(digest.FromString("c")) + `","size":1},"layers":[]}`)
	lying := ocispec.Descriptor{MediaType: images.MediaTypeOCIManifest, Digest: digest.FromString("something else"), Size: int64(len(other))}
	p := memProvider{lying.Digest: other}
	if _, err := images.ReadManifest(ctx, p, lying); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "digest") {
		t.Errorf("ReadManifest(bytes not matching the digest) = %v, want FailedPrecondition", err)
	}
}

func TestReadManifestMalformed(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cfg := `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + string(digest.FromString("config")) + `","size":10}`
	layer := `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + string(digest.FromString("layer")) + `","size":20}`
	for _, tc := range []struct {
		name, json string
	}{
		{"manifests field", `{"schemaVersion":2,"config":` + cfg + `,"layers":[` + layer + `],"manifests":[]}`},
		{"manifests field, null", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"manifests":null}`},
		{"manifests field with entries", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"manifests":[` + layer + `]}`},
		{"index media type", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":` + cfg + `,"layers":[]}`},
		{"schema version 1", `{"schemaVersion":1,"config":` + cfg + `,"layers":[]}`},
		{"no schema version", `{"config":` + cfg + `,"layers":[]}`},
		{"no config", `{"schemaVersion":2,"layers":[` + layer + `]}`},
		{"array", `[` + layer + `]`},
		{"null", `null`},
		{"string", `"manifest"`},
		{"trailing data", `{"schemaVersion":2,"config":` + cfg + `,"layers":[]} {}`},
		{"not JSON", `{"schemaVersion":2,`},
		{"duplicate field", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"layers":[` + layer + `]}`},
		{"duplicate field in other case", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"Layers":[` + layer + `]}`},
		{"field in other case", `{"schemaVersion":2,"config":` + cfg + `,"LAYERS":[` + layer + `]}`},
		{"field in other case, Kelvin sign", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"annotations":{},"\u212Aey":1,"key":2}`},
		{"duplicate annotation", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"annotations":{"a":"1","a":"2"}}`},
		{"duplicate digest in a descriptor", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + string(digest.FromString("a")) + `","Digest":"` + string(digest.FromString("b")) + `","size":1}]}`},
		{"layer digest malformed", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:abc","size":1}]}`},
		{"layer digest a path", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:../../../../etc/passwd","size":1}]}`},
		{"layer digest unknown algorithm", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"md5:d41d8cd98f00b204e9800998ecf8427e","size":1}]}`},
		{"layer digest empty", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","size":1}]}`},
		{"config digest malformed", `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:XYZ","size":1},"layers":[]}`},
		{"negative size", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + string(digest.FromString("a")) + `","size":-1}]}`},
		{"layer without media type", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"digest":"` + string(digest.FromString("a")) + `","size":1}]}`},
		{"layer media type malformed", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"tar gz","digest":"` + string(digest.FromString("a")) + `","size":1}]}`},
		{"layer media type with control character", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/x\u001b[31m","digest":"` + string(digest.FromString("a")) + `","size":1}]}`},
		{"layer that is an index", `{"schemaVersion":2,"config":` + cfg + `,"layers":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"` + string(digest.FromString("a")) + `","size":1}]}`},
		{"config that is a manifest", `{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"` + string(digest.FromString("a")) + `","size":1},"layers":[]}`},
		{"subject malformed", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1","size":1}}`},
		{"deep nesting", `{"schemaVersion":2,"config":` + cfg + `,"layers":[],"annotations":{},"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
	} {
		desc := put(t, s, images.MediaTypeOCIManifest, []byte(tc.json))
		m, err := images.ReadManifest(ctx, s, desc)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: ReadManifest = %+v, %v; want InvalidArgument", tc.name, m, err)
			continue
		}
		if !strings.Contains(err.Error(), desc.Digest.String()) {
			t.Errorf("%s: ReadManifest = %v, want the manifest's digest named", tc.name, err)
		}
	}

	// The same shapes, well formed, are read.
	for _, j := range []string{
		`{"schemaVersion":2,"config":` + cfg + `,"layers":[` + layer + `]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + cfg + `,"layers":[` + layer + `]}`,
		`{"schemaVersion":2,"config":` + cfg + `,"layers":[],"annotations":{"Layers":"x","layers":"y"}}`,
		`{"schemaVersion":2,"artifactType":"application/vnd.example+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + string(digest.FromString("{}")) + `","size":2},"layers":[{"mediaType":"application/vnd.example.thing","digest":"` + string(digest.FromString("a")) + `","size":0}]}`,
	} {
		desc := put(t, s, images.MediaTypeOCIManifest, []byte(j))
		if _, err := images.ReadManifest(ctx, s, desc); err != nil {
			t.Errorf("ReadManifest(%s) = %v", j, err)
		}
	}
}

func TestReadIndexMalformed(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	entry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(digest.FromString("m")) + `","size":10,"platform":{"os":"linux","architecture":"amd64"}}`
	for _, tc := range []struct {
		name, json string
	}{
		{"layers field", `{"schemaVersion":2,"manifests":[` + entry + `],"layers":[]}`},
		{"config field", `{"schemaVersion":2,"manifests":[` + entry + `],"config":{}}`},
		{"manifest media type", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[` + entry + `]}`},
		{"schema version 3", `{"schemaVersion":3,"manifests":[` + entry + `]}`},
		{"entry digest malformed", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:zz","size":10}]}`},
		{"entry negative size", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(digest.FromString("m")) + `","size":-10}]}`},
		{"entry without media type", `{"schemaVersion":2,"manifests":[{"digest":"` + string(digest.FromString("m")) + `","size":10}]}`},
		{"platform with an escape sequence", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(digest.FromString("m")) + `","size":10,"platform":{"os":"linux\u001b[2J","architecture":"amd64"}}]}`},
		{"platform with a slash", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(digest.FromString("m")) + `","size":10,"platform":{"os":"linux","architecture":"amd64/../x"}}]}`},
		{"platform field too long", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(digest.FromString("m")) + `","size":10,"platform":{"os":"linux","architecture":"` + strings.Repeat("a", 200) + `"}}]}`},
		{"duplicate manifests", `{"schemaVersion":2,"manifests":[],"Manifests":[` + entry + `]}`},
	} {
		desc := put(t, s, images.MediaTypeOCIIndex, []byte(tc.json))
		if idx, err := images.ReadIndex(ctx, s, desc); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: ReadIndex = %+v, %v; want InvalidArgument", tc.name, idx, err)
		}
	}
	// A Docker manifest list is an index too.
	list := put(t, s, images.MediaTypeDockerManifestList, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[`+entry+`]}`))
	if idx, err := images.ReadIndex(ctx, s, list); err != nil || len(idx.Manifests) != 1 {
		t.Errorf("ReadIndex(Docker manifest list) = %+v, %v", idx, err)
	}
}

func TestReadConfigMalformed(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, tc := range []struct {
		name, json string
	}{
		{"rootfs type", `{"os":"linux","architecture":"amd64","rootfs":{"type":"zfs","diff_ids":[]}}`},
		{"diff ID malformed", `{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}`},
		{"duplicate os", `{"os":"linux","OS":"windows","architecture":"amd64"}`},
		{"os in other case", `{"OS":"linux","architecture":"amd64"}`},
		{"os with a newline", `{"os":"linux\nroot","architecture":"amd64"}`},
		{"not an object", `[]`},
		{"bad time", `{"created":"yesterday"}`},
	} {
		desc := put(t, s, images.MediaTypeOCIConfig, []byte(tc.json))
		if cfg, err := images.ReadConfig(ctx, s, desc); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: ReadConfig = %+v, %v; want InvalidArgument", tc.name, cfg, err)
		}
	}
	// Docker's configs have capitalised fields inside "config".
	docker := put(t, s, images.MediaTypeDockerConfig, []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["`+string(digest.FromString("l"))+`"]}}`))
	cfg, err := images.ReadConfig(ctx, s, docker)
	if err != nil || len(cfg.Config.Env) != 1 || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("ReadConfig(Docker config) = %+v, %v", cfg, err)
	}
}

func TestMediaTypes(t *testing.T) {
	for _, tc := range []struct {
		mt                                 string
		manifest, index, config, layer, nd bool
	}{
		{images.MediaTypeOCIManifest, true, false, false, false, false},
		{images.MediaTypeDockerManifest, true, false, false, false, false},
		{images.MediaTypeOCIIndex, false, true, false, false, false},
		{images.MediaTypeDockerManifestList, false, true, false, false, false},
		{images.MediaTypeOCIConfig, false, false, true, false, false},
		{images.MediaTypeDockerConfig, false, false, true, false, false},
		{images.MediaTypeOCIEmpty, false, false, false, false, false},
		{images.MediaTypeOCILayer, false, false, false, true, false},
		{images.MediaTypeOCILayerGzip, false, false, false, true, false},
		{images.MediaTypeOCILayerZstd, false, false, false, true, false},
		{images.MediaTypeOCILayerNonDistributable, false, false, false, true, true},
		{images.MediaTypeOCILayerNonDistributableGzip, false, false, false, true, true},
		{images.MediaTypeOCILayerNonDistributableZstd, false, false, false, true, true},
		{images.MediaTypeDockerLayer, false, false, false, true, false},
		{images.MediaTypeDockerLayerUncompressed, false, false, false, true, false},
		{images.MediaTypeDockerLayerZstd, false, false, false, true, false},
		{images.MediaTypeDockerForeignLayer, false, false, false, true, true},
		{images.MediaTypeDockerForeignLayerUncompressed, false, false, false, true, true},
		{images.MediaTypeDockerSchema1Manifest, false, false, false, false, false},
		{"application/vnd.oci.image.layer.v1.tar+gzip+encrypted", false, false, false, false, false},
		{"application/octet-stream", false, false, false, false, false},
		{"", false, false, false, false, false},
	} {
		if got := images.IsManifestType(tc.mt); got != tc.manifest {
			t.Errorf("IsManifestType(%q) = %v", tc.mt, got)
		}
		if got := images.IsIndexType(tc.mt); got != tc.index {
			t.Errorf("IsIndexType(%q) = %v", tc.mt, got)
		}
		if got := images.IsConfigType(tc.mt); got != tc.config {
			t.Errorf("IsConfigType(%q) = %v", tc.mt, got)
		}
		if got := images.IsLayerType(tc.mt); got != tc.layer {
			t.Errorf("IsLayerType(%q) = %v", tc.mt, got)
		}
		if got := images.IsNonDistributableType(tc.mt); got != tc.nd {
			t.Errorf("IsNonDistributableType(%q) = %v", tc.mt, got)
		}
	}
	if !images.IsSchema1Type(images.MediaTypeDockerSchema1SignedManifest) || images.IsSchema1Type(images.MediaTypeDockerManifest) {
		t.Error("IsSchema1Type is wrong")
	}
}
