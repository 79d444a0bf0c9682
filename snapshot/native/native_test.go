package native

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/testsuite"
)

func newTest(t *testing.T, root string) snapshot.Snapshotter {
	t.Helper()
	sn, err := New(root)
	if err != nil {
		t.Fatalf("New(%s) = %v", root, err)
	}
	t.Cleanup(func() { sn.Close() })
	return sn
}

func TestSnapshotter(t *testing.T) {
	testsuite.Run(t, newTest, testsuite.WithLeftovers("snapshots/999999", "snapshots/rm-7", "snapshots/tmp-123"))
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v", what, err)
	}
}

// TestCopyKeepsMetadata writes a parent with hard links, extended
// attributes, a setuid file and (as root) a device node and another
// owner, and checks a child's copy of it. The trees are read in the
// directories the bind mounts name.
func TestCopyKeepsMetadata(t *testing.T) {
	ctx := context.Background()
	sn := newTest(t, t.TempDir())
	if _, ok := sn.(snapshot.Rebaser); ok {
		t.Error("native claims to be a Rebaser")
	}
	mounts, err := sn.Prepare(ctx, "base", "")
	must(t, "Prepare", err)
	dir := mounts[0].Source
	root := os.Geteuid() == 0
	must(t, "WriteFile", os.WriteFile(filepath.Join(dir, "su"), []byte("x"), 0o755))
	must(t, "Link", os.Link(filepath.Join(dir, "su"), filepath.Join(dir, "su2")))
	must(t, "Setxattr", unix.Setxattr(filepath.Join(dir, "su"), "user.k", []byte("v"), 0))
	if root {
		must(t, "Chown", os.Chown(filepath.Join(dir, "su"), 123, 456))
		must(t, "Mknod", unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	}
	must(t, "Chmod", unix.Chmod(filepath.Join(dir, "su"), 0o4755))
	must(t, "Commit", sn.Commit(ctx, "base-c", "base"))

	mounts, err = sn.Prepare(ctx, "child", "base-c")
	must(t, "Prepare", err)
	child := mounts[0].Source
	if child == dir {
		t.Fatal("child shares the parent's directory")
	}
	var a, b unix.Stat_t
	must(t, "Lstat", unix.Lstat(filepath.Join(child, "su"), &a))
	must(t, "Lstat", unix.Lstat(filepath.Join(child, "su2"), &b))
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link not kept: inodes %d and %d, %d links", a.Ino, b.Ino, a.Nlink)
	}
	if a.Mode&0o7777 != 0o4755 {
		t.Errorf("mode %o, want 4755", a.Mode&0o7777)
	}
	v := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(child, "su"), "user.k", v); err != nil || string(v[:n]) != "v" {
		t.Errorf("xattr user.k = %q, %v", v[:max(n, 0)], err)
	}
	if root {
		var d unix.Stat_t
		must(t, "Lstat", unix.Lstat(filepath.Join(child, "null"), &d))
		if a.Uid != 123 || a.Gid != 456 || d.Mode&unix.S_IFMT != unix.S_IFCHR || d.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("owner %d:%d, device mode %o rdev %d; want 123:456 and char 1:3", a.Uid, a.Gid, d.Mode, d.Rdev)
		}
	}
	// The copy is the child's own.
	must(t, "WriteFile", os.WriteFile(filepath.Join(child, "su"), []byte("changed"), 0o755))
	if got, _ := os.ReadFile(filepath.Join(dir, "su")); string(got) != "x" {
		t.Errorf("writing the child changed the parent: %q", got)
	}
}
