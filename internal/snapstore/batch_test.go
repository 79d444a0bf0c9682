package snapstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/daemonless/containerd/snapshot"
)

// TestRemoveBatch: a chain goes at once, children first, with the usage
// each had; a snapshot whose child is not in the batch stays, and so does
// its parent.
func TestRemoveBatch(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	parent := ""
	for _, k := range []string{"a", "b", "c"} {
		sn, err := s.Create(ctx, snapshot.KindActive, k+"-active", parent, nil, mkfs(s))
		must(t, "Create", err)
		must(t, "WriteFile", os.WriteFile(filepath.Join(s.FS(sn.ID), k), make([]byte, 100), 0o644))
		must(t, "Commit", s.Commit(ctx, k, k+"-active"))
		parent = k
	}
	if _, err := s.Create(ctx, snapshot.KindActive, "d", "c", nil, mkfs(s)); err != nil {
		t.Fatal(err)
	}
	got, err := s.RemoveBatch(ctx, []string{"c", "b", "a", "missing"})
	if err != nil || len(got) != 0 {
		t.Fatalf("RemoveBatch under a child = %v, %v; want nothing removed", got, err)
	}
	got, err = s.RemoveBatch(ctx, []string{"d", "c", "b", "a"})
	must(t, "RemoveBatch", err)
	if len(got) != 4 || got["a"].Size <= got["d"].Size || got["c"].Inodes != 2 || got["d"].Inodes != 1 {
		t.Fatalf("RemoveBatch = %v; want 4 snapshots, a file more in each of a, b, c than in d", got)
	}
	if left := entries(t, s); len(left) != 0 {
		t.Fatalf("after RemoveBatch: %q", left)
	}
	if _, err := s.Stat(ctx, "a"); err == nil {
		t.Fatal("a is still recorded")
	}
}
