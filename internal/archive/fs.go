package archive

import (
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// This file holds the primitives that keep every operation inside a root:
// resolution with openat2(RESOLVE_IN_ROOT) for the directory part of a
// path, and *at system calls that never follow a symlink in the last part.

// openInRoot opens name, resolved inside root as if root were "/": ".."
// stops at root, absolute symlinks restart from root. flags are open flags.
func openInRoot(root int, name string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 64 {
		fd, err := unix.Openat2(root, name, &how)
		// EAGAIN: a rename or mount elsewhere raced the lookup; try again.
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}

// cleanName turns a tar entry name into a path relative to the root:
// leading slashes and "./" dropped, "." and ".." resolved lexically. It
// fails when the name leaves the root or cannot be a file name.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errNUL
	}
	n := path.Clean(strings.TrimLeft(name, "/"))
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", errEscapes
	}
	return n, nil
}

// splitPath splits a clean relative path into its directory and last
// element; the directory of a single element is ".".
func splitPath(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

// procPath names base in the directory open as dirfd through /proc, for
// the calls that have no *at form (the l*xattr family). The directory is
// reached through its descriptor; base is not followed by l* calls. An
// empty base names the directory itself, for calls that follow.
func procPath(dirfd int, base string) string {
	p := "/proc/self/fd/" + strconv.Itoa(dirfd)
	if base != "" {
		p += "/" + base
	}
	return p
}

// chmodAt sets the mode of base in dirfd without following a symlink
// there; a symlink's mode, which Linux ignores, is left alone.
func chmodAt(dirfd int, base string, mode uint32) error {
	err := unix.Fchmodat(dirfd, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err != unix.EOPNOTSUPP {
		return err
	}
	// Either base is a symlink, or there is no fchmodat2 (Linux < 6.6):
	// pin the inode with O_PATH and change it through its descriptor.
	fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	return unix.Chmod(procPath(fd, ""), mode)
}

// removeAt removes base from dirfd, a directory with all it holds. It
// never follows a symlink: a symlink is removed, not what it points to.
func removeAt(dirfd int, base string) error {
	err := unix.Unlinkat(dirfd, base, 0)
	if err != unix.EISDIR {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), base)
	names, err := d.Readdirnames(-1)
	for i := 0; err == nil && i < len(names); i++ {
		err = removeAt(fd, names[i])
	}
	d.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
}

// readlinkAt returns the target of the symlink base in dirfd.
func readlinkAt(dirfd int, base string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, base, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// readNames returns the names in the directory open as dirfd.
func readNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(fd), ".")
	defer d.Close()
	return d.Readdirnames(-1)
}

// isWhiteout reports whether st is an overlay whiteout: a 0/0 character
// device.
func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// readXattrs returns the extended attributes of p (not followed) that keep
// accepts.
func readXattrs(p string, keep func(string) bool) (map[string]string, error) {
	n, err := unix.Llistxattr(p, nil)
	if err != nil || n == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, n)
	if n, err = unix.Llistxattr(p, buf); err != nil {
		return nil, err
	}
	var xattrs map[string]string
	for _, key := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !keep(key) {
			continue
		}
		sz, err := unix.Lgetxattr(p, key, nil)
		if err != nil {
			return nil, err
		}
		val := make([]byte, sz)
		if sz, err = unix.Lgetxattr(p, key, val); err != nil {
			return nil, err
		}
		if xattrs == nil {
			xattrs = map[string]string{}
		}
		xattrs[key] = string(val[:sz])
	}
	return xattrs, nil
}

// dirRef is an open directory inside the root, by the path it was asked
// for (in overlay mode, where that path leads in the merged view of the
// layers: see resolve). dev and ino identify it when the applier tracks
// what it creates.
type dirRef struct {
	path     string
	fd       int
	dev, ino uint64
	setgid   bool // new entries take its group
}

// openDirRef fills a dirRef for the directory open as fd.
func openDirRef(p string, fd int) (dirRef, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return dirRef{}, err
	}
	return dirRef{path: p, fd: fd, dev: st.Dev, ino: st.Ino, setgid: st.Mode&unix.S_ISGID != 0}, nil
}

// processUmask returns the umask, read from /proc/self/status (Linux 4.7
// and later), or 0o777 if it cannot be read.
func processUmask() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		if _, rest, ok := strings.Cut(string(b), "\nUmask:\t"); ok {
			line, _, _ := strings.Cut(rest, "\n")
			if m, err := strconv.ParseUint(line, 8, 32); err == nil {
				return uint32(m)
			}
		}
	}
	return 0o777
}

// dirCacheSize is how many directories stay open between entries: enough
// for the walk of a tree, where entries come directory by directory.
const dirCacheSize = 16

// dirCache keeps the most recently used directories open, most recent
// first, so that entries sharing a directory share one openat2. A
// descriptor leaving the cache is closed only at the next flush, so that
// references taken for the current entry stay valid.
type dirCache struct {
	ents  []dirRef
	stale []int
}

func (c *dirCache) get(p string) (dirRef, bool) {
	for i, d := range c.ents {
		if d.path == p {
			copy(c.ents[1:i+1], c.ents[:i])
			c.ents[0] = d
			return d, true
		}
	}
	return dirRef{}, false
}

func (c *dirCache) put(d dirRef) {
	if len(c.ents) == dirCacheSize {
		c.stale = append(c.stale, c.ents[dirCacheSize-1].fd)
		c.ents = c.ents[:dirCacheSize-1]
	}
	c.ents = append(c.ents, dirRef{})
	copy(c.ents[1:], c.ents)
	c.ents[0] = d
}

// reset forgets every directory: paths may now resolve elsewhere.
func (c *dirCache) reset() {
	for _, d := range c.ents {
		c.stale = append(c.stale, d.fd)
	}
	c.ents = c.ents[:0]
}

// flush closes the descriptors that left the cache.
func (c *dirCache) flush() {
	for _, fd := range c.stale {
		unix.Close(fd)
	}
	c.stale = c.stale[:0]
}
