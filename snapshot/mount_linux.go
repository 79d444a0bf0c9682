package snapshot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

const (
	// unmountTries is how many times an unmount is tried while the mount
	// is busy, with a doubling pause from unmountPause, before it is
	// detached lazily.
	unmountTries = 5
	unmountPause = 10 * time.Millisecond

	// maxFsconfigString is the longest string value fsconfig(2) copies.
	maxFsconfigString = 255

	propagation = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE
)

// Mount mounts m on target, a directory that must exist.
//
// A "bind" mount (or one with the option "bind" or "rbind") is made by
// mount(2) and then, when it has flags such as "ro", remounted with them,
// as a bind mount takes no flags on its first call. Other types get their
// flag options ("ro", "nosuid", ...) as flags and the others as data.
// mount(2) takes at most a page of data; when the options are longer, as
// the lowerdirs of a deep overlay are, the filesystem is set up through
// fsopen(2) with one fsconfig call per option (and per overlay lower
// layer, through "lowerdir+", which needs Linux 6.8; each value at most
// 255 bytes) and attached with move_mount(2). Propagation options
// ("rprivate", "shared", ...) are applied last.
//
// Errors name the mount and the target and wrap both the errno and an
// errdefs kind (PermissionDenied for EPERM, NotFound for ENOENT, ...).
func (m Mount) Mount(target string) error {
	flags, prop, data := parseOptions(m.Options)
	var err error
	if m.Type == "bind" || flags&unix.MS_BIND != 0 {
		err = mountBind(m.Source, target, flags)
	} else if len(data) < unix.Getpagesize() {
		err = unix.Mount(m.Source, target, m.Type, flags, data)
	} else {
		err = m.fsmount(target)
	}
	if err == nil && prop != 0 {
		if err = unix.Mount("", target, "", prop, ""); err != nil {
			unmount(target)
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s %s on %s: %w", m.Type, m.Source, target, withKind(err))
	}
	return nil
}

// MountAll mounts mounts in order on target, each at its Target below it
// (a relative path, taken lexically). If one fails, those already mounted
// are unmounted and the error returned.
func MountAll(mounts []Mount, target string) error {
	dsts := make([]string, len(mounts))
	for i, m := range mounts {
		if m.Target != "" && !filepath.IsLocal(m.Target) {
			return fmt.Errorf("mount %s %s: target %q is not a relative path below %s: %w", m.Type, m.Source, m.Target, target, errdefs.ErrInvalidArgument)
		}
		dsts[i] = filepath.Join(target, m.Target)
	}
	for i, m := range mounts {
		if err := m.Mount(dsts[i]); err != nil {
			for _, d := range slices.Backward(dsts[:i]) {
				unmount(d)
			}
			return err
		}
	}
	return nil
}

// UnmountAll unmounts every mount at or below target, as listed in
// /proc/self/mountinfo, deepest first and the latest first where mounts
// are stacked. A busy mount is tried again a few times with a short
// pause, then detached lazily (MNT_DETACH). A target with nothing mounted,
// or that does not exist, is not an error. The usual case, one mount on
// an empty directory, is unmounted without reading mountinfo.
func UnmountAll(target string) error {
	abs, err := filepath.Abs(target)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", target, withKind(err))
	}
	if abs != "/" && unmountedAlone(abs) {
		return nil
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("unmount %s: %w", target, withKind(err))
	}
	var points []string
	for line := range strings.Lines(string(info)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountinfo(f[4])
		if p == abs || strings.HasPrefix(p, abs+"/") || abs == "/" {
			points = append(points, p)
		}
	}
	slices.Reverse(points)
	slices.SortStableFunc(points, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	for _, p := range points {
		if err := unmount(p); err != nil {
			return fmt.Errorf("unmount %s: %w", p, withKind(err))
		}
	}
	return nil
}

// unmountedAlone is UnmountAll's quick way for the usual case, one mount
// at p and none below it, which spares it reading /proc/self/mountinfo
// (long where many containers run). It unmounts the top mount at p, once,
// and reports whether that left nothing mounted at or below p: p is then
// not the root of a mount and it is an empty directory (or no directory),
// so there is no path below it to mount on. It reports false, for
// UnmountAll to go through mountinfo, when p was no mount point, when the
// mount was busy or had mounts below it (the unmount failed), when
// another mount was under it, when p is not empty (a mount the one
// unmounted hid may be there), or when the kernel cannot tell a mount's
// root (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8).
func unmountedAlone(p string) bool {
	if unix.Unmount(p, 0) != nil {
		return false
	}
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE, &st); err != nil ||
		st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 || st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// unmount unmounts the top mount at p, waiting a little while it is busy
// and detaching it lazily then. Nothing mounted there is not an error.
func unmount(p string) error {
	pause := unmountPause
	for try := 1; ; try++ {
		err := unix.Unmount(p, 0)
		switch {
		case err == nil || err == unix.EINVAL || err == unix.ENOENT:
			return nil
		case err == unix.EINTR:
			continue
		case err != unix.EBUSY:
			return err
		case try == unmountTries:
			return unix.Unmount(p, unix.MNT_DETACH)
		}
		time.Sleep(pause)
		pause *= 2
	}
}

// mountBind bind-mounts source on target, then remounts it with the flags
// a bind mount ignores on its first call.
func mountBind(source, target string, flags uintptr) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND|flags&unix.MS_REC, ""); err != nil {
		return err
	}
	if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
		if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|rest, ""); err != nil {
			unmount(target)
			return err
		}
	}
	return nil
}

