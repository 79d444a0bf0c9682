// Package content provides the contract of a content-addressed blob store
// and the helpers that work over any implementation of it.
//
// A store is made of small role interfaces, combined by embedding:
// [Provider] gives random access to committed blobs, [Ingester] opens
// [Writer]s that stream new blobs in, [Manager] lists, labels and deletes
// blobs, and [IngestManager] inspects and aborts ingests still under way.
// [Store] is all four. Helpers take the narrowest interface they need:
// [ReadBlob] takes a Provider, [WriteBlob] an Ingester.
//
// This package does no I/O of its own. The on-disk store lives in package
// content/local; the client wraps it with namespaces and labels kept in
// its metadata database.
//
// # Writers
//
// A blob enters a store through a Writer opened with a ref, a caller-chosen
// name for the ingest. Only one Writer may hold a ref at a time: opening a
// second one fails with an error for which errdefs.IsUnavailable is true,
// across processes as well as inside one; [OpenWriter] retries with backoff
// until the ref is free or the context ends. A Writer reopened with the
// same ref continues where the previous one stopped, and [Writer.Status]
// tells from which offset.
//
// Commit checks the size and digest of what was written against what the
// caller expects. A blob whose digest does not match is never committed:
// the ingest is discarded and an error of kind FailedPrecondition names
// both digests. Two writers that commit the same digest are both safe: one
// commits, the other's Commit fails with an AlreadyExists error.
//
// # Errors
//
// Methods return errors wrapping the kinds of github.com/containerd/errdefs:
// NotFound for a missing blob or ingest, AlreadyExists, InvalidArgument for
// a malformed digest, ref or label, Unavailable for a ref in use, and
// FailedPrecondition for a size or digest mismatch.
package content
