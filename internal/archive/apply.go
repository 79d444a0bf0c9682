package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// MaxTrailingData is how many bytes may follow the end of a tar archive in
// a layer stream (tar writers pad to their record size, 10 KiB by
// default). They are read and hashed into the DiffID; a longer tail fails
// the apply.
const MaxTrailingData = 1 << 20

// copyBufferSize is the buffer between a file's content in the tar and the
// write to the file.
const copyBufferSize = 1 << 20

const (
	whiteoutPrefix = ".wh."
	// whiteoutMeta starts the names of whiteout-format metadata files
	// (.wh..wh..opq, .wh..wh.plnk, .wh..wh.aufs).
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	// overlayOpaque marks an overlay directory hiding the layers below.
	overlayOpaque = "trusted.overlay.opaque"
	paxXattr      = "SCHILY.xattr."
	paxSparse     = "GNU.sparse."
)

var (
	errEscapes = errors.New("escapes the root")
	errNUL     = errors.New("name holds a NUL byte")
)

// WhiteoutFormat is how an applied layer records deletions.
type WhiteoutFormat int

const (
	// WhiteoutDelete applies deletions to the target, which holds the
	// layers below: ".wh.NAME" removes NAME, ".wh..wh..opq" empties its
	// directory of what earlier layers put there (entries of the same layer
	// stay).
	WhiteoutDelete WhiteoutFormat = iota
	// WhiteoutOverlay writes deletions as overlayfs does, the target being
	// an overlay upperdir: ".wh.NAME" becomes a 0/0 character device NAME,
	// ".wh..wh..opq" sets the xattr trusted.overlay.opaque="y" on its
	// directory. No mount is used.
	WhiteoutOverlay
)

// ApplyOpt is an option of [Apply] and [ApplyLayer].
type ApplyOpt func(*applyOptions) error

type applyOptions struct {
	whiteouts   WhiteoutFormat
	parents     []string
	noSameOwner bool
}

// WithWhiteouts sets how deletions are applied. The default is
// WhiteoutDelete.
func WithWhiteouts(f WhiteoutFormat) ApplyOpt {
	return func(o *applyOptions) error {
		if f != WhiteoutDelete && f != WhiteoutOverlay {
			return fmt.Errorf("whiteout format %d: %w", f, errdefs.ErrInvalidArgument)
		}
		o.whiteouts = f
		return nil
	}
}

// WithParents names the directories of the layers below the target,
// topmost first; they are only read. They give a parent directory that an
// entry needs but the layer does not hold the mode, owner, times and
// xattrs of the same directory below, and, in overlay mode, they tell
// where such a directory is when it is a symlink below (the entry goes
// where the symlink leads, see the package documentation) and hold the
// targets of hard links to files of lower layers, which are copied up into
// the target and linked there. Lookups in them follow overlay rules: a
// whiteout or an opaque directory hides what is below. The default is
// none: in overlay mode, such work is left pending (see [Result.Pending]).
func WithParents(dirs ...string) ApplyOpt {
	return func(o *applyOptions) error {
		o.parents = append(o.parents, dirs...)
		return nil
	}
}

// WithNoSameOwner keeps the applying user as the owner of what is created,
// rather than the uid and gid of the entries. Without root this is always
// so; device nodes, trusted.* and security.* xattrs are then skipped too.
func WithNoSameOwner() ApplyOpt {
	return func(o *applyOptions) error {
		o.noSameOwner = true
		return nil
	}
}

func makeOptions(opts []ApplyOpt) (applyOptions, error) {
	var o applyOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, fmt.Errorf("layer: %w", err)
		}
	}
	return o, nil
}

// Result describes an applied layer.
type Result struct {
	// Size is the number of uncompressed bytes read: the whole tar stream,
	// padding and trailing data included.
	Size int64
	// DiffID is the SHA-256 digest of those bytes, the layer's diffID.
	DiffID digest.Digest
	// Compression is the compression the stream was found in.
	Compression Compression

	pending *pending
}

