package content

import (
	_ "crypto/sha256" // digest algorithms: sha256
	_ "crypto/sha512" // sha384, sha512
	"fmt"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

const (
	// MaxRefLength is the longest ingest ref a store accepts, in bytes.
	MaxRefLength = 512
	// MaxLabelSize bounds one label: its key and value together, in bytes.
	MaxLabelSize = 4096
)

// ValidateDigest checks that d names a supported algorithm and is well
// formed, so that it can safely become part of a path. It fails with
// InvalidArgument.
func ValidateDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %v: %w", truncate(string(d)), err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateRef checks an ingest ref: non-empty, at most MaxRefLength bytes
// of printable UTF-8. It fails with InvalidArgument.
func ValidateRef(ref string) error {
	switch {
	case ref == "":
		return fmt.Errorf("ingest ref is required: %w", errdefs.ErrInvalidArgument)
	case len(ref) > MaxRefLength:
		return fmt.Errorf("ingest ref %q...: longer than %d bytes: %w", truncate(ref), MaxRefLength, errdefs.ErrInvalidArgument)
	case !utf8.ValidString(ref):
		return fmt.Errorf("ingest ref %q: not UTF-8: %w", truncate(ref), errdefs.ErrInvalidArgument)
	}
	for _, r := range ref {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("ingest ref %q: control character %U: %w", truncate(ref), r, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// ValidateLabels checks label keys and sizes: a key is non-empty and a
// key with its value is at most MaxLabelSize bytes. It fails with
// InvalidArgument.
func ValidateLabels(labels map[string]string) error {
	for k, v := range labels {
		if err := ValidateLabel(k, v); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLabel checks one label as ValidateLabels does.
func ValidateLabel(k, v string) error {
	if k == "" {
		return fmt.Errorf("label key is empty: %w", errdefs.ErrInvalidArgument)
	}
	if len(k)+len(v) > MaxLabelSize {
		return fmt.Errorf("label %q: key and value longer than %d bytes: %w", truncate(k), MaxLabelSize, errdefs.ErrInvalidArgument)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}
