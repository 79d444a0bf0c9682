package metadata_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/content/testsuite"
	"github.com/daemonless/containerd/images"
	. "github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/leases"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/native"
)

// openStore opens a database and the content store over it.
func openStore(t *testing.T) (*DB, *ContentStore) {
	t.Helper()
	root := t.TempDir()
	db, err := Open(context.Background(), filepath.Join(root, "meta.db"))
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	backend, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	return db, NewContentStore(db, backend, namespaces.Default)
}

// TestContentSuiteLeased runs the content store's suite under a lease:
// recording in it must change nothing the suite sees.
func TestContentSuiteLeased(t *testing.T) {
	testsuite.Run(t, func(t *testing.T) (context.Context, content.Store) {
		db, cs := openStore(t)
		ctx := namespaces.WithNamespace(context.Background(), "suite")
		if _, err := NewLeaseManager(db, "default").Create(ctx, leases.WithID("suite")); err != nil {
			t.Fatal(err)
		}
		return leases.WithLease(ctx, "suite"), cs
	})
}

// TestLeaseRecords: a writer under a lease is recorded as an ingest, then
// as its blob once committed; a blob the namespace holds already is
// recorded when a writer asks for it; snapshots prepared and committed
// under a lease are recorded by key, then by name; a missing lease fails
// the writer and the snapshot.
func TestLeaseRecords(t *testing.T) {
	db, cs := openStore(t)
	lm := NewLeaseManager(db, "default")
	ctx := context.Background()
	l, err := lm.Create(ctx, leases.WithID("l"))
	if err != nil {
		t.Fatal(err)
	}
	lctx := leases.WithLease(ctx, "l")
	list := func() []leases.Resource {
		t.Helper()
		rs, err := lm.ListResources(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	w, err := cs.Writer(lctx, content.WithRef("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []leases.Resource{{ID: "r1", Type: "ingests"}}) {
		t.Errorf("while writing: %v; want the ingest", got)
	}
	w.Write([]byte("one"))
	if err := w.Commit(ctx, 3, ""); err != nil {
		t.Fatal(err)
	}
	w.Close()
	d1 := digest.FromString("one")
	if got := list(); !slices.Equal(got, []leases.Resource{{ID: d1.String(), Type: "content"}}) {
		t.Errorf("after commit: %v; want the blob in place of the ingest", got)
	}
	// Held already, outside the lease: asking for it records it.
	d2 := digest.FromString("two")
	if err := content.WriteBlob(ctx, cs, "r2", strings.NewReader("two"), ocispec.Descriptor{Digest: d2, Size: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Writer(lctx, content.WithRef("r3"), content.WithDescriptor(ocispec.Descriptor{Digest: d2, Size: 3})); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Writer for a blob held = %v; want AlreadyExists", err)
	}
	if got := list(); len(got) != 2 || !slices.Contains(got, leases.Resource{ID: d2.String(), Type: "content"}) {
		t.Errorf("after asking for a blob held: %v", got)
	}
	if _, err := cs.Writer(leases.WithLease(ctx, "none"), content.WithRef("r4")); !errdefs.IsNotFound(err) {
		t.Errorf("Writer under a missing lease = %v; want NotFound", err)
	}

	nb, err := native.New(filepath.Join(t.TempDir(), "native"))
	if err != nil {
		t.Fatal(err)
	}
	sn := NewSnapshotter(db, "native", nb, "default")
	defer sn.Close()
	if _, err := sn.Prepare(lctx, "active", ""); err != nil {
		t.Fatal(err)
	}
	if got := list(); got[len(got)-1] != (leases.Resource{ID: "active", Type: "snapshots/native"}) {
		t.Errorf("after Prepare: %v", got)
	}
	if err := sn.Commit(lctx, "done", "active"); err != nil {
		t.Fatal(err)
	}
	if got := list(); got[len(got)-1] != (leases.Resource{ID: "done", Type: "snapshots/native"}) || len(got) != 3 {
		t.Errorf("after Commit: %v; want done in place of active", got)
	}
	if _, err := sn.Prepare(leases.WithLease(ctx, "none"), "x", ""); !errdefs.IsNotFound(err) {
		t.Errorf("Prepare under a missing lease = %v; want NotFound", err)
	}
	if _, err := sn.Stat(ctx, "x"); !errdefs.IsNotFound(err) {
		t.Errorf("a snapshot prepared under a missing lease was kept: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(nb.(interface{ Root() string }).Root(), "snapshots")); len(ents) != 1 {
		t.Errorf("backend snapshots: %d; want only done's", len(ents))
	}
}

// TestNamespaceStore: labels, and Delete naming what a namespace holds.
func TestNamespaceStore(t *testing.T) {
	db, cs := openStore(t)
	ns := NewNamespaceStore(db)
	ctx := context.Background()
	if err := ns.Create(ctx, "a", map[string]string{"k": "v", "empty": ""}); err != nil {
		t.Fatal(err)
	}
	if l, err := ns.Labels(ctx, "a"); err != nil || len(l) != 1 || l["k"] != "v" {
		t.Errorf("Labels = %v, %v", l, err)
	}
	if err := ns.Create(ctx, "b/c", nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Create(b/c) = %v; want InvalidArgument", err)
	}
	actx := namespaces.WithNamespace(ctx, "a")
	if err := content.WriteBlob(actx, cs, "r", bytes.NewReader([]byte("x")), ocispec.Descriptor{Digest: digest.FromString("x"), Size: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewImageStore(db, "default").Create(actx, images.Image{Name: "example.com/a:v1",
		Target: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"l1", "l2"} {
		if _, err := NewLeaseManager(db, "default").Create(actx, leases.WithID(id)); err != nil {
			t.Fatal(err)
		}
	}
	nb, err := native.New(filepath.Join(t.TempDir(), "native"))
	if err != nil {
		t.Fatal(err)
	}
	sn := NewSnapshotter(db, "native", nb, "default")
	defer sn.Close()
	if _, err := sn.Prepare(actx, "s", "", snapshot.WithLabels(nil)); err != nil {
		t.Fatal(err)
	}
	err = ns.Delete(ctx, "a")
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "it holds 1 image, 2 leases, 1 content record, 1 snapshot in native") {
		t.Fatalf("Delete = %v", err)
	}
	if names, err := ns.List(ctx); err != nil || !slices.Equal(names, []string{"a"}) {
		t.Errorf("List = %v, %v", names, err)
	}
}
