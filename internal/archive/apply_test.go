package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestApplyEntryTypes applies one entry of every type and checks what
// it made: type, content, mode with setuid, setgid and sticky bits, owner,
// times (of directories too, set after their content) and xattrs.
func TestApplyEntryTypes(t *testing.T) {
	root := os.Geteuid() == 0
	dir := newTarget(t)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	atime := time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
	owned := func(h *tar.Header) { h.Uid, h.Gid = 1000, 1001 }
	timed := func(h *tar.Header) { h.ModTime, h.AccessTime = mtime, atime }
	xattr := func(h *tar.Header) {
		h.PAXRecords = map[string]string{"SCHILY.xattr.user.test": "value", "SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	}
	mustApply(t, dir, nil,
		dirEnt("d/", 0o750).with(owned).with(timed).with(xattr),
		fileEnt("d/file", "content", 0o640).with(owned).with(timed).with(xattr),
		fileEnt("d/setuid", "#!", 0o4755),
		fileEnt("d/setgid", "#!", 0o2711).with(owned),
		fileEnt("d/readonly", "ro", 0o400),
		dirEnt("d/sticky/", 0o1777),
		dirEnt("d/locked/", 0o500),
		fileEnt("d/locked/inside", "x", 0o000),
		symlinkEnt("d/link", "file").with(owned).with(timed),
		symlinkEnt("d/dangling", "/nowhere"),
		linkEnt("d/hard", "d/file"),
		nodeEnt("d/fifo", tar.TypeFifo, 0, 0).with(timed),
		nodeEnt("d/null", tar.TypeChar, 1, 3).with(owned),
		nodeEnt("d/loop", tar.TypeBlock, 7, 0),
		fileEnt("d/empty", "", 0o644),
	)
	p := func(name string) string { return filepath.Join(dir, name) }
	t.Cleanup(func() { os.Chmod(p("d/locked"), 0o755) }) // for TempDir's RemoveAll without root

	check := func(name string, typ, mode uint32) unix.Stat_t {
		t.Helper()
		st := lstat(t, p(name))
		if st.Mode&unix.S_IFMT != typ || typ != unix.S_IFLNK && st.Mode&0o7777 != mode {
			t.Errorf("%s: mode %o, want %o", name, st.Mode, typ|mode)
		}
		return st
	}
	checkOwner := func(name string, st unix.Stat_t) {
		t.Helper()
		if root && (st.Uid != 1000 || st.Gid != 1001) {
			t.Errorf("%s: owner %d:%d, want 1000:1001", name, st.Uid, st.Gid)
		}
	}
	checkTimes := func(name string, st unix.Stat_t) {
		t.Helper()
		if st.Mtim != timespec(mtime) || st.Atim != timespec(atime) {
			t.Errorf("%s: mtime %v atime %v, want %v %v", name, st.Mtim, st.Atim, timespec(mtime), timespec(atime))
		}
	}
	checkXattr := func(name string) {
		t.Helper()
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(p(name), "user.test", buf)
		if err != nil || string(buf[:n]) != "value" {
			t.Errorf("%s: xattr user.test = %q, %v, want value", name, buf[:max(n, 0)], err)
		}
		if _, err := unix.Lgetxattr(p(name), "security.capability", buf); root && err != nil {
			t.Errorf("%s: xattr security.capability: %v", name, err)
		}
	}

	st := check("d", unix.S_IFDIR, 0o750)
	checkOwner("d", st)
	checkTimes("d", st)
	checkXattr("d")
	st = check("d/file", unix.S_IFREG, 0o640)
	checkOwner("d/file", st)
	checkTimes("d/file", st)
	checkXattr("d/file")
	if got := readFile(t, p("d/file")); got != "content" {
		t.Errorf("d/file = %q, want content", got)
	}
	if st.Nlink != 2 || lstat(t, p("d/hard")).Ino != st.Ino {
		t.Errorf("d/hard: not a hard link of d/file (nlink %d)", st.Nlink)
	}
	check("d/setuid", unix.S_IFREG, 0o4755)
	st = check("d/setgid", unix.S_IFREG, 0o2711)
	checkOwner("d/setgid", st)
	check("d/readonly", unix.S_IFREG, 0o400)
	check("d/sticky", unix.S_IFDIR, 0o1777)
	check("d/locked", unix.S_IFDIR, 0o500)
	check("d/locked/inside", unix.S_IFREG, 0)
	st = check("d/link", unix.S_IFLNK, 0)
	checkOwner("d/link", st)
	checkTimes("d/link", st)
	if target, _ := os.Readlink(p("d/link")); target != "file" {
		t.Errorf("d/link -> %q, want file", target)
	}
	if target, _ := os.Readlink(p("d/dangling")); target != "/nowhere" {
		t.Errorf("d/dangling -> %q, want /nowhere", target)
	}
	checkTimes("d/fifo", check("d/fifo", unix.S_IFIFO, 0o620))
	check("d/empty", unix.S_IFREG, 0o644)
	if !root {
		if exists(p("d/null")) || exists(p("d/loop")) {
			t.Errorf("device nodes made without root")
		}
		return
	}
	st = check("d/null", unix.S_IFCHR, 0o620)
	checkOwner("d/null", st)
	if st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("d/null: device %x, want 1:3", st.Rdev)
	}
	if st = check("d/loop", unix.S_IFBLK, 0o620); st.Rdev != unix.Mkdev(7, 0) {
		t.Errorf("d/loop: device %x, want 7:0", st.Rdev)
	}
}

// TestApplyOverExisting applies a layer over another: a non-directory
// replaces what is there (a directory with all it holds), a directory over
// a directory keeps its content and takes the new attributes.
func TestApplyOverExisting(t *testing.T) {
	dir := newTarget(t)
	mustApply(t, dir, nil,
		dirEnt("keep/", 0o755), fileEnt("keep/old", "old", 0o644),
		dirEnt("gone/", 0o755), dirEnt("gone/sub/", 0o755), fileEnt("gone/sub/f", "f", 0o644),
		fileEnt("file", "file", 0o644),
		symlinkEnt("link", "file"),
		fileEnt("todir", "x", 0o644),
	)
	mustApply(t, dir, nil,
		dirEnt("keep/", 0o711),
		fileEnt("gone", "now a file", 0o600),
		symlinkEnt("file", "link"),
		fileEnt("link", "now a file", 0o644),
		dirEnt("todir/", 0o755), fileEnt("todir/x", "x", 0o644),
	)
	if got := readFile(t, filepath.Join(dir, "keep/old")); got != "old" {
		t.Errorf("keep/old = %q, want old", got)
	}
	if st := lstat(t, filepath.Join(dir, "keep")); st.Mode&0o777 != 0o711 {
		t.Errorf("keep: mode %o, want 711", st.Mode&0o777)
	}
	if got := readFile(t, filepath.Join(dir, "gone")); got != "now a file" {
		t.Errorf("gone = %q", got)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "file")); target != "link" {
		t.Errorf("file -> %q, want link", target)
	}
	if st := lstat(t, filepath.Join(dir, "link")); st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("link: mode %o, want a regular file", st.Mode)
	}
	if got := readFile(t, filepath.Join(dir, "todir/x")); got != "x" {
		t.Errorf("todir/x = %q", got)
	}
}