// fsmount mounts m through the new mount API: fsopen, one fsconfig call
// per option, fsmount and move_mount. It is how options longer than a
// page get to the kernel.
func (m Mount) fsmount(target string) error {
	fd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("options exceed the page mount(2) takes, and fsopen(2) failed: %w", err)
	}
	defer unix.Close(fd)
	attrs := 0
	for _, o := range m.Options {
		if opt, ok := lookupOption(o); ok {
			if !opt.clear {
				attrs |= opt.attr
			}
			if opt.sb && !opt.clear {
				err = unix.FsconfigSetFlag(fd, o)
			}
		} else if k, v, ok := strings.Cut(o, "="); !ok {
			err = unix.FsconfigSetFlag(fd, o)
		} else if m.Type == "overlay" && k == "lowerdir" {
			for _, l := range splitLowerdir(v) {
				if err = setString(fd, "lowerdir+", l); err != nil {
					break
				}
			}
		} else {
			err = setString(fd, k, v)
		}
		if err != nil {
			return fmt.Errorf("options exceed the page mount(2) takes: %w", err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("fsconfig create: %w%s", err, fsLog(fd))
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return fmt.Errorf("fsmount: %w%s", err, fsLog(fd))
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// setString sets a string parameter of a filesystem context.
func setString(fd int, key, value string) error {
	if len(value) > maxFsconfigString {
		return fmt.Errorf("fsconfig %s=%.60s...: %d bytes, more than fsconfig(2) takes (%d): %w", key, value, len(value), maxFsconfigString, unix.ENAMETOOLONG)
	}
	if err := unix.FsconfigSetString(fd, key, value); err != nil {
		hint := ""
		if key == "lowerdir+" {
			hint = " (one lower layer at a time needs Linux 6.8)"
		}
		return fmt.Errorf("fsconfig %s=%s%s: %w%s", key, value, hint, err, fsLog(fd))
	}
	return nil
}

// fsLog returns the messages the kernel left on a filesystem context, for
// an error.
func fsLog(fd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 8 {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (kernel: " + strings.Join(msgs, "; ") + ")"
}

// mountOption is what a flag option does.
type mountOption struct {
	flag  uintptr // MS_* flag
	clear bool    // the option clears the flag ("rw", "suid", ...)
	attr  int     // MOUNT_ATTR_* for fsmount(2)
	sb    bool    // a superblock flag fsconfig(2) takes by name
}

func lookupOption(o string) (mountOption, bool) {
	switch o {
	case "ro":
		return mountOption{flag: unix.MS_RDONLY, attr: unix.MOUNT_ATTR_RDONLY, sb: true}, true
	case "rw":
		return mountOption{flag: unix.MS_RDONLY, clear: true}, true
	case "nosuid", "suid":
		return mountOption{flag: unix.MS_NOSUID, clear: o == "suid", attr: unix.MOUNT_ATTR_NOSUID}, true
	case "nodev", "dev":
		return mountOption{flag: unix.MS_NODEV, clear: o == "dev", attr: unix.MOUNT_ATTR_NODEV}, true
	case "noexec", "exec":
		return mountOption{flag: unix.MS_NOEXEC, clear: o == "exec", attr: unix.MOUNT_ATTR_NOEXEC}, true
	case "noatime", "atime":
		return mountOption{flag: unix.MS_NOATIME, clear: o == "atime", attr: unix.MOUNT_ATTR_NOATIME}, true
	case "nodiratime", "diratime":
		return mountOption{flag: unix.MS_NODIRATIME, clear: o == "diratime", attr: unix.MOUNT_ATTR_NODIRATIME}, true
	case "relatime", "norelatime":
		return mountOption{flag: unix.MS_RELATIME, clear: o == "norelatime"}, true
	case "strictatime":
		return mountOption{flag: unix.MS_STRICTATIME, attr: unix.MOUNT_ATTR_STRICTATIME}, true
	case "sync", "dirsync":
		f := uintptr(unix.MS_SYNCHRONOUS)
		if o == "dirsync" {
			f = unix.MS_DIRSYNC
		}
		return mountOption{flag: f, sb: true}, true
	case "bind", "rbind":
		f := uintptr(unix.MS_BIND)
		if o == "rbind" {
			f |= unix.MS_REC
		}
		return mountOption{flag: f}, true
	case "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable":
		var f uintptr
		switch strings.TrimPrefix(o, "r") {
		case "private":
			f = unix.MS_PRIVATE
		case "shared":
			f = unix.MS_SHARED
		case "slave":
			f = unix.MS_SLAVE
		default:
			f = unix.MS_UNBINDABLE
		}
		if o[0] == 'r' {
			f |= unix.MS_REC
		}
		return mountOption{flag: f}, true
	}
	return mountOption{}, false
}

// parseOptions splits options into mount(2) flags, propagation flags and
// the data string.
func parseOptions(options []string) (flags, prop uintptr, data string) {
	var rest []string
	for _, o := range options {
		opt, ok := lookupOption(o)
		switch {
		case !ok:
			rest = append(rest, o)
		case opt.flag&propagation != 0:
			prop |= opt.flag
		case opt.clear:
			flags &^= opt.flag
		default:
			flags |= opt.flag
		}
	}
	return flags, prop, strings.Join(rest, ",")
}

// splitLowerdir splits an overlay lowerdir value at the colons that are
// not escaped by a backslash, and unescapes the parts.
func splitLowerdir(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == ':':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// unescapeMountinfo decodes the octal escapes (\040 for a space, ...) of
// a path in /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	return strings.Trim(s, "01234567") == ""
}

// withKind adds the errdefs kind of an errno to err.
func withKind(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	var kind error = errdefs.ErrUnknown
	switch errno {
	case unix.EPERM, unix.EACCES:
		kind = errdefs.ErrPermissionDenied
	case unix.ENOENT, unix.ENOTDIR:
		kind = errdefs.ErrNotFound
	case unix.EINVAL, unix.E2BIG, unix.ENAMETOOLONG:
		kind = errdefs.ErrInvalidArgument
	case unix.ENODEV, unix.ENOSYS, unix.EOPNOTSUPP:
		kind = errdefs.ErrNotImplemented
	case unix.EBUSY:
		kind = errdefs.ErrUnavailable
	}
	return kindError{err, kind}
}

// kindError is an error that also is an errdefs kind, without saying so
// in its text.
type kindError struct{ err, kind error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.err, e.kind} }
