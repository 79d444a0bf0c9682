// Package local provides the on-disk content store: blobs in files named by
// their digest, ingests in directories of their own.
//
// The layout under the store's root is
//
//	blobs/<algorithm>/<hex>         committed blobs, read-only files
//	ingest/<sha256 of the ref>/     one directory per ingest under way
//	    status                      the ref, expected size and digest, start time
//	    data                        the bytes written so far
//	    hashstate                   the digest's state at the last Close, for a fast resume
//
// Digests are validated before they become part of a path, and an ingest's
// directory is named by the hash of its ref, so no ref or digest, however
// hostile, names a file outside the root.
//
// # Locking
//
// A Writer holds an exclusive flock on its ingest directory for as long as
// it is open. Another writer for the same ref, in this process or another,
// gets an Unavailable error at once, and so does Abort. Commit publishes the
// blob with link(2), which never replaces a file: of two writers committing
// the same digest, exactly one succeeds and the other gets AlreadyExists.
//
// # Speed
//
// A Writer hashes and writes in one pass over the data. Its ReadFrom method,
// which io.Copy uses, hashes each buffer on one goroutine while the next is
// read and the previous one written on another, and it asks the kernel to
// start writing back each few MiB as they are written, so that the fsync at
// Commit has little left to do.
//
// # Labels
//
// This store keeps no labels and knows no namespaces: Update and Commit with
// labels fail with NotImplemented. The client's store, built over this one,
// keeps labels and namespaces in its metadata database.
package local