// TestApplyNames checks the cleaning of names and the root entry.
func TestApplyNames(t *testing.T) {
	dir := newTarget(t)
	mtime := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	mustApply(t, dir, nil,
		dirEnt("./", 0o700).with(func(h *tar.Header) { h.ModTime = mtime }),
		fileEnt("./a", "a", 0o644),
		fileEnt("/b", "b", 0o644),
		fileEnt("c/./d/../e", "e", 0o644),
		fileEnt("//f", "f", 0o644),
	)
	for name, want := range map[string]string{"a": "a", "b": "b", "c/e": "e", "f": "f"} {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if exists(filepath.Join(dir, "c/d")) {
		t.Errorf("c/d made, though only named on the way")
	}
	if st := lstat(t, dir); st.Mode&0o777 != 0o700 || st.Mtim != timespec(mtime) {
		t.Errorf("root: mode %o mtime %v, want 700 %v", st.Mode&0o777, st.Mtim, timespec(mtime))
	}
	// Implied parents are 0755.
	if st := lstat(t, filepath.Join(dir, "c")); st.Mode&0o7777 != 0o755 {
		t.Errorf("c: mode %o, want 755", st.Mode&0o7777)
	}
}

// TestApplyNoSameOwner checks that WithNoSameOwner leaves owners alone.
func TestApplyNoSameOwner(t *testing.T) {
	dir := newTarget(t)
	mustApply(t, dir, []ApplyOpt{WithNoSameOwner()},
		fileEnt("f", "f", 0o644).with(func(h *tar.Header) { h.Uid, h.Gid = 1000, 1000 }),
		dirEnt("d", 0o755).with(func(h *tar.Header) { h.Uid, h.Gid = 1000, 1000 }))
	for _, name := range []string{"f", "d"} {
		if st := lstat(t, filepath.Join(dir, name)); int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: owner %d, want %d", name, st.Uid, os.Geteuid())
		}
	}
}

