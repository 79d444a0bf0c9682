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
