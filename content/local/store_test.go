package local

import (
	"context"
	"testing"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/testsuite"
)

func TestStoreSuite(t *testing.T) {
	testsuite.Run(t, func(t *testing.T) (context.Context, content.Store) {
		s, err := NewStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return context.Background(), s
	}, testsuite.WithoutLabels())
}
