package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// openInRoot opens the regular file name below root for reading, resolving
// it as if root were "/" (see readRootFile).
//
// The path is resolved by openat2(2) with RESOLVE_IN_ROOT, which the kernel
// keeps inside root also against concurrent renames, or, where openat2 is
// missing (before Linux 5.6, or filtered by seccomp), by securejoin, the
// last component not followed. Either way the file is first opened O_PATH
// and checked to be a regular file, then opened for reading through
// /proc/self/fd, so that no device, FIFO or socket is ever opened.
func openInRoot(root, name string) (*os.File, error) {
	rel := strings.TrimLeft(filepath.Clean("/"+name), "/")
	fd, err := openat2InRoot(root, rel)
	// ENOSYS before Linux 5.6; EPERM under a seccomp profile that does
	// not know openat2 (openat2 with O_PATH has no permission of its own
	// to refuse).
	if err == unix.ENOSYS || err == unix.EPERM {
		fd, err = openJoinedInRoot(root, rel)
	}
	if errors.Is(err, unix.ENOTDIR) {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, notRegular(modeType(st.Mode))
	}
	rfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen through /proc/self/fd: %w", err)
	}
	return os.NewFile(uintptr(rfd), filepath.Join(root, rel)), nil
}

// openat2InRoot opens rel below root O_PATH with openat2(2) and
// RESOLVE_IN_ROOT; the errno is returned bare.
func openat2InRoot(root, rel string) (int, error) {
	dfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open root %s: %w", root, err)
	}
	defer unix.Close(dfd)
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 16 {
		fd, err := unix.Openat2(dfd, rel, &how)
		// EAGAIN: a rename raced with the lookup, which the kernel
		// refused to trust.
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// openJoinedInRoot opens rel below root O_PATH after resolving it in user
// space with securejoin; the last component is not followed, so that a
// symbolic link swapped in after the resolution is opened as the link.
func openJoinedInRoot(root, rel string) (int, error) {
	p, err := securejoin.SecureJoin(root, rel)
	if err != nil {
		return -1, err
	}
	return unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// modeType converts the file type bits of a stat mode.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}
