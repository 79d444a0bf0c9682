// Package images provides the image record — a name bound to the
// descriptor of a manifest or index — and the contract of the store that
// keeps such records.
//
// An image record says nothing of whether its content is present: the
// content store holds the blobs, and the client's Pull stores a record
// only once every blob it needs is committed.
//
// # Names
//
// A name is the reference users give ("docker.io/library/redis:7"), or any
// other name of at most MaxNameLength bytes of printable UTF-8; names are
// unique per namespace.
//
// # Filters
//
// List takes filters in the syntax of package filters over the fields
// name, target.digest, target.mediatype and labels.KEY.
package images

// # Image content
//
// The package also knows what an image is made of: the media types of
// manifests, indexes, configs and layers (OCI and Docker schema 2), the
// reading of manifests, indexes and configs from a content.Provider,
// handlers that walk the tree of an image, the choice of a platform's
// manifest in an index, and chain IDs. It does no network I/O: package
// remotes fetches, the client stores.
//
// IsManifestType is true of image manifests only; a registry's manifests
// endpoint serves manifests and indexes, IsManifestType(mt) ||
// IsIndexType(mt).
//
// # Untrusted content
//
// Manifests, indexes and configs come from registries and are not
// trusted. ReadManifest, ReadIndex and ReadConfig read at most
// MaxManifestSize or MaxConfigSize bytes, check the bytes against the
// descriptor's size and digest, and refuse JSON that different parsers
// could read differently: a document that is not a single object, an
// object with two fields whose names differ only in case, a top-level
// field spelled in another case than image-spec's ("Layers"), a manifest
// with a "manifests" field, an index with "layers" or "config", and a
// mediaType field that disagrees with the descriptor. Descriptors inside
// must have a media type of the form type/subtype, a valid digest (see
// content.ValidateDigest), a size that is not negative, and platform
// fields made of letters, digits and ".", "_", "-", "+", so that they can
// be shown in messages; a manifest's config and layers must not claim to
// be manifests. The rest of the
// document is not interpreted here: a layer's media type is checked by
// whoever applies it, a diff ID against the layer when it is unpacked.
//
// # Handlers
//
// A [Handler] does something with one descriptor, such as fetching its
// blob, and returns its children. [Walk] visits a tree depth first, one
// handler at a time; [Dispatch] visits it concurrently, with a bound on
// the handlers running at once, handling each digest once. Handlers are
// composed by wrapping: [ChildrenHandler] reads a manifest's or index's
// children, [FilterPlatforms] drops the index entries of other platforms,
// [LimitManifests] keeps the best n of them, and [Handlers] runs several
// in turn. A pull of one platform is, in outline:
//
//	h := images.Handlers(fetch, images.LimitManifests(
//		images.FilterPlatforms(images.ChildrenHandler(store), m), m, 1))
//	err := images.Dispatch(ctx, h, 3, target)
//
// A handler returns [ErrSkipDesc] to leave a descriptor's children alone;
// inside Handlers, [ErrStopHandler] ends the chain for that descriptor.
//
// # Platforms
//
// [Manifest], [Config] and [Size] choose the manifest of one platform with
// a platforms.MatchComparer; nil means the host's, platforms.Default().
// Index entries are ranked by the comparer, nested indexes included (at
// most 8 deep); BuildKit's attestation manifests, which carry the
// annotation vnd.docker.reference.type, are never chosen. When nothing
// matches, the NotFound error lists the platforms the image has.
//
// # Chain IDs
//
// A layer's diff ID is the digest of its uncompressed tar; [ChainID]
// names the filesystem a stack of layers makes, as the image-spec defines
// it, and is how unpacked layers are found again.
