package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRun runs the example against a fresh root, twice: the second run
// finds every blob already stored and still succeeds.
func TestRun(t *testing.T) {
	root := t.TempDir()
	for range 2 {
		if err := run(context.Background(), root); err != nil {
			t.Fatalf("run = %v", err)
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(root, "content", "blobs", "sha256"))
	if len(blobs) != 3 {
		t.Fatalf("%d blobs on disk, want 3", len(blobs))
	}
}
