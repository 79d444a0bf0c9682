package namespaces

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"k8s.io", true},
		{"a-b_c.d", true},
		{"A1", true},
		{strings.Repeat("a", MaxLength), true},
		{"", false},
		{strings.Repeat("a", MaxLength+1), false},
		{".x", false},
		{"x.", false},
		{"a..b", false},
		{"a.-b", false},
		{"a/b", false},
		{"../x", false},
		{"a b", false},
		{"ünï", false},
	} {
		err := Validate(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Validate(%q) = %v, not InvalidArgument", tc.name, err)
		}
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := Namespace(ctx); ok {
		t.Fatal("Namespace(background) reported a namespace")
	}
	if _, err := NamespaceRequired(ctx); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("NamespaceRequired(background) = %v, want InvalidArgument", err)
	}
	ctx = WithNamespace(ctx, "tenant-a")
	if ns, err := NamespaceRequired(ctx); err != nil || ns != "tenant-a" {
		t.Fatalf("NamespaceRequired = %q, %v", ns, err)
	}
	if _, err := NamespaceRequired(WithNamespace(ctx, "bad/ns")); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("NamespaceRequired(bad/ns) = %v, want InvalidArgument", err)
	}
}
