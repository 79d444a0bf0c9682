package leases

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/filters"
)

// Labels with a meaning to garbage collection.
const (
	// LabelExpire holds a lease's expiry time, RFC 3339.
	LabelExpire = "containerd.io/gc.expire"
)

// Resource types.
const (
	// ResourceContent is a blob; the id is its digest.
	ResourceContent = "content"
	// ResourceIngest is an ingest under way; the id is its ref.
	ResourceIngest = "ingests"
	// ResourceSnapshotsPrefix, followed by a snapshotter's name, is a
	// snapshot of that snapshotter; the id is its key.
	ResourceSnapshotsPrefix = "snapshots/"
)

// DefaultExpiration is the expiry WithLease gives a lease when no
// WithExpiration option says otherwise.
const DefaultExpiration = 24 * time.Hour

// MaxIDLength bounds a lease id, in bytes.
const MaxIDLength = 76

// Lease is a lease's record.
type Lease struct {
	// ID names the lease in its namespace.
	ID string
	// CreatedAt is when the lease was made.
	CreatedAt time.Time
	// Labels are free-form key-value pairs; LabelExpire sets an expiry.
	Labels map[string]string
}

// Expiry returns the lease's expiry time, and false when it has none (or
// its LabelExpire does not parse, which counts as none).
func (l Lease) Expiry() (time.Time, bool) {
	v, ok := l.Labels[LabelExpire]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// Expired reports whether the lease's expiry is at or before now.
func (l Lease) Expired(now time.Time) bool {
	t, ok := l.Expiry()
	return ok && !t.After(now)
}

// Resource names something a lease holds.
type Resource struct {
	// ID is the digest, snapshot key or ingest ref.
	ID string
	// Type is ResourceContent, ResourceIngest or "snapshots/<name>".
	Type string
}

// Snapshots is the resource type of the snapshots of snapshotter.
func Snapshots(snapshotter string) string { return ResourceSnapshotsPrefix + snapshotter }

// Opt sets up a lease before it is made.
type Opt func(*Lease) error

// WithID names the lease id. Ids follow the rules of container ids: 1 to
// MaxIDLength letters and digits with single '.', '_' or '-' between
// them.
func WithID(id string) Opt {
	return func(l *Lease) error {
		if err := ValidateID(id); err != nil {
			return err
		}
		l.ID = id
		return nil
	}
}

// WithRandomID names the lease with a fresh id: the time in nanoseconds
// and random hex digits ("1712345678901234567-3f9a0c1b2d4e").
func WithRandomID() Opt {
	return func(l *Lease) error {
		l.ID = randomID()
		return nil
	}
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + hex.EncodeToString(b[:])
}

// WithLabels adds labels to the lease.
func WithLabels(labels map[string]string) Opt {
	return func(l *Lease) error {
		if l.Labels == nil {
			l.Labels = map[string]string{}
		}
		for k, v := range labels {
			l.Labels[k] = v
		}
		return nil
	}
}

// WithExpiration makes the lease expire d from now: it then holds nothing
// and garbage collection deletes it. d must be positive.
func WithExpiration(d time.Duration) Opt {
	return func(l *Lease) error {
		if d <= 0 {
			return fmt.Errorf("lease expiration %v: must be positive: %w", d, errdefs.ErrInvalidArgument)
		}
		return WithLabels(map[string]string{LabelExpire: time.Now().Add(d).UTC().Format(time.RFC3339Nano)})(l)
	}
}

// ValidateID checks a lease id. It fails with InvalidArgument.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength {
		return fmt.Errorf("lease id %.80q: must be 1 to %d characters: %w", id, MaxIDLength, errdefs.ErrInvalidArgument)
	}
	sep := true
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			sep = false
		case (c == '.' || c == '_' || c == '-') && !sep:
			sep = true
		default:
			return fmt.Errorf("lease id %q: only letters, digits and single '.', '_' or '-' between them: %w", id, errdefs.ErrInvalidArgument)
		}
	}
	if sep {
		return fmt.Errorf("lease id %q: ends with a separator: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateResource checks a resource's type and that its id is not
// empty. It fails with InvalidArgument.
func ValidateResource(r Resource) error {
	switch {
	case r.Type == ResourceContent, r.Type == ResourceIngest:
	case strings.HasPrefix(r.Type, ResourceSnapshotsPrefix) && len(r.Type) > len(ResourceSnapshotsPrefix) && !strings.Contains(r.Type[len(ResourceSnapshotsPrefix):], "/"):
	default:
		return fmt.Errorf("lease resource type %.80q: want %q, %q or \"snapshots/<snapshotter>\": %w", r.Type, ResourceContent, ResourceIngest, errdefs.ErrInvalidArgument)
	}
	if r.ID == "" {
		return fmt.Errorf("lease resource %s: empty id: %w", r.Type, errdefs.ErrInvalidArgument)
	}
	return nil
}

// DeleteOptions are the options of a Delete.
type DeleteOptions struct {
	// Synchronous makes Delete collect garbage before it returns.
	Synchronous bool
}

// DeleteOpt sets a DeleteOptions field.
type DeleteOpt func(ctx context.Context, o *DeleteOptions) error

// SynchronousDelete makes Delete run a garbage collection before it
// returns, so that what only the lease held is gone.
func SynchronousDelete(_ context.Context, o *DeleteOptions) error {
	o.Synchronous = true
	return nil
}

// Manager makes, lists and deletes the leases of the context's
// namespace and the resources they hold.
type Manager interface {
	// Create makes a lease; WithID or WithRandomID must name it. An id in
	// use is AlreadyExists.
	Create(ctx context.Context, opts ...Opt) (Lease, error)
	// Delete removes the lease l.ID; a missing one is NotFound. What it
	// held is collected by the next garbage collection unless something
	// else references it.
	Delete(ctx context.Context, l Lease, opts ...DeleteOpt) error
	// List returns the leases matching any of the filters (fields id and
	// labels.KEY; all without filters), in id order.
	List(ctx context.Context, filters ...string) ([]Lease, error)
	// AddResource makes the lease hold r. A missing lease is NotFound.
	AddResource(ctx context.Context, l Lease, r Resource) error
	// DeleteResource lets the lease go of r; one it does not hold is no
	// error.
	DeleteResource(ctx context.Context, l Lease, r Resource) error
	// ListResources returns what the lease holds, ordered by type and id.
	ListResources(ctx context.Context, l Lease) ([]Resource, error)
}

// Adaptor exposes a lease's fields to filters: id and labels.KEY.
func Adaptor(l Lease) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) == 0 {
			return "", false
		}
		switch fp[0] {
		case "id":
			return l.ID, len(fp) == 1
		case "labels":
			return filters.LabelField(l.Labels, fp[1:])
		}
		return "", false
	})
}

type leaseKey struct{}

// WithLease returns a context carrying the lease id: what the client's
// stores make with it is recorded in that lease.
func WithLease(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, leaseKey{}, id)
}

// FromContext returns the lease the context carries, if any.
func FromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(leaseKey{}).(string)
	return id, ok && id != ""
}
