package snapshot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/filters"
)

// Kind is the state of a snapshot.
type Kind uint8

// The kinds of snapshot.
const (
	KindUnknown Kind = iota
	// KindView is a read-only snapshot made by View.
	KindView
	// KindActive is a writable snapshot made by Prepare.
	KindActive
	// KindCommitted is a frozen snapshot made by Commit; only committed
	// snapshots can be parents.
	KindCommitted
)

// String returns "view", "active", "committed" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindActive:
		return "active"
	case KindCommitted:
		return "committed"
	}
	return "unknown"
}

// ParseKind is the inverse of Kind.String. An unknown spelling is an
// InvalidArgument error.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "view":
		return KindView, nil
	case "active":
		return KindActive, nil
	case "committed":
		return KindCommitted, nil
	}
	return KindUnknown, fmt.Errorf("snapshot kind %q: want view, active or committed: %w", s, errdefs.ErrInvalidArgument)
}

// Info describes a snapshot.
type Info struct {
	Kind Kind
	// Name is the snapshot's key (active, view) or name (committed).
	Name string
	// Parent is the name of the committed snapshot it sits on; empty for
	// none.
	Parent string
	// Labels are free-form key-value pairs.
	Labels  map[string]string
	Created time.Time
	Updated time.Time
}

// Usage is the disk a snapshot uses by itself, its parents not counted.
type Usage struct {
	// Inodes is the number of files, directories and other entries.
	Inodes int64
	// Size is the number of bytes its blocks take.
	Size int64
}

// Add adds u2 to u.
func (u *Usage) Add(u2 Usage) {
	u.Inodes += u2.Inodes
	u.Size += u2.Size
}

// WalkFunc is called once for each snapshot a Walk visits. Returning an
// error stops the walk and Walk returns that error.
type WalkFunc func(context.Context, Info) error

// Snapshotter keeps snapshots. Implementations are safe for concurrent
// use, also by several processes sharing one root.
type Snapshotter interface {
	// Stat describes the snapshot named by key; a missing one is
	// NotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Update changes a snapshot's mutable fields: its labels. With no
	// fieldpaths the labels are replaced by info.Labels; "labels" replaces
	// them all and "labels.KEY" sets or, for an empty value, removes one.
	// Other fields are an InvalidArgument error.
	Update(ctx context.Context, info Info, fieldpaths ...string) (Info, error)

	// Usage tells the disk the snapshot uses by itself. For an active
	// snapshot or a view it is measured now; a committed one, whose
	// contents cannot change, may be measured once and remembered.
	Usage(ctx context.Context, key string) (Usage, error)

	// Mounts returns the mounts of an active snapshot or a view, as
	// Prepare or View returned them.
	Mounts(ctx context.Context, key string) ([]Mount, error)

	// Prepare makes an active snapshot named key on top of the committed
	// snapshot parent ("" for none) and returns its mounts. A key in use
	// is AlreadyExists; a missing parent is NotFound, a parent that is
	// not committed FailedPrecondition.
	Prepare(ctx context.Context, key, parent string, opts ...Opt) ([]Mount, error)

	// View is Prepare for a read-only snapshot: its mounts are read-only
	// and it can never be committed.
	View(ctx context.Context, key, parent string, opts ...Opt) ([]Mount, error)

	// Commit freezes the active snapshot key as the committed snapshot
	// name; key no longer exists afterwards. A name in use is
	// AlreadyExists and leaves key as it was. Labels given by WithLabels
	// replace the active snapshot's. WithParent is accepted only by a
	// Rebaser (InvalidArgument otherwise).
	Commit(ctx context.Context, name, key string, opts ...Opt) error

	// Remove drops a snapshot and its data. A committed snapshot that is
	// the parent of another is FailedPrecondition.
	Remove(ctx context.Context, key string) error

	// Walk calls fn for every snapshot matching any of the filters (all
	// without filters), in name order. Filters use the syntax of package
	// filters over the fields kind, name, parent and labels.
	Walk(ctx context.Context, fn WalkFunc, filters ...string) error

	// Close releases the snapshotter's resources. Snapshots stay.
	Close() error
}

// Cleaner is implemented by snapshotters that can remove what their
// records do not know: directories left by a crash between creating a
// snapshot's data and recording it, or between forgetting and removing it.
type Cleaner interface {
	// Cleanup removes the leftovers. It is safe while the snapshotter is
	// in use.
	Cleanup(ctx context.Context) error
}

// Rebaser is implemented by snapshotters whose active snapshots hold only
// their own changes, deletions written as overlay whiteouts (character
// devices 0/0 and the trusted.overlay.opaque attribute), so that a layer
// can be applied into a snapshot prepared with no parent and be given its
// parent when committed with WithParent.
type Rebaser interface {
	// CanRebase reports whether Commit accepts WithParent.
	CanRebase() bool
}

