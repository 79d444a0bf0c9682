// Package archive provides the layer applier of the image unpacker: it
// decompresses an OCI image layer (gzip, zstd or plain tar, told by its
// first bytes), hashes it into its DiffID and applies its entries to a
// directory, in one pass over the data.
//
// It does not make layers (diffs) and knows nothing of snapshots or
// mounts: callers hand it a directory, and the directories of the layers
// below when they have them.
//
// # Safety
//
// Layers come from registries and are treated as hostile. Nothing outside
// the target directory is ever written, created, linked, removed, or has
// its mode, owner, times or xattrs changed, whatever the entries say:
//
//   - Entry names are cleaned lexically; a leading "/" is dropped, and a
//     name whose ".." elements climb above the root fails the apply with
//     errdefs.ErrInvalidArgument, naming the entry. The root itself (".")
//     may only be a directory entry, which sets the root's attributes.
//   - The directory part of every path is resolved by the kernel with
//     openat2(RESOLVE_IN_ROOT): symlinks on the way are followed as if the
//     target were "/", so an absolute symlink or a chain of ".." stays
//     inside. The last element is then handled with *at system calls that
//     never follow a symlink (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, fchmodat2),
//     and regular files are created with O_EXCL: what was there is removed
//     first, never written through.
//   - Hard link targets are resolved the same way and linked without
//     following a symlink; a link to a directory is refused.
//   - Extended attributes overlayfs reads (trusted.overlay.*,
//     user.overlay.*) are never taken from a layer, so a layer cannot forge
//     whiteouts; trusted.* and security.* are set only by root.
//   - The stream is bounded: a PAX or GNU header is at most 1 MiB (as
//     archive/tar enforces), at most [MaxTrailingData] may follow the end
//     of the archive, a stream that is not a tar fails at its first header,
//     and zstd windows are at most [MaxZstdWindow].
//
// Directories are opened once per run of entries that share them (a small
// cache of open directories), so resolution costs little.
//
// # Entries
//
// Regular files, directories, symlinks, hard links and fifos are made, and
// device nodes when running as root. Modes keep their setuid, setgid and
// sticky bits; owners are set when running as root (see [WithNoSameOwner]);
// modification and access times are set, a directory's once everything in
// it is written; xattrs come from PAX SCHILY.xattr.* records (a file
// system without xattrs drops them). An entry replaces what is at its path,
// a directory with all it holds, except that a directory entry over a
// directory keeps the content and changes the attributes. Sparse files,
// global headers and unknown types are skipped.
//
// # Whiteouts
//
// Layers record deletions with whiteout files: ".wh.NAME" deletes NAME from
// the layers below, ".wh..wh..opq" hides everything the layers below hold
// in its directory. Other ".wh..wh." names (aufs metadata) are ignored.
// [WhiteoutDelete] applies them to a target that holds the layers below:
// NAME is removed, and an opaque directory is emptied of what the layer
// did not create itself. [WhiteoutOverlay] writes them the way overlayfs
// reads them, in a target that is an overlay upperdir: a 0/0 character
// device NAME, and the xattr trusted.overlay.opaque="y" (which needs
// root).
//
// # Parallel unpacking
//
// In overlay mode each layer can be applied to its own upperdir before the
// layers below it exist. What needs them, hard links to files of lower
// layers and the attributes of parent directories a layer does not hold,
// is then left pending in the [Result] and done by [Result.Finish] once
// they do.
package archive
