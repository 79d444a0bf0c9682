package remotes

import (
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, which registries still serve next to the OCI
// ones of github.com/opencontainers/image-spec.
const (
	// MediaTypeDockerManifest is Docker's image manifest, schema 2.
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerManifestList is Docker's index of per-platform
	// manifests.
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	// MediaTypeDockerConfig is Docker's image configuration.
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
	// MediaTypeDockerLayer is Docker's gzip-compressed layer.
	MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// MediaTypeDockerForeignLayer is Docker's layer served from the
	// descriptor's URLs rather than from the registry.
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	// MediaTypeDockerSchema1Manifest is Docker's retired schema 1
	// manifest, which this module does not read.
	MediaTypeDockerSchema1Manifest = "application/vnd.docker.distribution.manifest.v1+json"
	// MediaTypeDockerSchema1SignedManifest is the signed form of
	// MediaTypeDockerSchema1Manifest.
	MediaTypeDockerSchema1SignedManifest = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// IsManifestType reports whether mediaType is one of the manifests a
// registry serves from its manifests endpoint: an OCI or Docker image
// manifest, or an OCI index or Docker manifest list.
func IsManifestType(mediaType string) bool {
	return IsIndexType(mediaType) || mediaType == ocispec.MediaTypeImageManifest || mediaType == MediaTypeDockerManifest
}

// IsIndexType reports whether mediaType is an OCI index or a Docker
// manifest list.
func IsIndexType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// IsSchema1Type reports whether mediaType is Docker's retired schema 1
// manifest, signed or not.
func IsSchema1Type(mediaType string) bool {
	return mediaType == MediaTypeDockerSchema1Manifest || mediaType == MediaTypeDockerSchema1SignedManifest
}

// IsLayerType reports whether mediaType is an OCI or Docker layer, in any
// compression.
func IsLayerType(mediaType string) bool {
	return strings.HasPrefix(mediaType, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mediaType, "application/vnd.docker.image.rootfs.")
}
