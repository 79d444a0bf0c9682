package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
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

// mountOverlay mounts upper over lowers, topmost first, and returns the
// mount point, unmounted when the test ends. It skips the test when
// overlay cannot be mounted here.
func mountOverlay(t *testing.T, upper string, lowers ...string) string {
	t.Helper()
	merged, work := filepath.Join(t.TempDir(), "merged"), filepath.Join(t.TempDir(), "work")
	for _, d := range []string{merged, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged
}

// treeOf lists what dir holds, by path: type, mode, owner, link count and
// content of files, symlink targets; not times.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	for p, s := range treeState(t, dir, "") {
		desc := fmt.Sprintf("mode %o owner %d:%d", uint32(s.mode), s.uid, s.gid)
		switch uint32(s.mode) & unix.S_IFMT {
		case unix.S_IFREG:
			desc += fmt.Sprintf(" nlink %d sha256 %x", s.nlink, s.content[:6])
		case unix.S_IFLNK:
			desc += " -> " + s.link
		}
		tree[p] = desc
	}
	return tree
}

// compareTrees fails the test where got and want differ.
func compareTrees(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, p := range sortedKeys(want) {
		if g, ok := got[p]; !ok {
			t.Errorf("missing %s (want %s)", p, want[p])
		} else if g != want[p] {
			t.Errorf("%s: %s, want %s", p, g, want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("extra %s (%s)", p, got[p])
		}
	}
}

// applyOver applies ents in overlay mode to a new upperdir over lowers,
// with WithParents, or without and then finished, and returns the upperdir.
func applyOver(t *testing.T, finish bool, lowers []string, ents ...ent) string {
	t.Helper()
	upper := newTarget(t)
	if !finish {
		if res := mustApply(t, upper, append(overlayMode, WithParents(lowers...)), ents...); res.Pending() {
			t.Errorf("Pending() = true after an apply WithParents")
		}
		return upper
	}
	res := mustApply(t, upper, overlayMode, ents...)
	if err := res.Finish(context.Background(), upper, lowers...); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if res.Pending() {
		t.Errorf("Pending() = true after Finish")
	}
	return upper
}

// usrmergeLower holds directories that are symlinks, as in a distribution
// with merged /usr, and a symlink escaping the root.
var usrmergeLower = []ent{
	dirEnt("usr/", 0o755),
	dirEnt("usr/lib/", 0o750).with(func(h *tar.Header) { h.Uid, h.Gid, h.ModTime = 1000, 1000, time.Date(2015, 5, 5, 5, 5, 5, 0, time.UTC) }),
	fileEnt("usr/lib/libc", "libc", 0o644),
	fileEnt("usr/lib/libm", "libm", 0o644),
	dirEnt("usr/lib/sub/", 0o755),
	fileEnt("usr/lib/sub/old", "old", 0o644),
	symlinkEnt("lib", "usr/lib"),
	symlinkEnt("lib64", "/usr/lib"),
	symlinkEnt("a", "b"),
	symlinkEnt("b", "usr/lib"),
	dirEnt("outside/", 0o755),
	symlinkEnt("esc", "../../../outside"),
}

// TestOverlaySymlinkedParents applies a layer that writes through
// symlinked directories of the layer below without holding them, in
// overlay mode, with its parent given and finished later, and checks the
// entries land where the symlinks lead, the symlinks stay in a mount, and
// the mount shows what applying both layers to one directory gives.
func TestOverlaySymlinkedParents(t *testing.T) {
	requireRoot(t)
	lower := newTarget(t)
	mustApply(t, lower, nil, usrmergeLower...)
	ents := []ent{
		fileEnt("lib/x", "x", 0o644),
		fileEnt("lib64/y", "y", 0o644),
		fileEnt("a/z", "z", 0o644),
		fileEnt("esc/w", "w", 0o644),
		fileEnt("usr/lib/direct", "direct", 0o644),
		fileEnt("lib/.wh.libc", "", 0),
		fileEnt("lib/sub/.wh..wh..opq", "", 0),
		fileEnt("lib/sub/deep", "deep", 0o644),
		linkEnt("h", "lib/x"),
		linkEnt("h2", "lib/libm"),
	}
	plain := newTarget(t)
	mustApply(t, plain, nil, usrmergeLower...)
	mustApply(t, plain, nil, ents...)
	want := treeOf(t, plain)

	if res := mustApply(t, newTarget(t), overlayMode, ents...); !res.Pending() {
		t.Errorf("Pending() = false without parents, want true")
	}
	var uppers []map[string]string
	for _, finish := range []bool{false, true} {
		t.Run(fmt.Sprintf("finish=%v", finish), func(t *testing.T) {
			upper := applyOver(t, finish, []string{lower}, ents...)
			uppers = append(uppers, treeOf(t, upper))
			for name, body := range map[string]string{"usr/lib/x": "x", "usr/lib/y": "y", "usr/lib/z": "z", "outside/w": "w", "usr/lib/sub/deep": "deep", "usr/lib/libm": "libm"} {
				if got, err := os.ReadFile(filepath.Join(upper, name)); err != nil || string(got) != body {
					t.Errorf("upper %s = %q, %v; want %q", name, got, err, body)
				}
			}
			for _, name := range []string{"lib", "lib64", "a", "b", "esc", settleTemp} {
				if exists(filepath.Join(upper, name)) {
					t.Errorf("upper holds %s", name)
				}
			}
			for link, target := range map[string]string{"h": "usr/lib/x", "h2": "usr/lib/libm"} {
				if lstat(t, filepath.Join(upper, link)).Ino != lstat(t, filepath.Join(upper, target)).Ino {
					t.Errorf("upper %s: not a link of %s", link, target)
				}
			}
			if st := lstat(t, filepath.Join(upper, "usr/lib/libc")); !isWhiteout(&st) {
				t.Errorf("upper usr/lib/libc: mode %o, want a whiteout", st.Mode)
			}
			if !isOpaqueDir(filepath.Join(upper, "usr/lib/sub")) {
				t.Errorf("upper usr/lib/sub: not opaque")
			}
			low, up := lstat(t, filepath.Join(lower, "usr/lib")), lstat(t, filepath.Join(upper, "usr/lib"))
			if up.Mode != low.Mode || up.Uid != low.Uid || up.Mtim != low.Mtim {
				t.Errorf("upper usr/lib: mode %o owner %d mtime %v, want those below: %o %d %v", up.Mode, up.Uid, up.Mtim, low.Mode, low.Uid, low.Mtim)
			}

			merged := mountOverlay(t, upper, lower)
			if target, err := os.Readlink(filepath.Join(merged, "lib")); err != nil || target != "usr/lib" {
				t.Errorf("merged lib -> %q, %v; want usr/lib", target, err)
			}
			if got := readFile(t, filepath.Join(merged, "lib/x")); got != "x" {
				t.Errorf("merged lib/x = %q, want x", got)
			}
			compareTrees(t, treeOf(t, merged), want)
		})
	}
	if len(uppers) == 2 {
		compareTrees(t, uppers[1], uppers[0]) // finished, applied with parents
	}
}

func isOpaqueDir(p string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, overlayOpaque, buf)
	return err == nil && string(buf[:n]) == "y"
}

