// Package snapshot provides the contract of a snapshotter: the keeper of the
// layered filesystems that image layers are unpacked into and containers
// run on, and the [Mount] type that says how to see one.
//
// # Lifecycle
//
// A snapshot is active, a view, or committed. [Snapshotter.Prepare] makes
// an active snapshot, writable, on top of a committed parent (or of
// nothing); [Snapshotter.View] makes a read-only one. Both return the
// mounts that show it; the caller mounts them where it likes (see
// [MountAll]) or, knowing the snapshotter, writes to the directories they
// name. [Snapshotter.Commit] turns an active snapshot into a committed one
// under a new name: its contents are frozen and it can be the parent of
// others. A view cannot be committed. [Snapshotter.Remove] drops a
// snapshot; a committed snapshot that is the parent of another is refused
// with FailedPrecondition.
//
// Unpacking a layer is: Prepare(key, parent), apply the layer's changes,
// Commit(chainID, key). Keys and names share one space per snapshotter
// (and, in the client, per namespace).
//
// # Rebase
//
// A snapshotter whose active snapshots hold only their own changes, with
// deletions written as overlay whiteouts, can let a layer be applied before
// its parent exists: it implements [Rebaser], and its Commit accepts
// [WithParent] to give the snapshot its parent as it is committed. This is
// how layers are unpacked in parallel into overlay upperdirs.
//
// # Errors
//
// Methods return errors wrapping the kinds of github.com/containerd/errdefs:
// NotFound for a missing key or parent, AlreadyExists for a key or name in
// use, InvalidArgument for a malformed key, label or option, and
// FailedPrecondition for an operation the snapshot's kind or children do
// not allow.
//
// This package does only the I/O of mounting; implementations live in
// snapshot/overlay and snapshot/native, and snapshot/testsuite is the
// conformance suite they pass.
package snapshot
