package containers

import (
	"context"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
