// Package testsuite provides the conformance tests every
// snapshot.Snapshotter implementation runs, in one line from its own
// tests:
//
//	func TestSnapshotter(t *testing.T) {
//		testsuite.Run(t, func(t *testing.T, root string) snapshot.Snapshotter { ... })
//	}
//
// Each case opens a fresh snapshotter on a fresh root, a directory the
// suite makes, and closes it when the case ends; a case may open a second
// one on the same root (as another process would) or reopen it.
//
// The suite checks the contract of package snapshot: a chain of layers
// written through the mounts, with files deleted and directories replaced
// in upper layers; read-only views; commits, including a name in use;
// refusals by error kind (NotFound, AlreadyExists, FailedPrecondition,
// InvalidArgument); removal order; labels and Update's fieldpaths; Walk
// with filters; Usage; a 60-layer chain; concurrent use, also by two
// snapshotters on one root; and, for implementations that have them,
// Cleanup ([snapshot.Cleaner]) and rebasing ([snapshot.Rebaser]).
//
// Seeing a snapshot's files means mounting it, which needs root: the
// suite mounts into temporary directories and unmounts them. Not running
// as root, it uses the directory of a lone bind mount directly (as the
// contract allows), and skips, saying so, the cases that need a real
// mount.
package testsuite
