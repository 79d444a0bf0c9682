package metadata

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/content/testsuite"
	"github.com/daemonless/containerd/namespaces"
)

func newStore(t *testing.T) (*ContentStore, *local.Store) {
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
	return NewContentStore(db, backend, namespaces.Default), backend
}

func TestContentSuite(t *testing.T) {
	testsuite.Run(t, func(t *testing.T) (context.Context, content.Store) {
		cs, _ := newStore(t)
		return namespaces.WithNamespace(context.Background(), "suite"), cs
	})
}

func TestContentNamespaces(t *testing.T) {
	cs, backend := newStore(t)
	a := namespaces.WithNamespace(context.Background(), "a")
	b := namespaces.WithNamespace(context.Background(), "b")
	data, desc := testsuite.Blob(t, 1000)
	if err := content.WriteBlob(a, cs, "x", bytes.NewReader(data), desc, content.WithLabels(map[string]string{"in": "a"})); err != nil {
		t.Fatalf("WriteBlob(a) = %v", err)
	}
	if _, err := cs.Info(b, desc.Digest); !errdefs.IsNotFound(err) {
		t.Fatalf("Info in b of a's blob = %v, want NotFound", err)
	}
	if _, err := cs.ReaderAt(b, desc); !errdefs.IsNotFound(err) {
		t.Fatalf("ReaderAt in b of a's blob = %v, want NotFound", err)
	}
	n := 0
	cs.Walk(b, func(content.Info) error { n++; return nil })
	if n != 0 {
		t.Fatalf("Walk in b listed %d blobs of a", n)
	}
	// The same ref in b is another ingest.
	w, err := cs.Writer(a, content.WithRef("same-ref"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w2, err := cs.Writer(b, content.WithRef("same-ref"))
	if err != nil {
		t.Fatalf("Writer(b, same-ref) while a holds it = %v", err)
	}
	w2.Close()

	// b proves it has the blob by writing it; then both see it, stored once.
	if err := content.WriteBlob(b, cs, "y", bytes.NewReader(data), desc); err != nil {
		t.Fatalf("WriteBlob(b) = %v", err)
	}
	ib, err := cs.Info(b, desc.Digest)
	if err != nil || len(ib.Labels) != 0 {
		t.Fatalf("Info(b) = %+v, %v; want the blob without a's labels", ib, err)
	}
	pa, _ := cs.BlobPath(a, desc.Digest)
	pb, _ := cs.BlobPath(b, desc.Digest)
	var sa, sb unix.Stat_t
	unix.Stat(pa, &sa)
	unix.Stat(pb, &sb)
	if pa != pb || sa.Ino != sb.Ino || sa.Nlink != 1 {
		t.Fatalf("blob stored as %s (ino %d, %d links) and %s (ino %d): want one file", pa, sa.Ino, sa.Nlink, pb, sb.Ino)
	}
	// Deleting in a keeps the file for b; deleting in b removes it.
	if err := cs.Delete(a, desc.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Info(context.Background(), desc.Digest); err != nil {
		t.Fatalf("blob gone from disk while b holds it: %v", err)
	}
	if err := cs.Delete(b, desc.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pb); !os.IsNotExist(err) {
		t.Fatalf("blob still on disk after its last namespace deleted it: %v", err)
	}
	// A status listing shows only the namespace's own ingests, by their own refs.
	sts, err := cs.ListStatuses(a)
	if err != nil || len(sts) != 1 || sts[0].Ref != "same-ref" {
		t.Fatalf("ListStatuses(a) = %+v, %v", sts, err)
	}
	if _, err := cs.Info(namespaces.WithNamespace(context.Background(), "../x"), desc.Digest); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Info in namespace ../x = %v, want InvalidArgument", err)
	}
}

func TestContentDefaultNamespace(t *testing.T) {
	cs, _ := newStore(t)
	data, desc := testsuite.Blob(t, 10)
	if err := content.WriteBlob(context.Background(), cs, "d", bytes.NewReader(data), desc); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Info(namespaces.WithNamespace(context.Background(), namespaces.Default), desc.Digest); err != nil {
		t.Fatalf("blob written without a namespace is not in %q: %v", namespaces.Default, err)
	}
}
