// Package leases provides the contract of leases: records that hold
// content, snapshots and ingests against garbage collection while work
// that has not yet referenced them from an image or a container is under
// way. It does no I/O; the client's lease manager keeps leases in its
// metadata database, per namespace.
//
// # Use
//
// A lease is carried by a context ([WithLease]). Blobs committed and
// snapshots prepared or committed with such a context are recorded in the
// lease by the store, in the same transaction that makes them, so there
// is no moment at which a collection could take them. Pull, Import,
// Unpack and NewContainer run under a lease of their own when their
// context carries none, and delete it when done: by then what they made
// is referenced by the image or the container record.
//
// # Expiry
//
// A lease made [WithExpiration] carries the label [LabelExpire], an
// RFC 3339 time. Once it has passed, the lease holds nothing and the next
// collection deletes it. A lease without the label lives until deleted.
//
// # Resources
//
// A [Resource] is named by its type and id: "content" and a digest,
// "snapshots/<snapshotter>" and a snapshot key, "ingests" and an ingest
// ref. Adding a resource does not check that it exists: a lease may hold
// a name before the object is made.
package leases
