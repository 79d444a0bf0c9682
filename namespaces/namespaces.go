package namespaces

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
)

// Default is the namespace used when neither the context nor the client
// names one.
const Default = "default"

// MaxLength is the longest namespace name.
const MaxLength = 76

type key struct{}

// WithNamespace returns a context carrying the namespace ns. The name is
// checked when the context is used, not here.
func WithNamespace(ctx context.Context, ns string) context.Context {
	return context.WithValue(ctx, key{}, ns)
}

// Namespace returns the namespace the context carries, if any.
func Namespace(ctx context.Context) (string, bool) {
	ns, ok := ctx.Value(key{}).(string)
	return ns, ok && ns != ""
}

// NamespaceRequired returns the context's namespace, checked by Validate.
// A context without one is an InvalidArgument error.
func NamespaceRequired(ctx context.Context) (string, error) {
	ns, ok := Namespace(ctx)
	if !ok {
		return "", fmt.Errorf("namespace is required: %w", errdefs.ErrInvalidArgument)
	}
	if err := Validate(ns); err != nil {
		return "", err
	}
	return ns, nil
}

// Validate checks a namespace name against the rules in the package
// documentation. It fails with InvalidArgument, naming the fault.
func Validate(ns string) error {
	if ns == "" {
		return fmt.Errorf("namespace name is empty: %w", errdefs.ErrInvalidArgument)
	}
	if len(ns) > MaxLength {
		return fmt.Errorf("namespace %.80q: longer than %d characters: %w", ns, MaxLength, errdefs.ErrInvalidArgument)
	}
	sep := true // at the start, as after a separator, a letter or digit must come
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			sep = false
		case c == '.' || c == '_' || c == '-':
			if sep {
				return fmt.Errorf("namespace %q: %q at %d must follow a letter or digit: %w", ns, c, i, errdefs.ErrInvalidArgument)
			}
			sep = true
		default:
			return fmt.Errorf("namespace %q: character %q at %d is not allowed: %w", ns, c, i, errdefs.ErrInvalidArgument)
		}
	}
	if sep {
		return fmt.Errorf("namespace %q: must end with a letter or digit: %w", ns, errdefs.ErrInvalidArgument)
	}
	return nil
}
