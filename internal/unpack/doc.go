// Package unpack turns an image's layers into committed snapshots, one per
// layer, named by the layer's ChainID as containerd names them.
//
// # One pass, in parallel
//
// Each layer is read once: decompressed, hashed and applied in the same
// pass (package internal/archive), and its diffID checked against the
// image config before its snapshot is committed; a wrong diffID removes
// the half-applied snapshot and fails the unpack, naming the layer.
//
// On a snapshotter that can rebase (overlay), every missing layer is
// prepared with no parent and applied at once into its own upperdir, a
// bounded number at a time, deletions written as overlay whiteouts; the
// layers are then committed in order, each given its parent as it is
// committed. Elsewhere (native) each layer is prepared on its parent and
// applied after it.
//
// A layer may be applied as soon as its blob is in the store: the Ready
// option lets a pull start unpacking while later layers still download.
//
// # Done once
//
// A layer whose snapshot exists is skipped. Two unpacks of the same layer
// in one process take turns on a lock per ChainID, so the second finds
// the first one's snapshot; across processes the snapshotter's
// AlreadyExists on Commit (or on Prepare, through the
// containerd.io/snapshot.ref label) tells the loser to drop its copy.
package unpack
