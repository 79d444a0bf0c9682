// Package containers provides the record of a container and the contract
// of the store that keeps such records, per namespace.
//
// A container record is metadata only: an id, the image it was made
// from, its OCI runtime spec, the snapshotter and snapshot key of its
// root filesystem, labels and times. Running it is a task's job; this
// package does no I/O.
package containers
