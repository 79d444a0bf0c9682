package namespaces

import "context"

// Store keeps the namespaces of a root and their labels.
//
// A namespace exists once it is created, or once anything is stored in
// it: an image pulled into a namespace nobody created makes it, as in
// containerd, and it is then listed like any other.
type Store interface {
	// List returns the names of the namespaces, in order.
	List(ctx context.Context) ([]string, error)
	// Create makes the namespace name with labels. A name that breaks
	// the rules of Validate is InvalidArgument, one that exists
	// AlreadyExists.
	Create(ctx context.Context, name string, labels map[string]string) error
	// Labels returns the namespace's labels; a missing namespace is
	// NotFound.
	Labels(ctx context.Context, name string) (map[string]string, error)
	// SetLabel sets one label of the namespace, or removes it when value
	// is empty; a missing namespace is NotFound.
	SetLabel(ctx context.Context, name, key, value string) error
	// Delete removes the namespace. One that still holds images,
	// containers, leases, content or snapshots is FailedPrecondition,
	// and the error says what it holds; a missing one is NotFound.
	Delete(ctx context.Context, name string) error
}
