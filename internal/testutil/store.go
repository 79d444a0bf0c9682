package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// StoreLeftovers walks the content and snapshot directories of the client
// root root and returns what in them is not part of an empty store's
// structure (blobs, ingests, snapshot directories...), relative to root,
// and the total size of the regular files among them. A missing
// directory holds nothing; any other error fails the test.
func StoreLeftovers(t testing.TB, root string) (stray []string, bytes int64) {
	t.Helper()
	for _, top := range []string{"content", "snapshots"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if storeStructure(rel, d) {
				return nil
			}
			stray = append(stray, rel)
			if d.Type().IsRegular() {
				fi, err := d.Info()
				if err != nil {
					return err
				}
				bytes += fi.Size()
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return stray, bytes
}

// storeStructure reports whether rel (relative to the root) belongs to
// the structure of an empty store: the directories content,
// content/blobs, content/blobs/<algorithm>, content/ingest, snapshots,
// snapshots/<name> and snapshots/<name>/snapshots, and in
// snapshots/<name> the files metadata.db (the snapshotter's bbolt
// database), its lock file, and overlay-checked.
func storeStructure(rel string, d fs.DirEntry) bool {
	parts := strings.Split(rel, string(filepath.Separator))
	switch parts[0] {
	case "content":
		switch len(parts) {
		case 1:
			return d.IsDir()
		case 2:
			return d.IsDir() && (parts[1] == "blobs" || parts[1] == "ingest")
		case 3:
			return d.IsDir() && parts[1] == "blobs"
		}
	case "snapshots":
		switch len(parts) {
		case 1, 2:
			return d.IsDir()
		case 3:
			if d.IsDir() {
				return parts[2] == "snapshots"
			}
			return slices.Contains([]string{"metadata.db", "metadata.db.lock", "overlay-checked"}, parts[2])
		}
	}
	return false
}
