// Package metadata provides the client's metadata database: one bbolt file,
// <root>/meta.db, holding per-namespace records of content, images,
// snapshots, containers and leases, and namespaces' labels, the namespaced
// content store built over the on-disk one, and the namespaced
// snapshotter built over a backend one (see [Snapshotter]).
//
// # Several processes, one root
//
// bbolt locks its file for as long as a handle is open, and a handle caches
// the file's state, so a process cannot keep the database open while
// another one writes it. [DB] therefore opens the file for a burst of work
// and closes it when the last transaction of the burst ends. Transactions
// that overlap in one process share the open handle; after [maxHold] of
// continuous use new transactions wait for the handle to drain, so another
// process waiting for the file gets its turn. Processes take turns on an
// flock of <root>/meta.db.lock, polled with a short backoff that honours
// the context; a process that waits longer than the lock timeout gets an
// Unavailable error rather than hanging.
//
// Transactions are short: nothing slow runs inside one except the last
// step of a content commit (a rename and a directory sync), which must be
// atomic with its record so that a concurrent delete in another process
// cannot strand a record without its blob.
//
// # Layout
//
//	meta/schema                         uint64 schema version
//	v1/<namespace>/content/blob/<digest>/
//	    size, createdat, updatedat      the blob's record in that namespace
//	    labels/<key> = <value>
//	v1/<namespace>/images/<name>/
//	    target                          the descriptor, as JSON
//	    createdat, updatedat, labels/
//	v1/<namespace>/snapshots/<snapshotter>/<key>/
//	    kind, name (the backend key), parent, createdat, updatedat,
//	    labels/, children/<key>
//	v1/<namespace>/containers/<id>/
//	    image, spec (JSON), snapshotter, snapshotkey,
//	    createdat, updatedat, labels/
//	v1/<namespace>/labels/<key> = <value>   the namespace's own labels
//	v1/<namespace>/leases/<id>/
//	    createdat, labels/
//	    content/<digest>, ingests/<ref>,
//	    snapshots/<snapshotter>/<key>   what the lease holds
//
// A namespace is its bucket: [NamespaceStore] makes it, and so does the
// first record stored in it. Blobs committed and snapshots made with a
// context carrying a lease (package leases) are recorded in the lease in
// the transaction that records them. [DB.CollectUpdate] gives garbage
// collection (internal/gc) every namespace's records inside one write
// transaction.
//
// Schema changes are migrations, applied in order in one transaction when
// the database is opened; a database written by a newer schema than this
// program knows is refused with FailedPrecondition.
package metadata
