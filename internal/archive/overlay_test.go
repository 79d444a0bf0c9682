package archive

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

var overlayMode = []ApplyOpt{WithWhiteouts(WhiteoutOverlay)}

// TestWhiteoutOverlay applies whiteouts in overlay format to an upperdir,
// checks the 0/0 character devices and the opaque xattr, then mounts the
// upperdir over its lowerdir and checks what the merged view hides.
func TestWhiteoutOverlay(t *testing.T) {
	requireRoot(t)
	lower, upper := newTarget(t), newTarget(t)
	mustApply(t, lower, nil,
		fileEnt("a", "a", 0o644), fileEnt("keep", "keep", 0o644),
		dirEnt("b/", 0o755), fileEnt("b/x", "x", 0o644), fileEnt("b/y", "y", 0o644),
		dirEnt("c/", 0o755), fileEnt("c/old", "old", 0o644), dirEnt("c/olddir/", 0o755),
		dirEnt("d/", 0o755), fileEnt("d/z", "z", 0o644),
	)
	mustApply(t, upper, overlayMode,
		fileEnt(".wh.a", "", 0o644),
		fileEnt("b/.wh.x", "", 0o644), // b is not in the layer: made for the whiteout
		dirEnt("c/", 0o755), fileEnt("c/.wh..wh..opq", "", 0o644), fileEnt("c/new", "new", 0o644),
		fileEnt("mine", "mine", 0o644), fileEnt(".wh.mine", "", 0o644),
		fileEnt(".wh.d", "", 0o644),
		fileEnt(".wh..wh.plnk", "", 0o644),
	)
	for _, name := range []string{"a", "b/x", "mine", "d"} {
		if st := lstat(t, filepath.Join(upper, name)); !isWhiteout(&st) {
			t.Errorf("%s: mode %o rdev %x, want a 0/0 character device", name, st.Mode, st.Rdev)
		}
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(upper, "c"), overlayOpaque, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("c: %s = %q, %v, want y", overlayOpaque, buf[:max(n, 0)], err)
	}

	merged, work := filepath.Join(t.TempDir(), "merged"), filepath.Join(t.TempDir(), "work")
	for _, d := range []string{merged, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("mount overlay: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	for name, want := range map[string][]string{
		".": {"b", "c", "keep"},
		"b": {"y"},
		"c": {"new"},
	} {
		entries, err := os.ReadDir(filepath.Join(merged, name))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, want) {
			t.Errorf("merged %s holds %q, want %q", name, got, want)
		}
	}
}

