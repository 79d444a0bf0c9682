// Package native provides a snapshotter that needs nothing of the kernel:
// each snapshot is a full directory tree, and preparing or viewing one on
// a parent copies the parent's tree. It is the fallback where overlay
// does not mount (some filesystems, some rootless setups), and it works
// without root, leaving out what only root may copy (see
// internal/fstree).
//
// # Layout and mounts
//
//	<root>/metadata.db           the records (see internal/snapstore)
//	<root>/snapshots/<id>/fs     the snapshot's whole tree
//	<root>/snapshots/tmp-*/      a copy in progress
//
// The root and each <root>/snapshots/<id> are 0700. The mounts of a
// snapshot are one bind mount of its fs, read-only for a view; a caller
// without the right to mount may use that directory directly.
//
// A copy keeps modes, owners, times, extended attributes, symbolic and
// hard links and device nodes; file data is cloned where the filesystem
// can (btrfs, XFS), else copied in the kernel.
//
// # Crash safety and concurrency
//
// The copy is made outside any transaction, into a temporary directory
// locked against Cleanup, and renamed into the new snapshot's directory
// inside the write transaction that records it: a crash leaves a
// temporary or unknown directory, never a record of a half-copied tree.
// Committing keeps the directory. Snapshots are complete trees, so
// Commit cannot give a snapshot another parent: native is no
// [snapshot.Rebaser], and [snapshot.WithParent] is an InvalidArgument
// error. A snapshotter is safe for concurrent use, and several processes
// may open the same root.
package native
