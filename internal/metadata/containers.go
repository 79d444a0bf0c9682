package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/content"
)

var (
	bucketContainers = []byte("containers")
	keyImage         = []byte("image")
	keySpec          = []byte("spec")
	keySnapshotter   = []byte("snapshotter")
	keySnapshotKey   = []byte("snapshotkey")
)

// ContainerStore is the containers.Store of the metadata database:
// records under v1/<namespace>/containers/<id>.
type ContainerStore struct {
	r records[containers.Container]
}

var _ containers.Store = (*ContainerStore)(nil)

// NewContainerStore returns the container store of db. Calls whose
// context carries no namespace use defaultNS.
func NewContainerStore(db *DB, defaultNS string) *ContainerStore {
	return &ContainerStore{r: records[containers.Container]{
		db: db, defaultNS: defaultNS, bucket: bucketContainers, kind: "container",
		validate: containers.ValidateID, read: readContainer, write: writeContainer, adaptor: containers.Adaptor,
	}}
}

func readContainer(id string, b *bolt.Bucket) (containers.Container, error) {
	c := containers.Container{
		ID:          id,
		Labels:      readLabels(b),
		Image:       string(b.Get(keyImage)),
		Snapshotter: string(b.Get(keySnapshotter)),
		SnapshotKey: string(b.Get(keySnapshotKey)),
		CreatedAt:   getTime(b, keyCreatedAt),
		UpdatedAt:   getTime(b, keyUpdatedAt),
	}
	if raw := b.Get(keySpec); raw != nil {
		c.Spec = new(specs.Spec)
		if err := json.Unmarshal(raw, c.Spec); err != nil {
			return containers.Container{}, fmt.Errorf("container %q: stored spec: %v: %w", id, err, errdefs.ErrDataLoss)
		}
	}
	return c, nil
}

func writeContainer(b *bolt.Bucket, c containers.Container) error {
	for _, kv := range []struct {
		k []byte
		v string
	}{{keyImage, c.Image}, {keySnapshotter, c.Snapshotter}, {keySnapshotKey, c.SnapshotKey}} {
		var err error
		if kv.v == "" {
			err = b.Delete(kv.k)
		} else {
			err = b.Put(kv.k, []byte(kv.v))
		}
		if err != nil {
			return err
		}
	}
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return fmt.Errorf("container %q: spec: %w", c.ID, err)
	}
	if err := b.Put(keySpec, spec); err != nil {
		return err
	}
	if err := putTime(b, keyCreatedAt, c.CreatedAt); err != nil {
		return err
	}
	if err := putTime(b, keyUpdatedAt, c.UpdatedAt); err != nil {
		return err
	}
	return writeLabels(b, c.Labels)
}

// validateContainer checks a record before it is stored.
func validateContainer(c containers.Container) error {
	if err := containers.ValidateID(c.ID); err != nil {
		return err
	}
	if err := content.ValidateLabels(c.Labels); err != nil {
		return fmt.Errorf("container %q: %w", c.ID, err)
	}
	if c.Spec == nil {
		return fmt.Errorf("container %q: no runtime spec: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	if (c.Snapshotter == "") != (c.SnapshotKey == "") {
		return fmt.Errorf("container %q: a snapshot key needs its snapshotter and the other way round: %w", c.ID, errdefs.ErrInvalidArgument)
	}
	return nil
}

// Get returns the container id.
func (s *ContainerStore) Get(ctx context.Context, id string) (containers.Container, error) {
	return s.r.get(ctx, id)
}

// List returns the namespace's containers matching any of the filters,
// in id order.
func (s *ContainerStore) List(ctx context.Context, fs ...string) ([]containers.Container, error) {
	return s.r.list(ctx, fs...)
}

// Create stores a new container.
func (s *ContainerStore) Create(ctx context.Context, c containers.Container) (containers.Container, error) {
	if err := validateContainer(c); err != nil {
		return containers.Container{}, err
	}
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.r.create(ctx, c.ID, c); err != nil {
		return containers.Container{}, err
	}
	return c, nil
}

// Update changes a container; see containers.Store.
func (s *ContainerStore) Update(ctx context.Context, c containers.Container, fieldpaths ...string) (containers.Container, error) {
	if len(fieldpaths) == 0 {
		fieldpaths = []string{"labels", "image", "spec", "snapshotkey"}
	}
	var labelPaths []string
	for _, fp := range fieldpaths {
		switch fp {
		case "image", "spec", "snapshotkey":
		default:
			labelPaths = append(labelPaths, fp)
		}
	}
	return s.r.update(ctx, c.ID, func(cur containers.Container) (containers.Container, error) {
		var err error
		if len(labelPaths) > 0 {
			if cur.Labels, err = updateLabels(cur.Labels, c.Labels, labelPaths); err != nil {
				return cur, fmt.Errorf("container %q: %w", c.ID, err)
			}
		}
		if slices.Contains(fieldpaths, "image") {
			cur.Image = c.Image
		}
		if slices.Contains(fieldpaths, "spec") {
			cur.Spec = c.Spec
		}
		if slices.Contains(fieldpaths, "snapshotkey") {
			cur.Snapshotter, cur.SnapshotKey = c.Snapshotter, c.SnapshotKey
		}
		if err := validateContainer(cur); err != nil {
			return cur, err
		}
		cur.UpdatedAt = time.Now().UTC()
		return cur, nil
	})
}

// Delete removes the container id.
func (s *ContainerStore) Delete(ctx context.Context, id string) error {
	return s.r.delete(ctx, id)
}
