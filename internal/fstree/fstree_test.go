package fstree

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// buildTree makes a tree with one of each kind of thing Copy keeps.
func buildTree(t *testing.T, dir string) {
	root := os.Geteuid() == 0
	big := make([]byte, 3<<20+17)
	rand.Read(big)
	must(t, os.WriteFile(filepath.Join(dir, "big"), big, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "suid"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Link(filepath.Join(dir, "suid"), filepath.Join(dir, "suid-link")))
	must(t, os.Symlink("../nowhere", filepath.Join(dir, "dangling")))
	must(t, os.Symlink("suid", filepath.Join(dir, "link")))
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640))
	must(t, unix.Mknod(filepath.Join(dir, "sock"), unix.S_IFSOCK|0o600, 0))
	must(t, os.MkdirAll(filepath.Join(dir, "ro", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "ro", "sub", "f"), []byte("f"), 0o444))
	must(t, unix.Setxattr(filepath.Join(dir, "big"), "user.note", []byte("hello"), 0))
	must(t, unix.Setxattr(filepath.Join(dir, "ro"), "user.dir", []byte{0, 1, 2}, 0))
	if root {
		must(t, unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, unix.Mknod(filepath.Join(dir, "whiteout"), unix.S_IFCHR, 0))
		must(t, os.Lchown(filepath.Join(dir, "link"), 1001, 1002))
		must(t, os.Chown(filepath.Join(dir, "suid"), 1000, 1000))
		must(t, unix.Setxattr(filepath.Join(dir, "ro"), "trusted.overlay.opaque", []byte("y"), 0))
	}
	must(t, unix.Chmod(filepath.Join(dir, "suid"), 0o4755))
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	must(t, os.Chtimes(filepath.Join(dir, "big"), old.Add(time.Hour), old))
	must(t, os.Chmod(filepath.Join(dir, "ro"), 0o555))
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "ro"), 0o755) })
	must(t, os.Chtimes(filepath.Join(dir, "ro"), old, old))
}

type entry struct {
	mode, uid, gid uint32
	rdev, size     uint64
	mtime          int64
	data, link     string
	xattrs         map[string]string
}

// describe reads back everything Copy promises to keep, and which paths
// share an inode.
func describe(t *testing.T, dir string) (map[string]entry, [][]string) {
	t.Helper()
	out := map[string]entry{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: st.Mode, uid: st.Uid, gid: st.Gid, rdev: st.Rdev, mtime: st.Mtim.Nano(), xattrs: map[string]string{}}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			must(t, err)
			e.data, e.size = string(b), uint64(st.Size)
		case unix.S_IFLNK:
			e.link, _ = os.Readlink(p)
		}
		names, err := listXattrs(p)
		must(t, err)
		for _, n := range names {
			v, err := getXattr(p, n)
			must(t, err)
			e.xattrs[n] = string(v)
		}
		out[rel] = e
		if !d.IsDir() {
			inodes[st.Ino] = append(inodes[st.Ino], rel)
		}
		return nil
	})
	must(t, err)
	var links [][]string
	for _, ps := range inodes {
		if len(ps) > 1 {
			slices.Sort(ps)
			links = append(links, ps)
		}
	}
	return out, links
}

func TestCopy(t *testing.T) {
	src := t.TempDir()
	buildTree(t, src)
	dst := filepath.Join(t.TempDir(), "copy")
	if err := Copy(context.Background(), dst, src); err != nil {
		t.Fatalf("Copy = %v", err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dst, "ro"), 0o755) })
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(dst, "big"), &st))
	if atime := time.Unix(st.Atim.Unix()).UTC(); atime.Year() != 2001 || atime.Hour() != 5 {
		t.Errorf("atime of big = %v, want 2001-02-03 05:05", atime)
	}
	want, wantLinks := describe(t, src)
	got, gotLinks := describe(t, dst)
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: missing from the copy", p)
		case g.mode != w.mode || g.uid != w.uid || g.gid != w.gid || g.rdev != w.rdev || g.link != w.link:
			t.Errorf("%s: copy has mode %o owner %d:%d rdev %d link %q, want %o %d:%d %d %q", p, g.mode, g.uid, g.gid, g.rdev, g.link, w.mode, w.uid, w.gid, w.rdev, w.link)
		case g.size != w.size || g.data != w.data:
			t.Errorf("%s: copy has %d bytes of other data, want %d", p, g.size, w.size)
		case g.mtime != w.mtime:
			t.Errorf("%s: copy mtime %d, want %d", p, g.mtime, w.mtime)
		case len(g.xattrs) != len(w.xattrs):
			t.Errorf("%s: copy xattrs %q, want %q", p, g.xattrs, w.xattrs)
		}
		for k, v := range w.xattrs {
			if g.xattrs[k] != v {
				t.Errorf("%s: xattr %s = %q, want %q", p, k, g.xattrs[k], v)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("copy has %d entries, want %d", len(got), len(want))
	}
	if !slices.EqualFunc(gotLinks, wantLinks, slices.Equal) {
		t.Errorf("hard links in the copy %q, want %q", gotLinks, wantLinks)
	}
	must(t, unix.Lstat(filepath.Join(dst, "ro"), &st))
	if time.Unix(st.Mtim.Unix()).Year() != 2001 || st.Mode&0o777 != 0o555 {
		t.Errorf("read-only directory copied as mode %o mtime %v", st.Mode&0o777, time.Unix(st.Mtim.Unix()))
	}
	if os.Geteuid() == 0 && want["null"].rdev == 0 {
		t.Error("device node not in the source tree")
	}
}

func TestCopyCancelled(t *testing.T) {
	src := t.TempDir()
	buildTree(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Copy(ctx, filepath.Join(t.TempDir(), "copy"), src); err != context.Canceled {
		t.Fatalf("Copy with a cancelled context = %v", err)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), 64<<10)
	must(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "d", "f"), data, 0o644))
	must(t, os.Link(filepath.Join(dir, "d", "f"), filepath.Join(dir, "hard")))
	must(t, os.Symlink("d/f", filepath.Join(dir, "sym")))
	var want int64
	for _, p := range []string{"", "d", "d/f", "sym"} {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(dir, p), &st))
		want += st.Blocks * 512
	}
	inodes, size, err := Usage(context.Background(), dir)
	if err != nil || inodes != 4 || size != want {
		t.Fatalf("Usage = %d inodes, %d bytes, %v; want 4, %d (the hard link counted once)", inodes, size, err, want)
	}
	if size < int64(len(data)) {
		t.Fatalf("Usage size %d is less than the data written (%d)", size, len(data))
	}
}

func TestRemoveAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	must(t, os.MkdirAll(filepath.Join(dir, "ro", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "ro", "sub", "f"), nil, 0o444))
	must(t, os.Chmod(filepath.Join(dir, "ro", "sub"), 0o555))
	must(t, os.Chmod(filepath.Join(dir, "ro"), 0o500))
	if err := RemoveAll(dir); err != nil {
		t.Fatalf("RemoveAll of a tree with read-only directories = %v", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after RemoveAll, Lstat = %v", err)
	}
	if err := RemoveAll(dir); err != nil {
		t.Fatalf("RemoveAll of a missing tree = %v", err)
	}
}