// TestOverlayMatchesPlain applies layers over symlinks below in overlay
// mode, with the parent given and finished later, and checks that a mount
// shows what applying them in turn to one directory gives.
func TestOverlayMatchesPlain(t *testing.T) {
	requireRoot(t)
	isDir := func(name string, mode uint32) func(t *testing.T, upper string) {
		return func(t *testing.T, upper string) {
			if st := lstat(t, filepath.Join(upper, name)); st.Mode != unix.S_IFDIR|mode {
				t.Errorf("upper %s: mode %o, want a %o directory", name, st.Mode, mode)
			}
		}
	}
	for _, c := range []struct {
		name        string
		lowers      [][]ent // bottom first
		ents        []ent
		withParents bool // only WithParents: the layer's order matters
		check       func(t *testing.T, upper string)
	}{{
		name:   "directory entry over a symlink",
		lowers: [][]ent{usrmergeLower},
		ents:   []ent{dirEnt("lib/", 0o700), fileEnt("lib/x", "x", 0o644)},
		check:  isDir("lib", 0o700),
	}, {
		name:        "directory entry after an entry through the symlink",
		lowers:      [][]ent{usrmergeLower},
		ents:        []ent{fileEnt("lib/x", "x", 0o644), dirEnt("lib/", 0o700), fileEnt("lib/y", "y", 0o644)},
		withParents: true,
		check:       isDir("lib", 0o700),
	}, {
		name:   "entries through the symlink over the layer's own",
		lowers: [][]ent{usrmergeLower},
		ents: []ent{
			fileEnt("usr/lib/sub/g", "g", 0o644), fileEnt("usr/lib/c", "A", 0o644),
			dirEnt("lib/sub/", 0o700).with(func(h *tar.Header) { h.Uid = 1234 }), fileEnt("lib/sub/f", "f", 0o644),
			fileEnt("lib/c", "B", 0o600),
		},
		check: isDir("usr/lib/sub", 0o700),
	}, {
		name:   "directory entry through the symlink over a made-up one settled first",
		lowers: [][]ent{usrmergeLower, {symlinkEnt("z", "usr/lib")}},
		ents: []ent{
			fileEnt("usr/lib/sub/g", "g", 0o644),
			dirEnt("z/sub/", 0o700).with(func(h *tar.Header) { h.Uid = 1234 }), fileEnt("z/sub/f", "f", 0o644),
		},
		check: isDir("usr/lib/sub", 0o700),
	}, {
		name:   "symlink to a parent",
		lowers: [][]ent{{dirEnt("a/", 0o755), symlinkEnt("a/b", "..")}},
		ents:   []ent{fileEnt("a/b/a/b/x", "x", 0o644), fileEnt("a/b/y", "y", 0o644)},
	}, {
		name:   "symlink to the root",
		lowers: [][]ent{{symlinkEnt("r", ".")}},
		ents:   []ent{fileEnt("r/f", "f", 0o644), fileEnt("r/r/g", "g", 0o644), fileEnt("r/d/h", "h", 0o644)},
	}, {
		name:   "symlink under a symlink",
		lowers: [][]ent{usrmergeLower, {dirEnt("usr/share/", 0o711), symlinkEnt("usr/lib/s", "../share")}},
		ents:   []ent{fileEnt("lib/s/f", "f", 0o644), fileEnt("lib/s/d/g", "g", 0o644)},
	}, {
		name:   "symlink of the layer to a directory below",
		lowers: [][]ent{usrmergeLower},
		ents:   []ent{symlinkEnt("l", "usr/lib"), fileEnt("l/f", "f", 0o644), fileEnt("l/sub/g", "g", 0o644)},
	}, {
		name:   "opaque directory over a symlink",
		lowers: [][]ent{{dirEnt("usr/lib/", 0o755), dirEnt("d/", 0o755), symlinkEnt("d/lib", "/usr/lib")}},
		ents:   []ent{dirEnt("d/", 0o755), fileEnt("d/.wh..wh..opq", "", 0), fileEnt("d/lib/x", "x", 0o644)},
		check:  isDir("d/lib", 0o755),
	}, {
		name:   "symlink whited out above",
		lowers: [][]ent{usrmergeLower, {fileEnt(".wh.lib", "", 0)}},
		ents:   []ent{fileEnt("lib/x", "x", 0o644)},
		check:  isDir("lib", 0o755),
	}, {
		name:   "symlink replaced above",
		lowers: [][]ent{usrmergeLower, {symlinkEnt("lib", "usr/lib/sub"), fileEnt("usr/lib/sub/.wh..wh..opq", "", 0)}},
		ents:   []ent{fileEnt("lib/x", "x", 0o644), fileEnt("lib/old", "new", 0o644)},
	}} {
		t.Run(c.name, func(t *testing.T) {
			var lowers []string // topmost first
			plain := newTarget(t)
			for i, l := range c.lowers {
				dir, opts := newTarget(t), []ApplyOpt(nil)
				if i > 0 {
					opts = append(overlayMode, WithParents(lowers...))
				}
				mustApply(t, dir, opts, l...)
				mustApply(t, plain, nil, l...)
				lowers = append([]string{dir}, lowers...)
			}
			mustApply(t, plain, nil, c.ents...)
			want := treeOf(t, plain)
			for _, finish := range []bool{false, true} {
				if finish && c.withParents {
					continue
				}
				upper := applyOver(t, finish, lowers, c.ents...)
				if c.check != nil {
					c.check(t, upper)
				}
				compareTrees(t, treeOf(t, mountOverlay(t, upper, lowers...)), want)
			}
		})
	}
}

