// Package overlay provides the default snapshotter, which keeps each
// snapshot as one overlayfs layer: a snapshot holds only its own changes,
// and its mounts stack it on its parents' layers. Preparing and
// committing cost a directory and a record, whatever the size of the
// parents.
//
// # Layout
//
//	<root>/metadata.db           the records (see internal/snapstore)
//	<root>/snapshots/<id>/fs     the snapshot's layer: its upperdir while active
//	<root>/snapshots/<id>/work   overlay's workdir, for active snapshots with parents
//	<root>/overlay-checked       the kernel release the overlay check passed on
//
// The root and each <root>/snapshots/<id> are 0700: they hold root
// filesystems, setuid binaries included. Ids are short decimal numbers,
// which keeps the lowerdir option of a deep chain short.
//
// # Mounts
//
// An active snapshot without a parent is one read-write bind mount of its
// fs; with parents it is an overlay with lowerdir (the parents' fs,
// nearest first), upperdir and workdir. A view is read-only: of nothing,
// a bind of its own empty fs; of a parent that has no parent, a bind of
// that parent's fs (overlay refuses a single lower layer without an upper
// one); otherwise an overlay with lowerdirs only. Every overlay gets
// index=off where the kernel has the index feature, so that layers can be
// mounted again under other stacks. A chain too deep for the page
// mount(2) takes is mounted layer by layer through fsopen(2) by
// [snapshot.Mount.Mount]; with these short paths that happens only past
// a hundred or so layers.
//
// Committing keeps the directory: the active snapshot's layer becomes the
// committed one, its usage measured once. Because an active snapshot
// holds only its changes, with deletions as overlay whiteouts, the
// snapshotter is a [snapshot.Rebaser]: a layer can be applied into a
// snapshot prepared with no parent and committed onto its parent later,
// which lets layers be unpacked in parallel.
//
// # Crash safety and concurrency
//
// Records and directories change together under the database's write
// lock, as internal/snapstore describes: a crash leaves at worst a
// directory no record names, which Cleanup removes. A snapshotter is safe
// for concurrent use, and several processes may open the same root.
//
// New checks once per kernel release that overlay mounts at the root
// (a test mount, remembered in overlay-checked), so that an unusable
// root fails at New with a clear error rather than at the first mount;
// later calls only read that file.
package overlay
