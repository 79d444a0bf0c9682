package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	bolt "go.etcd.io/bbolt"

	"github.com/daemonless/containerd/filters"
	"github.com/daemonless/containerd/images"
)

var (
	bucketImages = []byte("images")
	keyTarget    = []byte("target")
)

// ImageStore is the images.Store of the metadata database: records under
// v1/<namespace>/images/<name>.
type ImageStore struct {
	db        *DB
	defaultNS string
}

var _ images.Store = (*ImageStore)(nil)

// NewImageStore returns the image store of db. Calls whose context carries
// no namespace use defaultNS.
func NewImageStore(db *DB, defaultNS string) *ImageStore {
	return &ImageStore{db: db, defaultNS: defaultNS}
}

func imagesBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	return bucket(tx, bucketV1, []byte(ns), bucketImages)
}

func imageNotFound(name, ns string) error {
	return fmt.Errorf("image %q in namespace %s: %w", name, ns, errdefs.ErrNotFound)
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
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return images.Image{}, err
	}
	if err := images.ValidateName(name); err != nil {
		return images.Image{}, err
	}
	var img images.Image
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		ib := imagesBucket(tx, ns)
		if ib == nil || ib.Bucket([]byte(name)) == nil {
			return imageNotFound(name, ns)
		}
		img, err = readImage(name, ib.Bucket([]byte(name)))
		return err
	})
	return img, err
}

// List returns the namespace's images matching any of the filters, in
// name order.
func (s *ImageStore) List(ctx context.Context, fs ...string) ([]images.Image, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return nil, err
	}
	filter, err := filters.Parse(fs...)
	if err != nil {
		return nil, err
	}
	var out []images.Image
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		ib := imagesBucket(tx, ns)
		if ib == nil {
			return nil
		}
		return ib.ForEachBucket(func(k []byte) error {
			img, err := readImage(string(k), ib.Bucket(k))
			if err != nil {
				return err
			}
			if filter.Match(images.Adaptor(img)) {
				out = append(out, img)
			}
			return nil
		})
	})
	return out, err
}

// Create stores a new image.
func (s *ImageStore) Create(ctx context.Context, img images.Image) (images.Image, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return images.Image{}, err
	}
	if err := images.Validate(img); err != nil {
		return images.Image{}, err
	}
	now := time.Now().UTC()
	img.CreatedAt, img.UpdatedAt = now, now
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		ib, err := createBucket(tx, bucketV1, []byte(ns), bucketImages)
		if err != nil {
			return err
		}
		b, err := ib.CreateBucket([]byte(img.Name))
		if err == bolt.ErrBucketExists {
			return fmt.Errorf("image %q in namespace %s: %w", img.Name, ns, errdefs.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		return writeImage(b, img)
	})
	if err != nil {
		return images.Image{}, err
	}
	return img, nil
}

// Update changes an image's labels or target; see images.Store.
func (s *ImageStore) Update(ctx context.Context, img images.Image, fieldpaths ...string) (images.Image, error) {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return images.Image{}, err
	}
	if err := images.ValidateName(img.Name); err != nil {
		return images.Image{}, err
	}
	replaceTarget := len(fieldpaths) == 0 || slices.Contains(fieldpaths, "target")
	labelPaths := slices.DeleteFunc(slices.Clone(fieldpaths), func(fp string) bool { return fp == "target" })
	if len(fieldpaths) == 0 {
		labelPaths = []string{"labels"}
	}
	var out images.Image
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		ib := imagesBucket(tx, ns)
		if ib == nil || ib.Bucket([]byte(img.Name)) == nil {
			return imageNotFound(img.Name, ns)
		}
		b := ib.Bucket([]byte(img.Name))
		cur, err := readImage(img.Name, b)
		if err != nil {
			return err
		}
		if len(labelPaths) > 0 {
			if cur.Labels, err = updateLabels(cur.Labels, img.Labels, labelPaths); err != nil {
				return fmt.Errorf("image %q: %w", img.Name, err)
			}
		}
		if replaceTarget {
			cur.Target = img.Target
		}
		if err := images.Validate(cur); err != nil {
			return err
		}
		cur.UpdatedAt = time.Now().UTC()
		out = cur
		return writeImage(b, cur)
	})
	return out, err
}

// Delete removes the image named name.
func (s *ImageStore) Delete(ctx context.Context, name string) error {
	ns, err := namespaceOf(ctx, s.defaultNS)
	if err != nil {
		return err
	}
	if err := images.ValidateName(name); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		ib := imagesBucket(tx, ns)
		if ib == nil || ib.Bucket([]byte(name)) == nil {
			return imageNotFound(name, ns)
		}
		return ib.DeleteBucket([]byte(name))
	})
}
