package images

import "strings"

// The OCI media types of github.com/opencontainers/image-spec.
const (
	// MediaTypeOCIManifest is the OCI image manifest.
	MediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	// MediaTypeOCIIndex is the OCI image index, which lists manifests,
	// mostly one per platform.
	MediaTypeOCIIndex = "application/vnd.oci.image.index.v1+json"
	// MediaTypeOCIConfig is the OCI image configuration.
	MediaTypeOCIConfig = "application/vnd.oci.image.config.v1+json"
	// MediaTypeOCIEmpty is the empty JSON object "{}", the config of
	// artifacts that have none.
	MediaTypeOCIEmpty = "application/vnd.oci.empty.v1+json"

	// MediaTypeOCILayer is an uncompressed OCI layer tar.
	MediaTypeOCILayer = "application/vnd.oci.image.layer.v1.tar"
	// MediaTypeOCILayerGzip is a gzip-compressed OCI layer.
	MediaTypeOCILayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	// MediaTypeOCILayerZstd is a zstd-compressed OCI layer.
	MediaTypeOCILayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

	// MediaTypeOCILayerNonDistributable is an uncompressed OCI layer that
	// registries may refuse to store, fetched from the descriptor's URLs.
	// The image-spec has deprecated non-distributable layers; images with
	// them still exist.
	MediaTypeOCILayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	// MediaTypeOCILayerNonDistributableGzip is the gzip-compressed form of
	// MediaTypeOCILayerNonDistributable.
	MediaTypeOCILayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	// MediaTypeOCILayerNonDistributableZstd is the zstd-compressed form of
	// MediaTypeOCILayerNonDistributable.
	MediaTypeOCILayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

// Docker's media types (image manifest schema 2), which registries still
// serve next to the OCI ones.
const (
	// MediaTypeDockerManifest is Docker's image manifest, schema 2.
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerManifestList is Docker's list of per-platform
	// manifests, the counterpart of the OCI index.
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	// MediaTypeDockerConfig is Docker's image configuration.
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"

	// MediaTypeDockerLayer is Docker's gzip-compressed layer, the layer
	// type of almost every Docker image.
	MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// MediaTypeDockerLayerUncompressed is Docker's uncompressed layer.
	MediaTypeDockerLayerUncompressed = "application/vnd.docker.image.rootfs.diff.tar"
	// MediaTypeDockerLayerZstd is the zstd-compressed layer that Docker
	// tools write with Docker manifests.
	MediaTypeDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd"
	// MediaTypeDockerForeignLayer is Docker's gzip-compressed layer served
	// from the descriptor's URLs rather than from the registry.
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	// MediaTypeDockerForeignLayerUncompressed is the uncompressed form of
	// MediaTypeDockerForeignLayer.
	MediaTypeDockerForeignLayerUncompressed = "application/vnd.docker.image.rootfs.foreign.diff.tar"

	// MediaTypeDockerSchema1Manifest is Docker's retired schema 1
	// manifest, which this module does not read.
	MediaTypeDockerSchema1Manifest = "application/vnd.docker.distribution.manifest.v1+json"
	// MediaTypeDockerSchema1SignedManifest is the signed form of
	// MediaTypeDockerSchema1Manifest.
	MediaTypeDockerSchema1SignedManifest = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// maxMediaTypeLength bounds a media type: RFC 6838 allows 127 characters
// on each side of the slash.
const maxMediaTypeLength = 255

// IsManifestType reports whether mt is an image manifest: OCI or Docker
// schema 2. Indexes are not manifests here; see IsIndexType. What a
// registry serves from its manifests endpoint is either.
func IsManifestType(mt string) bool {
	return mt == MediaTypeOCIManifest || mt == MediaTypeDockerManifest
}

// IsIndexType reports whether mt is an OCI index or a Docker manifest
// list.
func IsIndexType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// IsConfigType reports whether mt is an image configuration, OCI or
// Docker. Artifacts' configs (MediaTypeOCIEmpty and others) are not.
func IsConfigType(mt string) bool {
	return mt == MediaTypeOCIConfig || mt == MediaTypeDockerConfig
}

// IsLayerType reports whether mt is one of the layer media types of this
// package: OCI or Docker, uncompressed, gzip or zstd, distributable or not.
// Encrypted layers (OCI types with a "+encrypted" suffix) are not layers
// this module can apply, and are not reported as layers.
func IsLayerType(mt string) bool {
	switch mt {
	case MediaTypeOCILayer, MediaTypeOCILayerGzip, MediaTypeOCILayerZstd,
		MediaTypeOCILayerNonDistributable, MediaTypeOCILayerNonDistributableGzip, MediaTypeOCILayerNonDistributableZstd,
		MediaTypeDockerLayer, MediaTypeDockerLayerUncompressed, MediaTypeDockerLayerZstd,
		MediaTypeDockerForeignLayer, MediaTypeDockerForeignLayerUncompressed:
		return true
	}
	return false
}

// IsNonDistributableType reports whether mt is a layer that registries
// need not store: an OCI non-distributable or a Docker foreign layer.
// Such layers are fetched from their descriptors' URLs, if at all.
func IsNonDistributableType(mt string) bool {
	switch mt {
	case MediaTypeOCILayerNonDistributable, MediaTypeOCILayerNonDistributableGzip, MediaTypeOCILayerNonDistributableZstd,
		MediaTypeDockerForeignLayer, MediaTypeDockerForeignLayerUncompressed:
		return true
	}
	return false
}

// IsSchema1Type reports whether mt is Docker's retired schema 1 manifest,
// signed or not.
func IsSchema1Type(mt string) bool {
	return mt == MediaTypeDockerSchema1Manifest || mt == MediaTypeDockerSchema1SignedManifest
}

// validMediaType reports whether mt is a well-formed media type without
// parameters: type "/" subtype, each a restricted name of RFC 6838
// section 4.2.
func validMediaType(mt string) bool {
	if len(mt) > maxMediaTypeLength {
		return false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

// restrictedName reports whether s is a restricted-name of RFC 6838: a
// letter or digit, then up to 126 letters, digits and "!#$&-^_.+".
func restrictedName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '!' || c == '#' || c == '$' || c == '&' || c == '-' || c == '^' || c == '_' || c == '.' || c == '+'):
		default:
			return false
		}
	}
	return true
}