// pendingLayers makes a lower layer and the entries of a layer over it
// that needs it: hard links to a lower file, and parent directories it
// does not hold.
func pendingLayers(t *testing.T) (lower string, ents []ent) {
	lower = newTarget(t)
	lowerTime := time.Date(2015, 5, 5, 5, 5, 5, 0, time.UTC)
	owned := func(h *tar.Header) { h.Uid, h.Gid, h.ModTime = 1000, 1000, lowerTime }
	mustApply(t, lower, nil,
		dirEnt("c/", 0o711).with(owned).with(func(h *tar.Header) {
			h.PAXRecords = map[string]string{"SCHILY.xattr.user.k": "v"}
		}),
		dirEnt("c/d/", 0o750).with(owned),
		dirEnt("a/", 0o755).with(owned),
		fileEnt("a/file", "lower", 0o751).with(owned),
		symlinkEnt("a/sym", "file").with(owned),
	)
	if os.Geteuid() == 0 {
		// Lower opaque directories stay so below: never copied up.
		if err := unix.Setxattr(filepath.Join(lower, "c"), overlayOpaque, []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
	}
	return lower, []ent{
		fileEnt("c/d/x", "x", 0o644),
		linkEnt("b/link", "a/file"),
		dirEnt("e/", 0o700),
		linkEnt("e/link2", "a/file"),
		linkEnt("e/symlink", "a/sym"),
	}
}

// checkFinished checks an upperdir made from pendingLayers' entries once
// complete.
func checkFinished(t *testing.T, lower, upper string) {
	t.Helper()
	root := os.Geteuid() == 0
	file := lstat(t, filepath.Join(upper, "a/file"))
	if got := readFile(t, filepath.Join(upper, "a/file")); got != "lower" || file.Mode&0o7777 != 0o751 || file.Nlink != 3 {
		t.Errorf("a/file: %q, mode %o, %d links; want lower, 751, 3", got, file.Mode&0o7777, file.Nlink)
	}
	if root && file.Uid != 1000 {
		t.Errorf("a/file: owner %d, want 1000", file.Uid)
	}
	for _, name := range []string{"b/link", "e/link2"} {
		if lstat(t, filepath.Join(upper, name)).Ino != file.Ino {
			t.Errorf("%s: not a link of a/file", name)
		}
	}
	if target, err := os.Readlink(filepath.Join(upper, "e/symlink")); err != nil || target != "file" {
		t.Errorf("e/symlink -> %q, %v; want file", target, err)
	}
	for _, name := range []string{"c", "c/d", "a"} {
		up, low := lstat(t, filepath.Join(upper, name)), lstat(t, filepath.Join(lower, name))
		if up.Mode != low.Mode || up.Mtim != low.Mtim || root && (up.Uid != low.Uid || up.Gid != low.Gid) {
			t.Errorf("%s: mode %o owner %d:%d mtime %v, want those below: %o %d:%d %v",
				name, up.Mode, up.Uid, up.Gid, up.Mtim, low.Mode, low.Uid, low.Gid, low.Mtim)
		}
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(upper, "c"), "user.k", buf); err != nil || string(buf[:n]) != "v" {
		t.Errorf("c: user.k = %q, %v; want v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(upper, "c"), overlayOpaque, buf); err == nil {
		t.Errorf("c: %s copied up from below", overlayOpaque)
	}
	if e := lstat(t, filepath.Join(upper, "e")); e.Mode&0o7777 != 0o700 || e.Mtim != timespec(testTime) {
		t.Errorf("e: mode %o mtime %v, want 700 %v", e.Mode&0o7777, e.Mtim, timespec(testTime))
	}
}

// TestPendingFinish applies a layer in overlay mode before its parent is
// known, then finishes it, and checks the result equals an apply with the
// parent given.
func TestPendingFinish(t *testing.T) {
	lower, ents := pendingLayers(t)
	upper := newTarget(t)
	res := mustApply(t, upper, overlayMode, ents...)
	if !res.Pending() {
		t.Fatalf("Pending() = false, want true")
	}
	if exists(filepath.Join(upper, "b/link")) {
		t.Errorf("b/link made before Finish")
	}
	if err := res.Finish(context.Background(), upper, lower); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if res.Pending() {
		t.Errorf("Pending() = true after Finish")
	}
	checkFinished(t, lower, upper)

	direct := newTarget(t)
	if res := mustApply(t, direct, append(overlayMode, WithParents(lower)), ents...); res.Pending() {
		t.Errorf("Pending() = true after an apply WithParents")
	}
	checkFinished(t, lower, direct)
	a, b := treeState(t, upper, ""), treeState(t, direct, "")
	for p, s := range a {
		s.atime = b[p].atime
		if p == "." || p == "b" {
			// Made now, in both: not in any layer.
			s.mtime = b[p].mtime
		}
		if b[p] != s {
			t.Errorf("%s: finished %+v, applied with parents %+v", p, s, b[p])
		}
	}
	if len(a) != len(b) {
		t.Errorf("finished: %d files, applied with parents: %d", len(a), len(b))
	}
}

// TestFinishHidden checks that a hard link to a file that an upper parent
// layer hides (a whiteout, an opaque directory) is not found.
func TestFinishHidden(t *testing.T) {
	requireRoot(t)
	bottom := newTarget(t)
	mustApply(t, bottom, nil, dirEnt("w/", 0o755), fileEnt("w/file", "x", 0o644), dirEnt("o/", 0o755), fileEnt("o/file", "x", 0o644))
	top := newTarget(t)
	mustApply(t, top, overlayMode, fileEnt("w/.wh.file", "", 0), dirEnt("o/", 0o755), fileEnt("o/.wh..wh..opq", "", 0))
	for _, target := range []string{"w/file", "o/file"} {
		upper := newTarget(t)
		res := mustApply(t, upper, overlayMode, linkEnt("link", target))
		err := res.Finish(context.Background(), upper, top, bottom)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Finish(link to %s, hidden) = %v, want not found", target, err)
		}
	}
}
