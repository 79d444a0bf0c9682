package metadata_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/internal/metadata"

	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/native"
	"github.com/daemonless/containerd/snapshot/overlay"
	"github.com/daemonless/containerd/snapshot/testsuite"
)

// newNamespaced opens a namespaced snapshotter over overlay (native when
// not root) at root.
func newNamespaced(t *testing.T, root string) snapshot.Snapshotter {
	return newNamespacedGrace(t, root, metadata.DefaultCleanupGrace)
}

func newNamespacedGrace(t *testing.T, root string, grace time.Duration) snapshot.Snapshotter {
	t.Helper()
	db, err := metadata.Open(context.Background(), filepath.Join(root, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var backend snapshot.Snapshotter
	if os.Geteuid() == 0 {
		backend, err = overlay.New(filepath.Join(root, "overlay"))
	} else {
		backend, err = native.New(filepath.Join(root, "native"))
	}
	if err != nil {
		t.Fatal(err)
	}
	return metadata.NewSnapshotter(db, "test", backend, "default", metadata.WithCleanupGrace(grace))
}

func TestSnapshotterConformance(t *testing.T) {
	testsuite.Run(t, newNamespaced)
}

func TestSnapshotterNamespaces(t *testing.T) {
	sn := newNamespaced(t, t.TempDir())
	defer sn.Close()
	a := namespaces.WithNamespace(context.Background(), "a")
	b := namespaces.WithNamespace(context.Background(), "b")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s = %v", what, err)
		}
	}
	_, err := sn.Prepare(a, "k", "")
	must("Prepare(a, k)", err)
	must("Commit(a, base)", sn.Commit(a, "base", "k"))
	if _, err := sn.Stat(b, "base"); !errdefs.IsNotFound(err) {
		t.Fatalf("Stat in b of a's snapshot = %v, want NotFound", err)
	}
	// The same key in b is b's own.
	_, err = sn.Prepare(b, "k", "")
	must("Prepare(b, k)", err)
	must("Remove(b, k)", sn.Remove(b, "k"))

	// Asking for a's committed snapshot by its name shares it.
	ref := snapshot.WithLabels(map[string]string{snapshot.LabelSnapshotRef: "base", "x": "y"})
	if _, err := sn.Prepare(b, "extract", "", ref); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Prepare(b) with the ref label of a's snapshot = %v, want AlreadyExists", err)
	}
	info, err := sn.Stat(b, "base")
	if err != nil || info.Kind != snapshot.KindCommitted || info.Labels["x"] != "y" || info.Labels[snapshot.LabelSnapshotRef] != "" {
		t.Fatalf("Stat(b, base) = %+v, %v", info, err)
	}
	if _, err := sn.Stat(b, "extract"); !errdefs.IsNotFound(err) {
		t.Fatalf("the sharing Prepare left its key: %v", err)
	}
	backend := sn.(*metadata.Snapshotter).Backend()
	count := func() int {
		n := 0
		backend.Walk(context.Background(), func(context.Context, snapshot.Info) error { n++; return nil })
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("backend holds %d snapshots, want 1 shared", n)
	}
	// Removing it in a keeps it for b; removing it in b too frees it.
	must("Remove(a, base)", sn.Remove(a, "base"))
	if _, err := sn.Stat(b, "base"); err != nil {
		t.Fatalf("Stat(b, base) after a removed it = %v", err)
	}
	if n := count(); n != 1 {
		t.Fatalf("backend holds %d snapshots after a's Remove, want 1", n)
	}
	must("Remove(b, base)", sn.Remove(b, "base"))
	if n := count(); n != 0 {
		t.Fatalf("backend holds %d snapshots after both removed it, want 0", n)
	}
}

func TestSnapshotterCleanupOrphans(t *testing.T) {
	sn := newNamespacedGrace(t, t.TempDir(), 0)
	defer sn.Close()
	ctx := context.Background()
	backend := sn.(*metadata.Snapshotter).Backend()
	// A backend snapshot no namespace records: what a crash between the
	// two leaves.
	if _, err := backend.Prepare(ctx, "default/99/orphan", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Prepare(ctx, "kept", ""); err != nil {
		t.Fatal(err)
	}
	if err := sn.(snapshot.Cleaner).Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup = %v", err)
	}
	if _, err := backend.Stat(ctx, "default/99/orphan"); !errdefs.IsNotFound(err) {
		t.Fatalf("orphan after Cleanup: %v", err)
	}
	if _, err := sn.Mounts(ctx, "kept"); err != nil {
		t.Fatalf("Mounts(kept) after Cleanup = %v", err)
	}
}

func TestSnapshotterCleanupGrace(t *testing.T) {
	sn := newNamespacedGrace(t, t.TempDir(), time.Hour)
	defer sn.Close()
	ctx := context.Background()
	backend := sn.(*metadata.Snapshotter).Backend()
	// A backend snapshot made a moment ago may be one a Prepare is about
	// to record.
	if _, err := backend.Prepare(ctx, "default/in-flight/k", ""); err != nil {
		t.Fatal(err)
	}
	if err := sn.(snapshot.Cleaner).Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup = %v", err)
	}
	if _, err := backend.Stat(ctx, "default/in-flight/k"); err != nil {
		t.Fatalf("Cleanup removed a snapshot younger than its grace: %v", err)
	}
}
