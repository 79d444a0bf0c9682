package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/images"
)

var (
	bucketImages = []byte("images")
	keyTarget    = []byte("target")
)

// ImageStore is the images.Store of the metadata database: records under
// v1/<namespace>/images/<name>.
type ImageStore struct {
	r records[images.Image]
}

var _ images.Store = (*ImageStore)(nil)

// NewImageStore returns the image store of db. Calls whose context carries
// no namespace use defaultNS.
func NewImageStore(db *DB, defaultNS string) *ImageStore {
	return &ImageStore{r: records[images.Image]{
		db: db, defaultNS: defaultNS, bucket: bucketImages, kind: "image",
		validate: images.ValidateName, read: readImage, write: writeImage, adaptor: images.Adaptor,
	}}
}

func readImage(name string, b *bolt.Bucket) (images.Image, error) {
	img := images.Image{
		Name:      name,
		Labels:    readLabels(b),
		CreatedAt: getTime(b, keyCreatedAt),
		UpdatedAt: getTime(b, keyUpdatedAt),
	}
	if err := json.Unmarshal(b.Get(keyTarget), &img.Target); err != nil {
		return images.Image{}, fmt.Errorf("image %q: stored target: %v: %w", name, err, errdefs.ErrDataLoss)
	}
	return img, nil
}

func writeImage(b *bolt.Bucket, img images.Image) error {
	target, err := json.Marshal(img.Target)
	if err != nil {
		return err
	}
	if err := b.Put(keyTarget, target); err != nil {
		return err
	}
	if err := putTime(b, keyCreatedAt, img.CreatedAt); err != nil {
		return err
	}
	if err := putTime(b, keyUpdatedAt, img.UpdatedAt); err != nil {
		return err
	}
	return writeLabels(b, img.Labels)
}

// Get returns the image named name.
func (s *ImageStore) Get(ctx context.Context, name string) (images.Image, error) {
	return s.r.get(ctx, name)
}

// List returns the namespace's images matching any of the filters, in
// name order.
func (s *ImageStore) List(ctx context.Context, fs ...string) ([]images.Image, error) {
	return s.r.list(ctx, fs...)
}

// Create stores a new image.
func (s *ImageStore) Create(ctx context.Context, img images.Image) (images.Image, error) {
	if err := images.Validate(img); err != nil {
		return images.Image{}, err
	}
	now := time.Now().UTC()
	img.CreatedAt, img.UpdatedAt = now, now
	if err := s.r.create(ctx, img.Name, img); err != nil {
		return images.Image{}, err
	}
	return img, nil
}

// Update changes an image's labels or target; see images.Store.
func (s *ImageStore) Update(ctx context.Context, img images.Image, fieldpaths ...string) (images.Image, error) {
	replaceTarget := len(fieldpaths) == 0 || slices.Contains(fieldpaths, "target")
	labelPaths := slices.DeleteFunc(slices.Clone(fieldpaths), func(fp string) bool { return fp == "target" })
	if len(fieldpaths) == 0 {
		labelPaths = []string{"labels"}
	}
	return s.r.update(ctx, img.Name, func(cur images.Image) (images.Image, error) {
		var err error
		if len(labelPaths) > 0 {
			if cur.Labels, err = updateLabels(cur.Labels, img.Labels, labelPaths); err != nil {
				return cur, fmt.Errorf("image %q: %w", img.Name, err)
			}
		}
		if replaceTarget {
			cur.Target = img.Target
		}
		if err := images.Validate(cur); err != nil {
			return cur, err
		}
		cur.UpdatedAt = time.Now().UTC()
		return cur, nil
	})
}

// Delete removes the image named name.
func (s *ImageStore) Delete(ctx context.Context, name string) error {
	return s.r.delete(ctx, name)
}
