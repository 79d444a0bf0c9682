package testutil

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Settle waits until the filesystem holding dir has written back and
// committed everything (syncfs), so that a benchmark iteration's cleanup
// — a large delete is a discard on an ext4 mounted with it — is not
// billed to the next iteration.
func Settle(tb testing.TB, dir string) {
	tb.Helper()
	f, err := os.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		tb.Fatalf("syncfs %s: %v", dir, err)
	}
}