// pending is the work an overlay-mode apply left for [Result.Finish].
type pending struct {
	opts     applyOptions
	links    map[string]string   // name -> hard link target found in no layer yet
	implicit map[string]struct{} // parent directories the layer made up
	dirs     []dirMeta           // the directories' modes and times, set again last
}

// Pending reports whether the apply left work that needs the layers below:
// in overlay mode without [WithParents], hard links to files the layer
// does not hold, and parent directories it did not hold, which it made
// up: they should get the attributes of the same directories below, or,
// where the layers below have a symlink, give way to it. [Result.Finish]
// does it.
func (r *Result) Pending() bool {
	return r.pending != nil
}

// Finish does the work the apply left pending (see [Result.Pending]) in
// dir, the directory the layer was applied to, given the directories of
// the layers below, topmost first, once they are complete. First the
// made-up parent directories, parents first: one that is a symlink in the
// merged view of the layers below gives way to it, what the layer put in
// it being renamed to where the symlink leads, inside dir (merged into a
// directory there, the moved entries winning; whiteouts and opaque
// directories move as they are); the others take the attributes of their
// namesakes below. Then it copies up the targets of pending hard links and
// links them, their paths resolved as the entries' were. It fails, with
// errdefs.ErrInvalidArgument, if a hard link target is in no layer, or if
// a symlink below loops, naming an entry under it. Finish does nothing
// when nothing is pending; on success nothing is pending anymore. Applying
// layers in parallel, each into its own overlay upperdir, then finishing
// them in order from the bottom, gives the same result as applying them in
// order with WithParents.
func (r *Result) Finish(ctx context.Context, dir string, parents ...string) error {
	if r.pending == nil {
		return nil
	}
	o := r.pending.opts
	o.parents = parents
	a, err := newApplier(dir, o, false)
	if err != nil {
		return err
	}
	defer a.close()
	// Directories first: pending hard links may be under those that move.
	if err := a.settle(ctx, r.pending.implicit); err != nil {
		return err
	}
	for _, name := range sortedKeys(r.pending.links) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		a.cache.flush()
		dir, base := splitPath(name)
		p, err := a.parent(dir, true)
		if err == nil {
			err = a.hardlink(p, name, base, r.pending.links[name])
		}
		if err != nil {
			return entryError(name, err)
		}
	}
	// The layer's own directories last: their attributes win over those
	// from below, should two paths name one directory.
	a.dirs = slices.Concat(a.dirs, r.pending.dirs)
	if err := a.finishDirs(); err != nil {
		return err
	}
	r.pending = nil
	return nil
}

// Apply applies the uncompressed tar stream r to the directory dir, as a
// layer over what dir holds, and returns its size and digest. Every path
// is resolved inside dir: nothing outside it is ever written, linked,
// removed or changed, whatever the entries' names, symlinks or hard links.
// An entry that would leave dir fails the apply with
// errdefs.ErrInvalidArgument naming it, as does a stream that is not a tar
// archive or holds more than [MaxTrailingData] after its end. Apply reads r
// in a goroutine of its own, and not after it returns. It stops between
// entries when ctx is done. On failure dir is left partly applied.
func Apply(ctx context.Context, dir string, r io.Reader, opts ...ApplyOpt) (*Result, error) {
	return apply(ctx, dir, r, Uncompressed, opts)
}

// ApplyLayer is [Apply] for a layer stream in any [Compression]: it tells
// the compression from the first bytes, decompresses, hashes the
// uncompressed stream into the DiffID and applies it, in one pass over the
// data, the decompression overlapping the writes.
func ApplyLayer(ctx context.Context, dir string, r io.Reader, opts ...ApplyOpt) (*Result, error) {
	rc, c, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return apply(ctx, dir, rc, c, opts)
}