// Opt sets a field of the Info a snapshot is made or committed with.
type Opt func(*Info) error

// WithLabels sets the labels of the snapshot; they replace any set by an
// earlier option.
func WithLabels(labels map[string]string) Opt {
	return func(info *Info) error {
		if err := ValidateLabels(labels); err != nil {
			return err
		}
		info.Labels = make(map[string]string, len(labels))
		for k, v := range labels {
			info.Labels[k] = v
		}
		return nil
	}
}

// WithParent, on Commit, gives the committed snapshot the parent name.
// Only a Rebaser accepts it, and only for an active snapshot prepared
// with no parent.
func WithParent(name string) Opt {
	return func(info *Info) error {
		if name == "" {
			return fmt.Errorf("snapshot parent: empty name: %w", errdefs.ErrInvalidArgument)
		}
		info.Parent = name
		return nil
	}
}

// ApplyOpts applies opts to a fresh Info and returns it.
func ApplyOpts(opts ...Opt) (Info, error) {
	var info Info
	for _, o := range opts {
		if err := o(&info); err != nil {
			return Info{}, err
		}
	}
	return info, nil
}

// Limits on keys and labels.
const (
	// MaxKeyLen is the longest key or name, in bytes.
	MaxKeyLen = 4096
	// MaxLabelsLen is the most bytes all of a snapshot's labels may take.
	MaxLabelsLen = 4096
)

// ValidateKey checks a snapshot key or name: not empty, at most MaxKeyLen
// bytes, no NUL. Keys are opaque otherwise: they never become paths.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("snapshot key: empty: %w", errdefs.ErrInvalidArgument)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("snapshot key %.40q...: longer than %d bytes: %w", key, MaxKeyLen, errdefs.ErrInvalidArgument)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("snapshot key %q: contains NUL: %w", key, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateLabels checks labels: keys not empty, no NUL, all of them
// together at most MaxLabelsLen bytes.
func ValidateLabels(labels map[string]string) error {
	n := 0
	for k, v := range labels {
		if k == "" {
			return fmt.Errorf("snapshot label: empty key: %w", errdefs.ErrInvalidArgument)
		}
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("snapshot label %q: contains NUL: %w", k, errdefs.ErrInvalidArgument)
		}
		n += len(k) + len(v)
	}
	if n > MaxLabelsLen {
		return fmt.Errorf("snapshot labels: %d bytes, more than %d: %w", n, MaxLabelsLen, errdefs.ErrInvalidArgument)
	}
	return nil
}

// UpdateLabels applies an Update's fieldpaths to old labels and returns
// the result (see Snapshotter.Update).
func UpdateLabels(old, update map[string]string, fieldpaths []string) (map[string]string, error) {
	if len(fieldpaths) == 0 {
		fieldpaths = []string{"labels"}
	}
	out := make(map[string]string, len(old))
	for k, v := range old {
		out[k] = v
	}
	for _, fp := range fieldpaths {
		switch {
		case fp == "labels":
			out = make(map[string]string, len(update))
			for k, v := range update {
				if v != "" {
					out[k] = v
				}
			}
		case strings.HasPrefix(fp, "labels."):
			k := strings.TrimPrefix(fp, "labels.")
			if v := update[k]; v != "" {
				out[k] = v
			} else {
				delete(out, k)
			}
		default:
			return nil, fmt.Errorf("snapshot update: field %q cannot be changed: %w", fp, errdefs.ErrInvalidArgument)
		}
	}
	if err := ValidateLabels(out); err != nil {
		return nil, err
	}
	return out, nil
}

// InfoAdaptor exposes an Info's fields to filters: kind, name, parent,
// labels.KEY.
func InfoAdaptor(info Info) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) == 0 {
			return "", false
		}
		switch fp[0] {
		case "kind":
			return info.Kind.String(), len(fp) == 1
		case "name":
			return info.Name, len(fp) == 1
		case "parent":
			return info.Parent, len(fp) == 1 && info.Parent != ""
		case "labels":
			return filters.LabelField(info.Labels, fp[1:])
		}
		return "", false
	})
}

// Labels the client and the unpacker set on snapshots.
const (
	// LabelSnapshotRef, on Prepare, names the committed snapshot the
	// caller means to make. If it exists already, Prepare makes nothing
	// and returns AlreadyExists (across namespaces, the committed
	// snapshot is shared rather than made again).
	LabelSnapshotRef = "containerd.io/snapshot.ref"
	// LabelUncompressed records a committed layer snapshot's diffID.
	LabelUncompressed = "containerd.io/uncompressed"
)
