package archive

import (
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout applies the whiteout entry base in dir.
func (a *applier) whiteout(dir, base string) error {
	if base == whiteoutOpaque {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // hard link directories and other aufs metadata
	}
	name := base[len(whiteoutPrefix):]
	if name == "" || name == "." || name == ".." {
		return invalid("whiteout of %q", name)
	}
	target := path.Join(dir, name)
	for n := range a.links {
		if n == target || strings.HasPrefix(n, target+"/") {
			delete(a.links, n)
		}
	}
	if a.o.whiteouts == WhiteoutOverlay {
		p, err := a.parent(dir, true)
		if err != nil {
			return err
		}
		return a.replacing(p, name, func() error { return unix.Mknodat(p.fd, name, unix.S_IFCHR, 0) })
	}
	p, err := a.parent(dir, false)
	if missing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.remove(p, name)
}

// opaque applies an opaque whiteout of dir.
func (a *applier) opaque(dir string) error {
	if a.o.whiteouts == WhiteoutOverlay {
		p, err := a.parent(dir, true)
		if err != nil {
			return err
		}
		return unix.Setxattr(procPath(p.fd, ""), overlayOpaque, []byte("y"), 0)
	}
	p, err := a.parent(dir, false)
	if missing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.clearOpaque(p.fd)
}

// clearOpaque removes from the directory dirfd what the layer did not
// create; in the directories that were there and that the layer holds too,
// it does the same.
func (a *applier) clearOpaque(dirfd int) error {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), ".")
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	for i := 0; err == nil && i < len(names); i++ {
		switch a.created[childKey{st.Dev, st.Ino, names[i]}] {
		case madeNew:
		case merged:
			var cfd int
			if cfd, err = unix.Openat(fd, names[i], unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
				err = a.clearOpaque(cfd)
				unix.Close(cfd)
			}
		default:
			a.cache.reset()
			err = removeAt(fd, names[i])
		}
	}
	return err
}
