package archive

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// This file finds, in overlay mode, where a directory the target does not
// hold is in the merged view of the target over the parent layers, and
// moves what a layer applied without its parents put in directories it
// made up where the layers below have a symlink.

// maxSymlinks is how many symlinks a path may go through, as in Linux.
const maxSymlinks = 40

// settleTemp is where Finish sets a directory aside while merging it into
// another. No entry can make this name: ".wh..wh." names are skipped.
const settleTemp = whiteoutMeta + "settle"

// resolve returns the path of dir in the merged view of the target over
// the parent layers, as an overlay mount of them resolves it: a symlink on
// the way, in the target or in the topmost layer below that has the name,
// is followed inside the root (an absolute target starts again from the
// root, ".." stops there); whiteouts and opaque directories hide what is
// below, as in findLower. The result holds no symlink: each element is a
// directory of some layer, or in none, to be made. Directories of the
// target in a.unsettled are looked through, for the symlink they hide.
// Nothing is followed by the kernel: the target is read with *at calls
// that do not follow, and the layers below with lookupLayer. It fails with
// ELOOP past maxSymlinks symlinks, with ENOTDIR at a non-directory of the
// target, and with ENAMETOOLONG when the path grows past PATH_MAX. Only
// the slow path uses it: for a directory the target does not hold.
func (a *applier) resolve(dir string) (string, error) {
	type level struct {
		fd     int  // the directory in the target, O_RDONLY, or -1 if not there
		opaque bool // the target hides the layers below from here on
	}
	root, err := unix.Openat(a.root.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	levels := []level{{fd: root, opaque: len(a.lowers) > 0 && isOpaque(root)}}
	var done []string // resolved elements, one per level below the root
	closeFrom := func(i int) {
		for _, l := range levels[i:] {
			if l.fd >= 0 {
				unix.Close(l.fd)
			}
		}
	}
	defer func() { closeFrom(0) }()
	up := func(n int) { // to the n-th parent
		closeFrom(len(levels) - n)
		levels, done = levels[:len(levels)-n], done[:len(done)-n]
	}
	todo := strings.Split(dir, "/")
	for links := 0; len(todo) > 0; {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			up(min(len(done), 1))
			continue
		}
		name := elem
		if len(done) > 0 {
			name = strings.Join(done, "/") + "/" + elem
		}
		if len(name) >= unix.PathMax {
			return "", unix.ENAMETOOLONG // as opening it would
		}
		cur := levels[len(levels)-1]
		var st unix.Stat_t
		err := error(unix.ENOENT)
		if cur.fd >= 0 {
			err = unix.Fstatat(cur.fd, elem, &st, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil && err != unix.ENOENT {
			return "", err
		}
		here, typ := err == nil, st.Mode&unix.S_IFMT
		link, isLink := "", here && typ == unix.S_IFLNK
		_, through := a.unsettled[name]
		switch {
		case isLink:
			link, err = readlinkAt(cur.fd, elem)
		case here && typ != unix.S_IFDIR:
			return "", unix.ENOTDIR
		case (!here || through) && !cur.opaque && len(a.lowers) > 0:
			link, isLink, err = a.lowerLink(name, elem)
		}
		if err != nil && err != unix.ENOENT {
			return "", err
		}
		if isLink {
			if links++; links > maxSymlinks {
				return "", unix.ELOOP
			}
			if link == "" {
				return "", unix.ENOENT
			}
			if link[0] == '/' {
				up(len(done))
			}
			todo = append(strings.Split(link, "/"), todo...)
			continue
		}
		next := level{fd: -1, opaque: cur.opaque}
		if here {
			fd, err := unix.Openat(cur.fd, elem, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return "", err
			}
			next = level{fd: fd, opaque: cur.opaque || len(a.lowers) > 0 && isOpaque(fd)}
		}
		levels, done = append(levels, next), append(done, elem)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return strings.Join(done, "/"), nil
}

// lowerLink reads name, base in its directory, in the parent layers,
// when it is a symlink there.
func (a *applier) lowerLink(name, base string) (string, bool, error) {
	lfd, st, ok, err := a.findLower(name)
	if err != nil || !ok {
		return "", false, err
	}
	defer unix.Close(lfd)
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", false, nil
	}
	if a.followed == nil {
		a.followed = map[string]struct{}{}
	}
	a.followed[base] = struct{}{}
	link, err := readlinkAt(lfd, base)
	return link, true, err
}

// settle gives the directories a layer applied without its parents made
// up (implicit) their place and attributes, once the layers below are
// known: where the merged view of those layers has a symlink, what the
// layer put in the directory moves to where the symlink leads (see
// resolve), as if it had been applied through it; the others take the
// attributes of the same directory below, if there is one.
func (a *applier) settle(ctx context.Context, implicit map[string]struct{}) error {
	a.unsettled = make(map[string]struct{}, len(implicit))
	for name := range implicit {
		a.unsettled[name] = struct{}{}
	}
	defer func() { a.unsettled = nil }()
	// Parents first: what is under a directory that moves is settled
	// where it lands, in a later round.
	for round := 0; len(a.unsettled) > 0; round++ {
		if round > maxSymlinks {
			return fmt.Errorf("layer: settling directories: %w: %w", unix.ELOOP, errdefs.ErrInvalidArgument)
		}
		for _, name := range sortedKeys(a.unsettled) {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("layer: %w", err)
			}
			if _, ok := a.unsettled[name]; !ok {
				continue // moved with its parent
			}
			a.cache.flush()
			if err := a.settleDir(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleDir settles the made-up directory name.
func (a *applier) settleDir(name string) error {
	dir, base := splitPath(name)
	p, st, err := a.stat(dir, base)
	if missing(err) || err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		delete(a.unsettled, name)
		return nil // removed or replaced since
	}
	lfd, ok := -1, false
	if err == nil {
		lfd, st, ok, err = a.findLower(name)
	}
	if ok {
		defer unix.Close(lfd)
	}
	switch {
	case err != nil:
	case !ok:
		delete(a.unsettled, name)
		return nil
	case st.Mode&unix.S_IFMT != unix.S_IFLNK:
		delete(a.unsettled, name)
		err = a.inheritFrom(p.fd, name, base, lfd, &st)
	default:
		// A symlink below: name, still unsettled, is resolved through it.
		var dest string
		dest, err = a.resolve(name)
		delete(a.unsettled, name)
		if err == nil && dest != name {
			err = a.move(p, base, name, dest)
		}
		if err != nil {
			return a.settleError(name, err)
		}
	}
	if err != nil {
		return entryError(name, err)
	}
	return nil
}

// move moves the made-up directory name, base in p, to dest: whole if the
// target has nothing there, else what it holds, merged into the directory
// there. Made-up directories under name are renamed alike.
func (a *applier) move(p dirRef, base, name, dest string) error {
	a.cache.reset() // paths through name now lead elsewhere
	dst, err := openInRoot(a.root.fd, dest, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.ENOENT {
		ddir, dbase := splitPath(dest)
		var dp dirRef
		if dp, err = a.parent(ddir, true); err == nil {
			err = unix.Renameat2(p.fd, base, dp.fd, dbase, unix.RENAME_NOREPLACE)
		}
		if err == nil {
			a.rekey(name, dest)
			a.unsettled[dest] = struct{}{} // made up there too
		}
		return err
	}
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	// Set it aside first: dest may be a parent of name.
	if err := unix.Renameat2(p.fd, base, a.root.fd, settleTemp, unix.RENAME_NOREPLACE); err != nil {
		return err
	}
	src, err := unix.Openat(a.root.fd, settleTemp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = a.merge(src, dst, name, dest)
	if err == nil && isOpaque(src) {
		err = unix.Fsetxattr(dst, overlayOpaque, []byte("y"), 0)
	}
	unix.Close(src)
	if err == nil {
		err = unix.Unlinkat(a.root.fd, settleTemp, unix.AT_REMOVEDIR)
	}
	a.rekey(name, dest)
	return err
}

// merge moves what the directory src holds into the directory dst, src
// being the layer's directory from, dst its new place to. A directory
// meeting a directory merges into it, taking its owner and xattrs when the
// layer held it; anything else replaces what is there. Whiteouts and
// opaque directories move as they are.
func (a *applier) merge(src, dst int, from, to string) error {
	names, err := readNames(src)
	for i := 0; err == nil && i < len(names); i++ {
		n := names[i]
		if err = unix.Renameat2(src, n, dst, n, unix.RENAME_NOREPLACE); err != unix.EEXIST {
			continue
		}
		var s, d unix.Stat_t
		if err = unix.Fstatat(src, n, &s, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			err = unix.Fstatat(dst, n, &d, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err == nil && (s.Mode&unix.S_IFMT != unix.S_IFDIR || d.Mode&unix.S_IFMT != unix.S_IFDIR) {
			if err = removeAt(dst, n); err == nil {
				err = unix.Renameat2(src, n, dst, n, unix.RENAME_NOREPLACE)
			}
			continue
		}
		if err == nil {
			err = a.mergeDir(src, dst, n, &s, path.Join(from, n), path.Join(to, n))
		}
	}
	return err
}

// mergeDir merges the directory n of src, whose stat is st, into the
// directory n of dst, and removes it.
func (a *applier) mergeDir(src, dst int, n string, st *unix.Stat_t, from, to string) error {
	sfd, err := unix.Openat(src, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	dfd, err := unix.Openat(dst, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	err = a.merge(sfd, dfd, from, to)
	if _, madeUp := a.unsettled[from]; !madeUp && err == nil {
		// The layer's directory: its attributes, not those below.
		delete(a.unsettled, to)
		var m meta
		if m, err = a.metaOf(src, n, st); err == nil {
			err = a.own(dst, n, &m)
		}
	}
	if err == nil && isOpaque(sfd) {
		err = unix.Fsetxattr(dfd, overlayOpaque, []byte("y"), 0)
	}
	delete(a.unsettled, from) // merged into what is there
	if err == nil {
		err = unix.Unlinkat(src, n, unix.AT_REMOVEDIR)
	}
	return err
}

// rekey renames the made-up directories under name, moved to dest.
func (a *applier) rekey(name, dest string) {
	var moved []string
	for k := range a.unsettled {
		if strings.HasPrefix(k, name+"/") {
			moved = append(moved, k)
		}
	}
	for _, k := range moved {
		delete(a.unsettled, k)
		a.unsettled[path.Join(dest, k[len(name)+1:])] = struct{}{}
	}
}

// settleError describes err, met settling the made-up directory name, by
// an entry the layer put in it.
func (a *applier) settleError(name string, err error) error {
	entry := name
	if fd, oerr := openInRoot(a.root.fd, name, unix.O_RDONLY|unix.O_DIRECTORY); oerr == nil {
		if names, _ := readNames(fd); len(names) > 0 {
			entry = path.Join(name, names[0])
		}
		unix.Close(fd)
	}
	return entryError(entry, dirError(name, err))
}
