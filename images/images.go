package images

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/filters"
)

// MaxNameLength bounds an image name, in bytes.
const MaxNameLength = 4096

// Image is a name bound to the descriptor of a manifest or index.
type Image struct {
	Name      string
	Labels    map[string]string
	Target    ocispec.Descriptor
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps image records, per namespace.
type Store interface {
	// Get returns the image named name; a missing one is NotFound.
	Get(ctx context.Context, name string) (Image, error)
	// List returns the images matching any of the filters (all without
	// filters), in name order.
	List(ctx context.Context, filters ...string) ([]Image, error)
	// Create stores a new image; an existing name is AlreadyExists.
	// CreatedAt and UpdatedAt are set by the store.
	Create(ctx context.Context, image Image) (Image, error)
	// Update changes an image: with no fieldpaths its labels and target
	// are replaced; "labels", "labels.KEY" and "target" choose. A missing
	// image is NotFound.
	Update(ctx context.Context, image Image, fieldpaths ...string) (Image, error)
	// Delete removes the image named name; a missing one is NotFound.
	Delete(ctx context.Context, name string) error
}

// Validate checks an image record before it is stored: a name (see the
// package documentation), valid labels, and a target with a media type,
// a valid digest and a positive size. It fails with InvalidArgument.
func Validate(img Image) error {
	if err := ValidateName(img.Name); err != nil {
		return err
	}
	if err := content.ValidateLabels(img.Labels); err != nil {
		return fmt.Errorf("image %q: %w", img.Name, err)
	}
	return validateTarget(img.Name, img.Target)
}

func validateTarget(name string, t ocispec.Descriptor) error {
	switch {
	case t.MediaType == "":
		return fmt.Errorf("image %q: target has no media type: %w", name, errdefs.ErrInvalidArgument)
	case t.Size <= 0:
		return fmt.Errorf("image %q: target size %d: %w", name, t.Size, errdefs.ErrInvalidArgument)
	}
	if err := content.ValidateDigest(t.Digest); err != nil {
		return fmt.Errorf("image %q: target: %w", name, err)
	}
	return nil
}

// ValidateName checks an image name: non-empty, at most MaxNameLength
// bytes of printable UTF-8. It fails with InvalidArgument.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("image name is empty: %w", errdefs.ErrInvalidArgument)
	case len(name) > MaxNameLength:
		return fmt.Errorf("image name %.80q...: longer than %d bytes: %w", name, MaxNameLength, errdefs.ErrInvalidArgument)
	case !utf8.ValidString(name):
		return fmt.Errorf("image name %q: not UTF-8: %w", name, errdefs.ErrInvalidArgument)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("image name %q: control character %U: %w", name, r, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// Adaptor exposes an image's fields to filters: name, target.digest,
// target.mediatype, target.size and labels.KEY.
func Adaptor(img Image) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) == 0 {
			return "", false
		}
		switch fp[0] {
		case "name":
			return img.Name, len(fp) == 1
		case "target":
			if len(fp) != 2 {
				return "", false
			}
			switch fp[1] {
			case "digest":
				return img.Target.Digest.String(), true
			case "mediatype":
				return img.Target.MediaType, true
			case "size":
				return fmt.Sprint(img.Target.Size), true
			}
		case "labels":
			return filters.LabelField(img.Labels, fp[1:])
		}
		return "", false
	})
}