func apply(ctx context.Context, dir string, r io.Reader, c Compression, opts []ApplyOpt) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	a, err := newApplier(dir, o, true)
	if err != nil {
		return nil, err
	}
	defer a.close()
	s := newStream(r)
	defer s.stop()
	tr := tar.NewReader(s)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		a.cache.flush()
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, readError(s, err)
		}
		if err := a.entry(hdr, tr); err != nil {
			if s.readErr != nil {
				return nil, readError(s, err)
			}
			return nil, err
		}
	}
	n, err := io.CopyN(io.Discard, s, MaxTrailingData+1)
	if err != nil && err != io.EOF {
		return nil, readError(s, err)
	}
	if n > MaxTrailingData {
		return nil, fmt.Errorf("layer: more than %d bytes after the end of the tar archive: %w", MaxTrailingData, errdefs.ErrInvalidArgument)
	}
	if err := a.finishDirs(); err != nil {
		return nil, err
	}
	res := &Result{Size: s.size, DiffID: digest.NewDigestFromBytes(digest.SHA256, s.hash.Sum(nil)), Compression: c}
	if len(a.links) > 0 || len(a.implicit) > 0 {
		res.pending = &pending{opts: o, links: a.links, implicit: a.implicit, dirs: a.dirs}
	}
	return res, nil
}

// readError describes err, met reading the tar stream s.
func readError(s *stream, err error) error {
	if s.readErr != nil {
		return fmt.Errorf("layer: reading the stream: %w", s.readErr)
	}
	return fmt.Errorf("layer: not a valid tar stream: %w: %w", err, errdefs.ErrInvalidArgument)
}

func entryError(name string, err error) error {
	return fmt.Errorf("layer entry %q: %w", name, err)
}

// invalid is the error of a hostile or malformed entry.
func invalid(why string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(why, args...), errdefs.ErrInvalidArgument)
}

// origin says how an entry of the target came to be, for opaque whiteouts
// in delete mode. The zero origin is an entry there before the layer.
type origin uint8

const (
	madeNew origin = iota + 1 // created by the layer
	merged                    // a directory there before, which the layer holds too
)

// childKey names an entry by its directory's identity and its name.
type childKey struct {
	dev, ino uint64
	name     string
}

// dirMeta is what is set on a directory once everything in it is written.
type dirMeta struct {
	path  string
	mode  uint32
	times [2]unix.Timespec
}

// meta is the metadata of an entry.
type meta struct {
	mode     uint32 // permission bits, setuid, setgid and sticky
	uid, gid int
	times    [2]unix.Timespec // access, modification
	xattrs   map[string]string
}

// applier applies entries to one target directory.
type applier struct {
	o          applyOptions
	root       dirRef // the target, O_PATH
	lowers     []int  // the parent layers, O_RDONLY, topmost first
	cache      dirCache
	owner      bool // chown entries to their owners
	privileged bool // euid 0: device nodes, trusted.* and security.* xattrs
	uid, gid   int  // effective ids, the owner of what is created
	umask      uint32
	buf        []byte
	dirs       []dirMeta

	created   map[childKey]origin // delete mode only
	implicit  map[string]struct{} // overlay mode without parents only
	links     map[string]string   // overlay mode without parents, apply only
	unsettled map[string]struct{} // Finish: made-up directories resolve sees through
	followed  map[string]struct{} // names of the symlinks below resolve followed
}

func newApplier(dir string, o applyOptions, applying bool) (*applier, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	root, err := openDirRef(".", fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("layer: %w", &os.PathError{Op: "stat", Path: dir, Err: err})
	}
	a := &applier{o: o, root: root, uid: unix.Geteuid(), gid: unix.Getegid(), umask: processUmask()}
	a.privileged = a.uid == 0
	a.owner = a.privileged && !o.noSameOwner
	if o.whiteouts == WhiteoutDelete {
		a.created = map[childKey]origin{}
	}
	for _, p := range o.parents {
		lfd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("layer: parent layer: %w", &os.PathError{Op: "open", Path: p, Err: err})
		}
		a.lowers = append(a.lowers, lfd)
	}
	if o.whiteouts == WhiteoutOverlay && len(o.parents) == 0 && applying {
		a.implicit = map[string]struct{}{}
		a.links = map[string]string{}
	}
	if applying {
		a.buf = make([]byte, copyBufferSize)
	}
	return a, nil
}

