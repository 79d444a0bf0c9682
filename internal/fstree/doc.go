// Package fstree provides operations on whole directory trees: measuring
// the disk a tree uses ([Usage]) and copying one with everything a root
// filesystem needs kept ([Copy]).
//
// # Copies
//
// Copy keeps modes (with the setuid, setgid and sticky bits), owners,
// access and modification times, extended attributes, symbolic links,
// hard links (as hard links within the copy), FIFOs, sockets and device
// nodes. File data is cloned (FICLONE) where the filesystem shares
// extents, else copied by copy_file_range(2), else read and written.
//
// Not running as root, Copy skips what only root may do: owners are the
// caller's, device nodes are left out, and extended attributes the
// kernel refuses (trusted.*) are dropped. Nothing else is dropped
// silently.
//
// Neither function follows symbolic links; both read the tree as it is
// while they walk it, so it should not change under them.
package fstree
