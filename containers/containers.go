package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/filters"
)

// Container is the record of a container.
type Container struct {
	// ID names the container in its namespace.
	ID string
	// Labels are free-form key-value pairs.
	Labels map[string]string
	// Image is the name of the image the container was made from, if
	// any.
	Image string
	// Spec is the OCI runtime spec its tasks run with.
	Spec *specs.Spec
	// Snapshotter and SnapshotKey name the snapshot holding its root
	// filesystem; empty when the spec's root is a directory of its own.
	Snapshotter string
	SnapshotKey string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Store keeps container records, per namespace.
type Store interface {
	// Get returns the container id; a missing one is NotFound.
	Get(ctx context.Context, id string) (Container, error)
	// List returns the containers matching any of the filters (all
	// without filters), in id order.
	List(ctx context.Context, filters ...string) ([]Container, error)
	// Create stores a new container; an id in use is AlreadyExists.
	Create(ctx context.Context, c Container) (Container, error)
	// Update changes a container: with no fieldpaths its labels, image,
	// spec and snapshot are replaced; "labels", "labels.KEY", "image",
	// "spec", "snapshotkey" choose.
	Update(ctx context.Context, c Container, fieldpaths ...string) (Container, error)
	// Delete removes the container id; a missing one is NotFound.
	Delete(ctx context.Context, id string) error
}

// MaxIDLength bounds a container id, in bytes.
const MaxIDLength = 76

// ValidateID checks a container id as containerd does: 1 to MaxIDLength
// letters and digits, with single '.', '_' or '-' between them. Ids name
// directories and cgroups, so nothing else is allowed. It fails with
// InvalidArgument.
func ValidateID(id string) error {
	if id == "" || len(id) > MaxIDLength {
		return fmt.Errorf("container id %.80q: must be 1 to %d characters: %w", id, MaxIDLength, errdefs.ErrInvalidArgument)
	}
	prevSep := true // no separator first
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			prevSep = false
		case (c == '.' || c == '_' || c == '-') && !prevSep:
			prevSep = true
		default:
			return fmt.Errorf("container id %q: only letters, digits and single '.', '_' or '-' between them: %w", id, errdefs.ErrInvalidArgument)
		}
	}
	if prevSep {
		return fmt.Errorf("container id %q: ends with a separator: %w", id, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Adaptor exposes a container's fields to filters: id, image,
// snapshotter, snapshotkey, labels.KEY.
func Adaptor(c Container) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) == 0 {
			return "", false
		}
		switch fp[0] {
		case "id":
			return c.ID, len(fp) == 1
		case "image":
			return c.Image, len(fp) == 1 && c.Image != ""
		case "snapshotter":
			return c.Snapshotter, len(fp) == 1 && c.Snapshotter != ""
		case "snapshotkey":
			return c.SnapshotKey, len(fp) == 1 && c.SnapshotKey != ""
		case "labels":
			return filters.LabelField(c.Labels, fp[1:])
		}
		return "", false
	})
}