func (a *applier) close() {
	a.cache.reset()
	a.cache.flush()
	for _, fd := range a.lowers {
		unix.Close(fd)
	}
	unix.Close(a.root.fd)
}

// entry applies one tar entry; r reads its content.
func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	if err := a.put(hdr, r); err != nil {
		return entryError(hdr.Name, err)
	}
	return nil
}

func (a *applier) put(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return invalid("%v", err)
	}
	dir, base := splitPath(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(dir, base)
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		if isPAXSparse(hdr) {
			return nil
		}
	case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	case tar.TypeChar, tar.TypeBlock:
		if !a.privileged {
			return nil
		}
	default:
		// Sparse files (TypeGNUSparse), global headers and unknown types.
		return nil
	}
	m, err := a.meta(hdr)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return invalid("would replace the root")
		}
		return a.dir(a.root, name, name, &m)
	}
	p, err := a.parent(dir, true)
	if err != nil {
		return err
	}
	delete(a.links, name)
	switch hdr.Typeflag {
	case tar.TypeReg:
		return a.file(p, base, &m, r)
	case tar.TypeDir:
		return a.dir(p, name, base, &m)
	case tar.TypeSymlink:
		return a.symlink(p, base, hdr.Linkname, &m)
	case tar.TypeLink:
		return a.hardlink(p, name, base, hdr.Linkname)
	}
	return a.node(p, base, hdr, &m)
}

func isPAXSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSparse) {
			return true
		}
	}
	return false
}

const maxID = math.MaxUint32 - 1 // (uid_t)-1 means "unchanged" to chown