// TestWhiteoutDelete checks whiteouts and opaque directories applied to
// a tree holding the layers below.
func TestWhiteoutDelete(t *testing.T) {
	dir := newTarget(t)
	mustApply(t, dir, nil,
		fileEnt("f", "f", 0o644),
		dirEnt("d/", 0o755), dirEnt("d/sub/", 0o755), fileEnt("d/sub/x", "x", 0o644),
		dirEnt("o/", 0o755), fileEnt("o/old", "old", 0o644), dirEnt("o/olddir/", 0o755), fileEnt("o/olddir/y", "y", 0o644),
		dirEnt("o/merged/", 0o755), fileEnt("o/merged/old", "old", 0o644),
		dirEnt("o2/", 0o755), fileEnt("o2/old", "old", 0o644),
		symlinkEnt("ln", "o2"),
	)
	mustApply(t, dir, nil,
		fileEnt(".wh.f", "", 0o644),
		fileEnt("d/.wh.sub", "", 0o644),
		fileEnt(".wh.missing", "", 0o644),
		fileEnt("nodir/.wh.missing", "", 0o644),
		fileEnt(".wh..wh.plnk", "", 0o644),
		// Entries of the layer before the opaque marker stay.
		dirEnt("o/", 0o755), fileEnt("o/new", "new", 0o644),
		dirEnt("o/merged/", 0o755), fileEnt("o/merged/new", "new", 0o644),
		fileEnt("o/.wh..wh..opq", "", 0o644),
		fileEnt("o/after", "after", 0o644),
		// An opaque marker through a symlink applies where it leads.
		fileEnt("ln/new", "new", 0o644),
		fileEnt("ln/.wh..wh..opq", "", 0o644),
	)
	for _, gone := range []string{"f", "d/sub", "o/old", "o/olddir", "o/merged/old", "o2/old", ".wh..wh.plnk"} {
		if exists(filepath.Join(dir, gone)) {
			t.Errorf("%s: still there", gone)
		}
	}
	for _, kept := range []string{"d", "o/new", "o/merged/new", "o/after", "o2/new"} {
		if !exists(filepath.Join(dir, kept)) {
			t.Errorf("%s: removed", kept)
		}
	}
}

// TestApplyCanceled checks that Apply stops when its context is done.
func TestApplyCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Apply(ctx, newTarget(t), bytes.NewReader(tarOf(t, fileEnt("f", "f", 0o644))))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply(canceled) = %v, want context.Canceled", err)
	}
}

// TestApplySkips checks that entries of types that are not applied, and
// sparse files (both GNU formats), are skipped without error.
func TestApplySkips(t *testing.T) {
	dir := newTarget(t)
	var layer []byte
	layer = append(layer, rawEntry(t, tar.TypeGNUSparse, nil)...)
	layer = append(layer, rawEntry(t, tar.TypeXHeader, paxBody(
		"GNU.sparse.map", "0,0", "GNU.sparse.numblocks", "1", "GNU.sparse.name", "sparse", "GNU.sparse.size", "4096"))...)
	layer = append(layer, tarOf(t,
		fileEnt("sparse", "", 0o644),
		ent{hdr: tar.Header{Typeflag: 'Z', Name: "unknown"}},
		fileEnt("after", "after", 0o644),
	)...)
	if _, err := Apply(context.Background(), dir, bytes.NewReader(layer)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	names, _ := os.ReadDir(dir)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if !slices.Equal(got, []string{"after"}) {
		t.Errorf("target holds %q, want [after]", got)
	}
}

// paxBody formats PAX records, key and value pairs.
func paxBody(kv ...string) []byte {
	var b []byte
	for i := 0; i < len(kv); i += 2 {
		rec := " " + kv[i] + "=" + kv[i+1] + "\n"
		n := len(rec) + len(strconv.Itoa(len(rec)))
		if len(strconv.Itoa(n)) != len(strconv.Itoa(len(rec))) {
			n++
		}
		b = append(b, strconv.Itoa(n)+rec...)
	}
	return b
}
