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
//     first, never written through. In overlay mode, a directory the
//     upperdir does not hold is looked up in the layers below element by
//     element, never following anything (see "Overlay upperdirs"); where
//     it leads is a path inside the root, resolved by the kernel as above.
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
// # Overlay upperdirs
//
// In overlay mode the target is an upperdir: it holds this layer only, and
// a mount of it over the layers below ([WithParents]) shows the result.
// Paths are resolved in that merged view, as writing through the mount
// would: when an entry's directory is not in the upperdir, each element
// is looked up in the upperdir, then in the layers below, topmost first,
// whiteouts and opaque directories hiding what is below. A symlink found
// on the way, above or below, is followed inside the root: an absolute
// target starts from the root, ".." stops there, and a chain of more than
// 40 symlinks fails the entry with errdefs.ErrInvalidArgument. So with
// "lib -> usr/lib" below, an entry "lib/x" whose layer has no "lib/"
// entry lands in "usr/lib/x" of the upperdir, and "lib" stays a symlink
// in the mount, as it would applying the layers in turn to one directory.
// Directories on the way that the upperdir lacks are made, with the mode,
// owner, times and xattrs of the same directory below, or 0755 and root's
// when there is none; a symlink whose target is missing leads to
// directories so made, inside the root. A directory entry ("lib/") over a
// symlink below replaces it, as any directory replaces a non-directory; a
// parent the layer needs where a lower layer has a file hides the file.
//
// # Parallel unpacking
//
// In overlay mode each layer can be applied to its own upperdir before the
// layers below it exist. What needs them is then left pending in the
// [Result] and done by [Result.Finish] once they do: hard links to files
// of lower layers, and the parent directories the layer did not hold,
// which it made up in the upperdir. Those take the attributes of the same
// directories below or, when one is a symlink in the merged view below,
// what the layer put in it is moved to where the symlink leads, as if the
// layer had been applied through it.
package archive
