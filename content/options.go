package content

import (
	"fmt"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// WriterOpts are the settings of an Ingester.Writer call.
type WriterOpts struct {
	// Ref names the ingest; required.
	Ref string
	// Desc is what the caller expects to write: a non-zero Size bounds
	// the ingest and a Digest lets the store skip blobs it already holds.
	Desc ocispec.Descriptor
}

// WriterOpt sets a WriterOpts field.
type WriterOpt func(*WriterOpts) error

// WithRef names the ingest. Refs are opaque strings of at most
// [MaxRefLength] bytes; they are never used as paths.
func WithRef(ref string) WriterOpt {
	return func(o *WriterOpts) error {
		o.Ref = ref
		return nil
	}
}

// WithDescriptor gives the digest and size the caller expects to write.
// The default is to expect nothing: any size, any digest.
func WithDescriptor(desc ocispec.Descriptor) WriterOpt {
	return func(o *WriterOpts) error {
		if desc.Size < 0 {
			return fmt.Errorf("descriptor size %d: %w", desc.Size, errdefs.ErrInvalidArgument)
		}
		if desc.Digest != "" {
			if err := desc.Digest.Validate(); err != nil {
				return fmt.Errorf("descriptor digest %q: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
			}
		}
		o.Desc = desc
		return nil
	}
}

// MakeWriterOpts applies opts in order and checks the result. Stores call
// it at the top of their Writer method.
func MakeWriterOpts(opts ...WriterOpt) (WriterOpts, error) {
	var wo WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return wo, err
		}
	}
	if err := ValidateRef(wo.Ref); err != nil {
		return wo, err
	}
	return wo, nil
}

// Opts are the settings of a Writer.Commit call.
type Opts struct {
	// Labels are set on the committed blob.
	Labels map[string]string
}

// Opt sets an Opts field.
type Opt func(*Opts) error

// WithLabels sets labels on the committed blob. The default is none.
func WithLabels(labels map[string]string) Opt {
	return func(o *Opts) error {
		if o.Labels == nil {
			o.Labels = make(map[string]string, len(labels))
		}
		for k, v := range labels {
			o.Labels[k] = v
		}
		return nil
	}
}

// MakeOpts applies opts in order and checks the labels.
func MakeOpts(opts ...Opt) (Opts, error) {
	var o Opts
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, ValidateLabels(o.Labels)
}
