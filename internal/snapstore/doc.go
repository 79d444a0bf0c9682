// Package snapstore provides what the snapshotter backends (overlay,
// native) share: the records of one snapshotter's snapshots, in its own
// bbolt file, together with the directories that hold their data, and
// the Snapshotter methods that need nothing else (Stat, Update, Usage,
// Commit, Remove, Walk, Cleanup, Close). A backend adds the making of a
// snapshot's directory and its mounts.
//
// # Layout
//
//	<root>/metadata.db           the records (metadata.DB: several processes may share it)
//	<root>/snapshots/<id>/       one snapshot's data, 0700; <id> is a decimal number
//	<root>/snapshots/<id>/fs     its tree (for overlay, the upperdir)
//	<root>/snapshots/rm-<id>/    the data of a removed snapshot, being deleted
//	<root>/snapshots/tmp-*/      a backend's work in progress, flock'ed while in use
//
// In the database, bucket "snapshots" maps each key to its record (JSON:
// id, kind, parent, labels, times, the usage measured at commit) and
// hands out ids from its sequence; bucket "children" holds
// "<parent>\x00<child>" for every snapshot with a parent, so that removing
// a parent is refused without a scan.
//
// # Crash safety
//
// A snapshot's directory is made inside the write transaction that
// records it, under the database lock every process takes for writing.
// If the transaction fails nothing is recorded and the directory is
// removed; if the process dies first, only a directory that no record
// names is left, which [Store.Cleanup] removes (or the next snapshot
// given the same id, since an id of a transaction that never committed is
// handed out again). Remove forgets the snapshot first, then renames its
// directory to rm-<id> and deletes it: a crash in between leaves an
// unknown directory, never a record without its data. Cleanup decides
// what is unknown inside a write transaction, so it cannot take a
// directory that another process is recording at that moment, and it
// leaves alone temporary directories whose owner still holds their lock.
package snapstore