// TestOverlaySymlinkLoop checks that an entry under a symlink loop below
// fails, naming it, in both overlay modes, and that nothing outside the
// target changed.
func TestOverlaySymlinkLoop(t *testing.T) {
	for _, finish := range []bool{false, true} {
		sb := newSandbox(t)
		lower := filepath.Join(sb.base, "lower")
		mustApply(t, sb.base, nil, dirEnt("lower/", 0o755), symlinkEnt("lower/l1", "l2"), symlinkEnt("lower/l2", "l1"))
		sb.state(t) // sets the access times of the new files
		sb.before = sb.state(t)
		opts := append(overlayMode, WithParents(lower))
		if finish {
			opts = overlayMode
		}
		res, err := applyEnts(t, sb.root, opts, fileEnt("l1/x", "x", 0o644))
		if finish && err == nil {
			err = res.Finish(context.Background(), sb.root, lower)
		}
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `layer entry "l1/x"`) || !errors.Is(err, unix.ELOOP) {
			t.Errorf("finish=%v: applying l1/x over a loop = %v, want ELOOP naming the entry", finish, err)
		}
		sb.check(t)
	}
}

// TestOverlaySymlinkedParentsOutside checks that symlinks below leading
// outside the root, or nowhere, lead inside it, in both overlay modes:
// the directories they name are made there, and nothing outside changes.
func TestOverlaySymlinkedParentsOutside(t *testing.T) {
	for _, finish := range []bool{false, true} {
		sb := newSandbox(t)
		lower := filepath.Join(sb.base, "lower")
		mustApply(t, sb.base, nil, dirEnt("lower/", 0o755),
			symlinkEnt("lower/up", "../outside"), symlinkEnt("lower/abs", sb.out), symlinkEnt("lower/deep", "../../../../../../../outside/dir"))
		sb.state(t) // sets the access times of the new files
		sb.before = sb.state(t)
		opts := append(overlayMode, WithParents(lower))
		if finish {
			opts = overlayMode
		}
		res, err := applyEnts(t, sb.root, opts,
			fileEnt("up/secret", "pwned", 0o644), fileEnt("abs/secret", "pwned", 0o644), fileEnt("deep/inner", "pwned", 0o644),
			linkEnt("h", "up/secret"))
		if finish && err == nil {
			err = res.Finish(context.Background(), sb.root, lower)
		}
		if err != nil {
			t.Errorf("finish=%v: Apply = %v", finish, err)
		}
		for _, name := range []string{"outside/secret", abs(sb.out) + "/secret", "outside/dir/inner", "h"} {
			if got, err := os.ReadFile(sb.in(name)); err != nil || string(got) != "pwned" {
				t.Errorf("finish=%v: %s = %q, %v; want pwned", finish, name, got, err)
			}
		}
		sb.check(t)
	}
}
