package fstree

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

// Usage measures the tree at dir: the number of inodes (dir itself
// included) and the bytes their blocks take, each hard-linked inode
// counted once.
func Usage(ctx context.Context, dir string) (inodes, size int64, err error) {
	seen := map[fileID]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !d.IsDir() && st.Nlink > 1 {
			id := fileID{uint64(st.Dev), st.Ino}
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		inodes++
		size += st.Blocks * 512
		return nil
	})
	return inodes, size, err
}

// RemoveAll removes the tree at dir like os.RemoveAll. Where that fails
// for want of permission, as it does without root in a tree with
// read-only directories, it makes the directories writable and tries
// again.
func RemoveAll(dir string) error {
	err := os.RemoveAll(dir)
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// Copy copies the tree at src to dst, which must not exist.
func Copy(ctx context.Context, dst, src string) error {
	c := copier{ctx: ctx, root: os.Geteuid() == 0, links: map[fileID]string{}}
	return c.copy(dst, src)
}

type copier struct {
	ctx   context.Context
	root  bool              // owners and devices can be copied
	links map[fileID]string // the first copy of each hard-linked inode
}

func (c *copier) copy(dst, src string) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	typ := st.Mode & unix.S_IFMT
	if (typ == unix.S_IFCHR || typ == unix.S_IFBLK) && !c.root {
		return nil
	}
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		id := fileID{uint64(st.Dev), st.Ino}
		if first, ok := c.links[id]; ok {
			return os.Link(first, dst)
		}
		c.links[id] = dst
	}
	switch typ {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := c.copy(filepath.Join(dst, e.Name()), filepath.Join(src, e.Name())); err != nil {
				return err
			}
		}
	case unix.S_IFREG:
		err = copyFile(dst, src)
	case unix.S_IFLNK:
		var target string
		if target, err = os.Readlink(src); err == nil {
			err = os.Symlink(target, dst)
		}
	default: // devices, FIFOs, sockets
		if err = unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			err = &fs.PathError{Op: "mknod", Path: dst, Err: err}
		}
	}
	if err != nil {
		return err
	}
	return c.copyMeta(dst, src, st)
}

// copyFile copies a regular file's data: a clone if the filesystem can,
// else io.Copy, which tries copy_file_range(2) before reading and writing.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) != nil {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// copyMeta gives dst the owner, extended attributes, mode and times of
// src, in an order that keeps each: chown clears setuid bits, and
// writing a directory's entries changes its times.
func (c *copier) copyMeta(dst, src string, st *syscall.Stat_t) error {
	if c.root {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := c.copyXattrs(dst, src); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(unix.AT_FDCWD, dst, st.Mode&0o7777, 0); err != nil {
			return &fs.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	ts := []unix.Timespec{unix.Timespec(st.Atim), unix.Timespec(st.Mtim)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return nil
}

func (c *copier) copyXattrs(dst, src string) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		v, err := getXattr(src, name)
		if err == unix.ENODATA {
			continue
		}
		if err == nil {
			err = unix.Lsetxattr(dst, name, v, 0)
		}
		if err != nil && (c.root || err != unix.EPERM && err != unix.EOPNOTSUPP) {
			return &fs.PathError{Op: "xattr " + name, Path: dst, Err: err}
		}
	}
	return nil
}

// listXattrs lists the extended attribute names of p, none where the
// filesystem keeps none.
func listXattrs(p string) ([]string, error) {
	buf, err := grow(func(b []byte) (int, error) { return unix.Llistxattr(p, b) })
	if errors.Is(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	if err != nil {
		return nil, &fs.PathError{Op: "listxattr", Path: p, Err: err}
	}
	var names []string
	for _, n := range strings.Split(string(buf), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(p, name string) ([]byte, error) {
	return grow(func(b []byte) (int, error) { return unix.Lgetxattr(p, name, b) })
}

// grow calls a size-probing syscall with a buffer large enough for its
// answer.
func grow(call func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := call(buf)
		if err == unix.ERANGE {
			if n, err = call(nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
