// Package gc provides the client's garbage collection: a mark and sweep
// over the metadata database that removes the blobs, snapshots, ingests
// and leases nothing needs any more. It does not hold the metadata's
// layout (package metadata reads and removes records for it through
// [metadata.CollectTxn]); it holds the rules: what is a root, what
// references what, and in which order things go.
//
// # Roots and references
//
// Roots are, in every namespace: the target of each image; the snapshot
// of each container; what each unexpired lease holds (blobs, snapshots,
// ingests); and any blob or snapshot labelled [LabelRoot]. From them
// collection follows references:
//
//   - a label "containerd.io/gc.ref.content" (alone or followed by '.'
//     or '/' and anything) on a blob, a snapshot, an image or a
//     container names a blob by digest;
//   - a label "containerd.io/gc.ref.snapshot.<snapshotter>" (optionally
//     followed by '/' and anything) names a snapshot of that snapshotter
//     by key: an unpacked image's config names its top layer this way;
//   - a snapshot references its parent;
//   - a manifest or index reached from an image's target that carries no
//     content reference labels (written by a program that did not set
//     them) is read, and its config, layers or manifests followed.
//
// References stay inside a namespace: a record of one namespace never
// keeps another namespace's record. The data on disk, which namespaces
// share, goes only when no namespace's record keeps it.
//
// # Sweep
//
// Unreferenced content records and snapshot records are removed; a blob
// no remaining record names is deleted from disk, and so is a blob on
// disk that no record names at all (left by a crash). Backend snapshots
// no remaining record names are removed children first. Ingests not held
// by a lease and not written to for [DefaultIngestExpiry] are aborted.
// Expired leases are deleted.
//
// # Consistency
//
// Marking and the removal of records run in one write transaction of the
// metadata database. Every writer of records, in this process or in
// another one on the same root (they take turns on the database's flock),
// either finished before it or starts after it, so collection never sees
// half a change. What a writer makes and has not yet referenced is safe
// only under a lease, recorded in the same transaction that makes it:
// Pull, Import, Unpack and NewContainer work under one. Blobs are deleted
// inside the transaction too (an unlink each); backend snapshots, whose
// removal deletes trees, after it: no record names them any more, so no
// writer can reach them again.
package gc
