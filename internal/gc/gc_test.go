package gc_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/gc"
	"github.com/daemonless/containerd/internal/metadata"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/native"
)

// store is a metadata database with its content store and a native
// snapshotter called "native".
type store struct {
	db      *metadata.DB
	backend *local.Store
	cs      *metadata.ContentStore
	sn      *metadata.Snapshotter
	images  *metadata.ImageStore
	b       gc.Backends
}

func newStore(t *testing.T) *store {
	t.Helper()
	root := t.TempDir()
	ctx := context.Background()
	db, err := metadata.Open(ctx, filepath.Join(root, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	backend, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	nb, err := native.New(filepath.Join(root, "native"))
	if err != nil {
		t.Fatal(err)
	}
	sn := metadata.NewSnapshotter(db, "native", nb, namespaces.Default)
	t.Cleanup(func() { sn.Close() })
	s := &store{db: db, backend: backend, cs: metadata.NewContentStore(db, backend, namespaces.Default), sn: sn,
		images: metadata.NewImageStore(db, namespaces.Default)}
	s.b = gc.Backends{Content: backend, Snapshotter: func(name string) (snapshot.Snapshotter, error) {
		if name != "native" {
			return nil, errdefs.ErrNotFound
		}
		return nb, nil
	}}
	return s
}

func (s *store) put(t *testing.T, ctx context.Context, data string, labels map[string]string) digest.Digest {
	t.Helper()
	desc := ocispec.Descriptor{Digest: digest.FromString(data), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, s.cs, "w-"+desc.Digest.Encoded(), bytes.NewReader([]byte(data)), desc, content.WithLabels(labels)); err != nil {
		t.Fatal(err)
	}
	return desc.Digest
}

func (s *store) snap(t *testing.T, ctx context.Context, name, parent string, labels map[string]string) {
	t.Helper()
	if _, err := s.sn.Prepare(ctx, name+"-a", parent); err != nil {
		t.Fatal(err)
	}
	if err := s.sn.Commit(ctx, name, name+"-a", snapshot.WithLabels(labels)); err != nil {
		t.Fatal(err)
	}
}

func (s *store) collect(t *testing.T, dry bool) gc.Result {
	t.Helper()
	res, err := gc.Collect(context.Background(), s.db, s.b, gc.Options{DryRun: dry})
	if err != nil {
		t.Fatalf("Collect = %v", err)
	}
	return res
}

func (s *store) has(ctx context.Context, d digest.Digest) bool {
	_, err := s.cs.Info(ctx, d)
	return err == nil
}

func (s *store) hasSnap(ctx context.Context, key string) bool {
	_, err := s.sn.Stat(ctx, key)
	return err == nil
}

// TestReferenceLabels: which label keys count as references, a root
// snapshot keeps its parents, and a dry run removes nothing.
func TestReferenceLabels(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	kept := s.put(t, ctx, "kept by ref.content", nil)
	keptDot := s.put(t, ctx, "kept by ref.content.x", nil)
	keptSlash := s.put(t, ctx, "kept by ref.content/x", nil)
	notRef := s.put(t, ctx, "named by ref.contentx, no reference", nil)
	s.snap(t, ctx, "base", "", nil)
	s.snap(t, ctx, "top", "base", nil)
	s.snap(t, ctx, "other", "", nil)
	s.snap(t, ctx, "loose", "", nil)
	root := s.put(t, ctx, "root", map[string]string{
		gc.LabelRoot:                               "",
		gc.LabelRefContent:                         kept.String(),
		gc.LabelRefContent + ".x":                  keptDot.String(),
		gc.LabelRefContent + "/x":                  keptSlash.String(),
		gc.LabelRefContent + "x":                   notRef.String(),
		gc.LabelRefSnapshotPrefix + "native":       "top",
		gc.LabelRefSnapshotPrefix + "native/extra": "other",
	})
	dry := s.collect(t, true)
	if dry.ContentRemoved != 1 || dry.SnapshotsRemoved != 1 {
		t.Fatalf("dry run = %+v; want 1 blob, 1 snapshot", dry)
	}
	if !s.has(ctx, notRef) || !s.hasSnap(ctx, "loose") {
		t.Fatal("the dry run removed something")
	}
	res := s.collect(t, false)
	if res.ContentRemoved != 1 || res.SnapshotsRemoved != 1 || res.BytesFreed < int64(len("named by ref.contentx, no reference")) {
		t.Errorf("Collect = %+v; want 1 blob, 1 snapshot", res)
	}
	for d, want := range map[digest.Digest]bool{root: true, kept: true, keptDot: true, keptSlash: true, notRef: false} {
		if got := s.has(ctx, d); got != want {
			t.Errorf("blob %s kept = %v, want %v", d, got, want)
		}
	}
	for key, want := range map[string]bool{"base": true, "top": true, "other": true, "loose": false} {
		if got := s.hasSnap(ctx, key); got != want {
			t.Errorf("snapshot %s kept = %v, want %v", key, got, want)
		}
	}
}

// TestNamespacesShareData: a record unreferenced in one namespace goes;
// its blob stays on disk while another namespace's record keeps it, and
// goes with the last one. A blob on disk with no record at all goes.
func TestNamespacesShareData(t *testing.T) {
	s := newStore(t)
	one := namespaces.WithNamespace(context.Background(), "one")
	two := namespaces.WithNamespace(context.Background(), "two")
	d := s.put(t, one, "shared", nil)
	s.put(t, two, "shared", map[string]string{gc.LabelRoot: "x"})
	orphan := ocispec.Descriptor{Digest: digest.FromString("orphan"), Size: 6}
	// Written to the backend directly: no namespace records it.
	if err := content.WriteBlob(context.Background(), s.backend, "orphan", bytes.NewReader([]byte("orphan")), orphan); err != nil {
		t.Fatal(err)
	}
	res := s.collect(t, false)
	if len(res.Removed) != 2 || res.ContentRemoved != 1 || res.BytesFreed != 6 {
		t.Fatalf("Collect = %+v; want one's record (data kept) and the orphan", res)
	}
	if s.has(one, d) || !s.has(two, d) {
		t.Fatal("want the blob gone from one, kept in two")
	}
	if _, err := s.backend.Info(context.Background(), orphan.Digest); !errdefs.IsNotFound(err) {
		t.Errorf("orphan blob: Info = %v; want NotFound", err)
	}
	if _, err := s.cs.Update(two, content.Info{Digest: d}, "labels."+gc.LabelRoot); err != nil {
		t.Fatal(err)
	}
	res = s.collect(t, false)
	if res.ContentRemoved != 1 || res.BytesFreed != 6 {
		t.Errorf("Collect after two lets go = %+v", res)
	}
	if _, err := s.backend.Info(context.Background(), d); !errdefs.IsNotFound(err) {
		t.Errorf("blob of no namespace: Info = %v; want NotFound", err)
	}
}

// TestUnreadableManifest: an image whose target cannot be read keeps the
// target and the collection goes on.
func TestUnreadableManifest(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	d := s.put(t, ctx, "not json", nil)
	if _, err := s.images.Create(ctx, images.Image{Name: "example.com/x:v1", Target: ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: 8}}); err != nil {
		t.Fatal(err)
	}
	if res := s.collect(t, false); len(res.Removed) != 0 || !s.has(ctx, d) {
		t.Errorf("Collect = %+v", res)
	}
}

// TestUnknownSnapshotter: records of a snapshotter the collector cannot
// open are kept, and the error says so.
func TestUnknownSnapshotter(t *testing.T) {
	s := newStore(t)
	s.snap(t, context.Background(), "loose", "", nil)
	s.b.Snapshotter = func(string) (snapshot.Snapshotter, error) { return nil, errors.New("no such snapshotter") }
	res, err := gc.Collect(context.Background(), s.db, s.b, gc.Options{})
	if err == nil || res.SnapshotsRemoved != 0 || !s.hasSnap(context.Background(), "loose") {
		t.Errorf("Collect = %+v, %v; want the snapshot kept and an error", res, err)
	}

}