// meta reads an entry's metadata from its header.
func (a *applier) meta(hdr *tar.Header) (meta, error) {
	if hdr.Uid < 0 || hdr.Uid > maxID || hdr.Gid < 0 || hdr.Gid > maxID {
		return meta{}, invalid("owner %d:%d out of range", hdr.Uid, hdr.Gid)
	}
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	m := meta{
		mode:  uint32(hdr.Mode & 0o7777),
		uid:   hdr.Uid,
		gid:   hdr.Gid,
		times: [2]unix.Timespec{timespec(at), timespec(hdr.ModTime)},
	}
	for k, v := range hdr.PAXRecords {
		if key, ok := strings.CutPrefix(k, paxXattr); ok && a.keepXattr(key) {
			if m.xattrs == nil {
				m.xattrs = map[string]string{}
			}
			m.xattrs[key] = v
		}
	}
	return m, nil
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// keepXattr tells whether an xattr of an entry is set: never overlay's
// own, which would forge whiteouts, and trusted.* and security.* only when
// privileged.
func (a *applier) keepXattr(key string) bool {
	switch {
	case strings.HasPrefix(key, "trusted.overlay."), strings.HasPrefix(key, "user.overlay."):
		return false
	case strings.HasPrefix(key, "trusted."), strings.HasPrefix(key, "security."):
		return a.privileged
	}
	return true
}

// parent returns the directory dir of the target, resolved inside the
// root. When create is set, missing directories are made. In overlay mode,
// a directory the target does not hold is looked for in the merged view
// of the layers (see resolve): a symlink below leads where it does in a
// mount of them.
func (a *applier) parent(dir string, create bool) (dirRef, error) {
	if dir == "." {
		return a.root, nil
	}
	if d, ok := a.cache.get(dir); ok {
		return d, nil
	}
	real := dir
	fd, err := openInRoot(a.root.fd, dir, unix.O_PATH|unix.O_DIRECTORY)
	if err == unix.ENOENT && a.o.whiteouts == WhiteoutOverlay {
		// Not in the upperdir: find it in the merged view of the layers.
		if real, err = a.resolve(dir); err == nil && real != dir {
			fd, err = openInRoot(a.root.fd, real, unix.O_PATH|unix.O_DIRECTORY)
		} else if err == nil {
			err = unix.ENOENT
		}
	}
	if err == unix.ENOENT && create {
		fd, err = a.mkdirAll(real)
	}
	if err != nil {
		return dirRef{}, dirError(dir, err)
	}
	d, err := openDirRef(dir, fd)
	if err != nil {
		unix.Close(fd)
		return dirRef{}, err
	}
	a.cache.put(d)
	return d, nil
}

// dirError describes err, met resolving or making the directory dir.
func dirError(dir string, err error) error {
	switch err {
	case unix.ENOTDIR, unix.ELOOP, unix.ENAMETOOLONG:
		// Not a directory, or a symlink leading nowhere: the layer's doing.
		return fmt.Errorf("directory %q: %w: %w", dir, err, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("directory %q: %w", dir, err)
}

// mkdirAll makes the missing directories of dir, and returns it open.
func (a *applier) mkdirAll(dir string) (int, error) {
	// Find the deepest ancestor there is: dir[:end], or the root.
	end, fd := len(dir), -1
	for end > 0 && fd < 0 {
		end = max(strings.LastIndexByte(dir[:end], '/'), 0)
		if end == 0 {
			break
		}
		f, err := openInRoot(a.root.fd, dir[:end], unix.O_PATH|unix.O_DIRECTORY)
		switch {
		case err == nil:
			fd = f
		case err != unix.ENOENT:
			return -1, err
		}
	}
	if fd < 0 {
		var err error
		if fd, err = unix.Openat(a.root.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return -1, err
		}
	}
	// Make the rest, one by one, never following a symlink.
	for end < len(dir) {
		start := end
		if start > 0 {
			start++
		}
		end = strings.IndexByte(dir[start:], '/')
		if end < 0 {
			end = len(dir)
		} else {
			end += start
		}
		next, err := a.mkdirImplicit(fd, dir[:end], dir[start:end])
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// mkdirImplicit makes the parent directory name (base in dirfd) that no
// entry created, and returns it open.
func (a *applier) mkdirImplicit(dirfd int, name, base string) (int, error) {
	err := unix.Mkdirat(dirfd, base, 0o755)
	if err != nil && err != unix.EEXIST {
		return -1, err
	}
	made := err == nil
	fd, err := unix.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP {
		err = unix.ENOTDIR // a symlink leading nowhere
	}
	if err != nil || !made {
		return fd, err
	}
	if err = unix.Fchmod(fd, 0o755); err == nil && a.owner {
		err = unix.Fchown(fd, 0, 0)
	}
	if err == nil && a.created != nil {
		var st unix.Stat_t
		if err = unix.Fstat(dirfd, &st); err == nil {
			a.created[childKey{st.Dev, st.Ino, base}] = madeNew
		}
	}
	if err == nil {
		if a.implicit != nil {
			a.implicit[name] = struct{}{}
		} else {
			err = a.inherit(dirfd, name, base)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// made records that the layer put base in p.
func (a *applier) made(p dirRef, base string, how origin) {
	if a.created == nil {
		return
	}
	k := childKey{p.dev, p.ino, base}
	if how == merged && a.created[k] == madeNew {
		return
	}
	a.created[k] = how
}

// replacing runs mk, which creates base in p; if base is taken, it removes
// what is there and runs mk again.
func (a *applier) replacing(p dirRef, base string, mk func() error) error {
	a.shadowing(base)
	err := mk()
	if err != unix.EEXIST {
		return err
	}
	if err := a.remove(p, base); err != nil {
		return err
	}
	return mk()
}

// shadowing is told that base is about to be made in a directory of the
// target. If a directory was resolved through a symlink of that name in
// the layers below, the new entry may hide it: the open directories are
// forgotten.
func (a *applier) shadowing(base string) {
	if _, ok := a.followed[base]; ok {
		a.cache.reset()
		clear(a.followed)
	}
}

// remove removes base from p, recursively.
func (a *applier) remove(p dirRef, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(p.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFDIR || t == unix.S_IFLNK {
		// Paths through base now resolve elsewhere, or nowhere.
		a.cache.reset()
	}
	return removeAt(p.fd, base)
}

func (a *applier) file(p dirRef, base string, m *meta, r io.Reader) error {
	var fd int
	err := a.replacing(p, base, func() (err error) {
		fd, err = unix.Openat(p.fd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, m.mode&0o777)
		return err
	})
	if err != nil {
		return err
	}
	// Most files need neither chown nor chmod: they belong to whoever
	// applies, and the umask leaves their mode alone.
	err = a.fill(fd, r)
	if err == nil && a.owner && (m.uid != a.uid || m.gid != a.gid || p.setgid) {
		err = unix.Fchown(fd, m.uid, m.gid)
	}
	if err == nil && (m.mode&^0o777 != 0 || m.mode&a.umask != 0) {
		// After chown, which clears setuid and setgid.
		err = unix.Fchmod(fd, m.mode)
	}
	for k, v := range m.xattrs {
		if err == nil {
			err = xattrError(k, unix.Fsetxattr(fd, k, []byte(v), 0))
		}
	}
	if err == nil {
		err = unix.UtimesNanoAt(p.fd, base, m.times[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		a.made(p, base, madeNew)
	}
	return err
}

// fill writes the rest of r to fd.
func (a *applier) fill(fd int, r io.Reader) error {
	for {
		n, err := r.Read(a.buf)
		for b := a.buf[:n]; len(b) > 0; {
			w, werr := unix.Write(fd, b)
			if werr != nil && werr != unix.EINTR {
				return werr
			}
			b = b[max(w, 0):]
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (a *applier) dir(p dirRef, name, base string, m *meta) error {
	how := merged
	if name != "." {
		a.shadowing(base)
		err := unix.Mkdirat(p.fd, base, 0o700)
		if err == unix.EEXIST {
			var st unix.Stat_t
			if err = unix.Fstatat(p.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				if err = a.remove(p, base); err == nil {
					err = unix.Mkdirat(p.fd, base, 0o700)
					how = madeNew
				}
			}
		} else {
			how = madeNew
		}
		if err != nil {
			return err
		}
	}
	if err := a.own(p.fd, base, m); err != nil {
		return err
	}
	// Mode and times last: a directory without write permission could not
	// be filled, and filling it changes its times.
	a.dirs = append(a.dirs, dirMeta{path: name, mode: m.mode, times: m.times})
	a.made(p, base, how)
	delete(a.implicit, name)
	return nil
}

// own sets the owner and xattrs of base in dirfd, not following a symlink.
func (a *applier) own(dirfd int, base string, m *meta) error {
	if a.owner {
		if err := unix.Fchownat(dirfd, base, m.uid, m.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	for k, v := range m.xattrs {
		if err := xattrError(k, unix.Lsetxattr(procPath(dirfd, base), k, []byte(v), 0)); err != nil {
			return err
		}
	}
	return nil
}

// xattrError describes the failure to set the xattr key. A file system
// without xattrs is not a failure: there is nowhere to keep them.
func xattrError(key string, err error) error {
	if err == nil || err == unix.ENOTSUP {
		return nil
	}
	return fmt.Errorf("xattr %s: %w", key, err)
}

func (a *applier) symlink(p dirRef, base, target string, m *meta) error {
	err := a.replacing(p, base, func() error { return unix.Symlinkat(target, p.fd, base) })
	if err == nil {
		err = a.own(p.fd, base, m)
	}
	if err == nil {
		err = unix.UtimesNanoAt(p.fd, base, m.times[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == nil {
		a.made(p, base, madeNew)
	}
	return err
}

// node makes a fifo or a device node.
func (a *applier) node(p dirRef, base string, hdr *tar.Header, m *meta) error {
	if hdr.Devmajor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor < 0 || hdr.Devminor > math.MaxUint32 {
		return invalid("device %d:%d out of range", hdr.Devmajor, hdr.Devminor)
	}
	typ := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		typ = unix.S_IFCHR
	case tar.TypeBlock:
		typ = unix.S_IFBLK
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	err := a.replacing(p, base, func() error { return unix.Mknodat(p.fd, base, typ|0o600, int(dev)) })
	if err == unix.EPERM && typ != unix.S_IFIFO {
		return nil // no CAP_MKNOD, as in a user namespace: skipped, as without root
	}
	if err == nil {
		err = a.own(p.fd, base, m)
	}
	if err == nil {
		err = chmodAt(p.fd, base, m.mode)
	}
	if err == nil {
		err = unix.UtimesNanoAt(p.fd, base, m.times[:], unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == nil {
		a.made(p, base, madeNew)
	}
	return err
}

// hardlink links name (base in p) to the earlier entry linkname.
func (a *applier) hardlink(p dirRef, name, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return invalid("hard link target %q: %v", linkname, err)
	}
	if target == "." {
		return invalid("hard link to the root")
	}
	if target == name {
		return nil
	}
	tdir, tbase := splitPath(target)
	tp, st, err := a.stat(tdir, tbase)
	if missing(err) {
		switch {
		case a.links != nil:
			a.links[name] = target
			return nil
		case a.o.whiteouts == WhiteoutOverlay && len(a.lowers) > 0:
			found, cerr := a.copyUp(target)
			if cerr != nil {
				return cerr
			}
			if found {
				tp, st, err = a.stat(tdir, tbase)
			}
		}
	}
	switch {
	case missing(err):
		return invalid("hard link target %q not found", linkname)
	case err != nil:
		return err
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return invalid("hard link to directory %q", linkname)
	}
	err = a.replacing(p, base, func() error { return unix.Linkat(tp.fd, tbase, p.fd, base, 0) })
	if err == nil {
		a.made(p, base, madeNew)
	}
	return err
}

// stat resolves dir, without making it, and stats base there.
func (a *applier) stat(dir, base string) (dirRef, unix.Stat_t, error) {
	var st unix.Stat_t
	p, err := a.parent(dir, false)
	if err == nil {
		err = unix.Fstatat(p.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	return p, st, err
}

// missing tells whether err says a path is not there.
func missing(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}

// finishDirs sets the mode and times of the directories the layer holds,
// deepest first, the last entry for a directory winning, whatever path it
// names it by.
func (a *applier) finishDirs() error {
	done := make(map[string]bool, len(a.dirs))
	set := make(map[[2]uint64]bool, len(a.dirs)) // by device and inode
	for i := len(a.dirs) - 1; i >= 0; i-- {
		d := a.dirs[i]
		if done[d.path] {
			continue
		}
		done[d.path] = true
		a.cache.flush()
		dir, base := splitPath(d.path)
		p, st, err := a.stat(dir, base)
		id := [2]uint64{st.Dev, st.Ino}
		if missing(err) || err == nil && (st.Mode&unix.S_IFMT != unix.S_IFDIR || set[id]) {
			continue // removed or replaced by a later entry, or set already
		}
		set[id] = true
		if err == nil {
			err = chmodAt(p.fd, base, d.mode)
		}
		if err == nil {
			err = unix.UtimesNanoAt(p.fd, base, d.times[:], unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			return entryError(d.path, err)
		}
	}
	return nil
}
