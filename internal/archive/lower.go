package archive

import (
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// This file reads the parent layers given by WithParents or to Finish.

// lowerState is what a layer says about a path.
type lowerState int

const (
	absent lowerState = iota // not in this layer: look below
	found                    // here
	hidden                   // not here, and hidden from the layers below
)

// findLower looks name up in the parent layers, topmost first, as an
// overlay mount of them shows it. When found, it returns the directory
// holding it, open, for the caller to close.
func (a *applier) findLower(name string) (int, unix.Stat_t, bool, error) {
	for _, l := range a.lowers {
		fd, st, state, err := lookupLayer(l, name)
		if err != nil || state == hidden {
			return -1, st, false, err
		}
		if state == found {
			return fd, st, true, nil
		}
	}
	return -1, unix.Stat_t{}, false, nil
}

// lookupLayer looks name up in the layer open as root, element by element,
// never following a symlink. A whiteout or a non-directory on the way hides
// name, as does an opaque directory above it when name is not there.
func lookupLayer(root int, name string) (int, unix.Stat_t, lowerState, error) {
	var st unix.Stat_t
	cur, err := unix.Openat(root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, st, absent, err
	}
	opaque := false
	for {
		opaque = opaque || isOpaque(cur)
		elem, rest, more := strings.Cut(name, "/")
		state := found
		switch err = unix.Fstatat(cur, elem, &st, unix.AT_SYMLINK_NOFOLLOW); {
		case err == unix.ENOENT:
			err, state = nil, absent
			if opaque {
				state = hidden
			}
		case err != nil:
		case isWhiteout(&st), more && st.Mode&unix.S_IFMT != unix.S_IFDIR:
			state = hidden
		case more:
			next, err := unix.Openat(cur, elem, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			unix.Close(cur)
			if err != nil {
				return -1, st, absent, err
			}
			cur, name = next, rest
			continue
		}
		if state != found || err != nil {
			unix.Close(cur)
			return -1, st, state, err
		}
		return cur, st, found, nil
	}
}

// isOpaque tells whether the directory open as fd is an opaque overlay
// directory.
func isOpaque(fd int) bool {
	var v [1]byte
	n, err := unix.Fgetxattr(fd, overlayOpaque, v[:])
	return err == nil && n == 1 && v[0] == 'y'
}

// metaOf reads the metadata of base in dirfd, whose stat is st.
func (a *applier) metaOf(dirfd int, base string, st *unix.Stat_t) (meta, error) {
	xattrs, err := readXattrs(procPath(dirfd, base), a.keepXattr)
	return meta{
		mode:   st.Mode & 0o7777,
		uid:    int(st.Uid),
		gid:    int(st.Gid),
		times:  [2]unix.Timespec{st.Atim, st.Mtim},
		xattrs: xattrs,
	}, err
}

// inherit gives the directory name, base in dirfd, which the layer needed
// but did not hold, the attributes of the same directory in the parent
// layers, if there is one.
func (a *applier) inherit(dirfd int, name, base string) error {
	lfd, st, ok, err := a.findLower(name)
	if err != nil || !ok {
		return err
	}
	defer unix.Close(lfd)
	return a.inheritFrom(dirfd, name, base, lfd, &st)
}

// inheritFrom is inherit given what findLower found: name in lfd, whose
// stat is st.
func (a *applier) inheritFrom(dirfd int, name, base string, lfd int, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	_, lbase := splitPath(name)
	m, err := a.metaOf(lfd, lbase, st)
	if err == nil {
		err = a.own(dirfd, base, &m)
	}
	if err == nil {
		a.dirs = append(a.dirs, dirMeta{path: name, mode: m.mode, times: m.times})
	}
	return err
}

// copyUp copies name from the parent layers into the target, with its
// attributes, as overlayfs does before linking to a lower file; its
// directory is found in the merged view of the layers (see resolve). It
// reports whether name was found.
func (a *applier) copyUp(name string) (bool, error) {
	dir, base := splitPath(name)
	if dir != "." {
		var err error
		if dir, err = a.resolve(dir); missing(err) || err == unix.ELOOP {
			return false, nil // nothing there
		} else if err != nil {
			return false, err
		}
	}
	lfd, st, ok, err := a.findLower(path.Join(dir, base))
	if err != nil || !ok {
		return false, err
	}
	defer unix.Close(lfd)
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFDIR {
		return true, invalid("hard link to directory %q", name)
	}
	m, err := a.metaOf(lfd, base, &st)
	if err != nil {
		return true, err
	}
	p, err := a.parent(dir, true)
	if err != nil {
		return true, err
	}
	switch typ {
	case unix.S_IFREG:
		err = copyFile(lfd, p.fd, base)
	case unix.S_IFLNK:
		var target string
		if target, err = readlinkAt(lfd, base); err == nil {
			err = unix.Symlinkat(target, p.fd, base)
		}
	default:
		err = unix.Mknodat(p.fd, base, typ|0o600, int(st.Rdev))
	}
	if err == nil {
		err = a.own(p.fd, base, &m)
	}
	if err == nil && typ != unix.S_IFLNK {
		err = chmodAt(p.fd, base, m.mode)
	}
	if err == nil {
		err = unix.UtimesNanoAt(p.fd, base, m.times[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	return true, err
}

// copyFile copies the regular file base of srcDir to a new file base of
// dstDir, in the kernel where it can (copy_file_range).
func copyFile(srcDir, dstDir int, base string) error {
	src, err := unix.Openat(srcDir, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sf := os.NewFile(uintptr(src), base)
	defer sf.Close()
	dst, err := unix.Openat(dstDir, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	df := os.NewFile(uintptr(dst), base)
	_, err = io.Copy(df, sf)
	if cerr := df.Close(); err == nil {
		err = cerr
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
