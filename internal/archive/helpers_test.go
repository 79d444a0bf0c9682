package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testTime is the modification time of test entries that set none.
var testTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// ent is a tar entry to build a test layer from.
type ent struct {
	hdr  tar.Header
	body string
}

func fileEnt(name, body string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, body: body}
}

func dirEnt(name string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func symlinkEnt(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func linkEnt(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

func nodeEnt(name string, typ byte, major, minor int64) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o620, Devmajor: major, Devminor: minor}}
}

// with returns e changed by f, for the fields the constructors leave out.
func (e ent) with(f func(h *tar.Header)) ent {
	f(&e.hdr)
	return e
}

// tarOf returns the tar stream of ents, in PAX format unless an entry says
// otherwise.
func tarOf(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := e.hdr
		if h.ModTime.IsZero() {
			h.ModTime = testTime
		}
		if h.Format == tar.FormatUnknown {
			h.Format = tar.FormatPAX
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar entry %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// applyEnts applies ents as one layer to dir.
func applyEnts(t testing.TB, dir string, opts []ApplyOpt, ents ...ent) (*Result, error) {
	t.Helper()
	return Apply(context.Background(), dir, bytes.NewReader(tarOf(t, ents...)), opts...)
}

// mustApply applies ents as one layer to dir and fails the test on error.
func mustApply(t testing.TB, dir string, opts []ApplyOpt, ents ...ent) *Result {
	t.Helper()
	res, err := applyEnts(t, dir, opts, ents...)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: run as root (CI does)")
	}
}

// newTarget returns an empty directory to apply to.
func newTarget(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sandbox is a target directory with sentinels next to it, whose state is
// recorded so that a test can check that applying changed nothing outside.
type sandbox struct {
	base   string // holds root and the sentinels
	root   string // the target
	out    string // a directory of sentinels
	before map[string]nodeState
}

// nodeState is everything about a file an escape could change.
type nodeState struct {
	mode         fs.FileMode
	uid, gid     uint32
	nlink        uint64
	size         int64
	mtime, atime unix.Timespec
	content      [32]byte
	link         string
	xattrs       string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	base := t.TempDir()
	sb := &sandbox{base: base, root: filepath.Join(base, "root"), out: filepath.Join(base, "outside")}
	for _, d := range []string{sb.root, sb.out, filepath.Join(sb.out, "dir")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(sb.out, "secret"):       "secret\n",
		filepath.Join(sb.out, "dir", "inner"): "inner\n",
		filepath.Join(base, "passwd"):         "root:x:0:0:root:/root:/bin/sh\n",
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		// Best effort: user xattrs need a file system that has them.
		unix.Setxattr(p, "user.sentinel", []byte("v"), 0)
	}
	if err := os.Symlink("secret", filepath.Join(sb.out, "link")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{filepath.Join(sb.out, "secret"), filepath.Join(sb.out, "dir", "inner"), filepath.Join(base, "passwd"), filepath.Join(sb.out, "dir"), sb.out} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// A first look sets the access times (relatime updates them once after
	// a change); the second records them.
	sb.state(t)
	sb.before = sb.state(t)
	return sb
}

// state records every file under base but root (and base itself).
func (sb *sandbox) state(t testing.TB) map[string]nodeState {
	t.Helper()
	return treeState(t, sb.base, sb.root)
}

// treeState records every file under dir, by path relative to dir, but
// skip and what it holds.
func treeState(t testing.TB, dir, skip string) map[string]nodeState {
	t.Helper()
	m := map[string]nodeState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		ns := nodeState{
			mode: fs.FileMode(st.Mode), uid: st.Uid, gid: st.Gid, nlink: st.Nlink, size: st.Size,
			mtime: st.Mtim, atime: st.Atim,
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			ns.content = sha256.Sum256(b)
		case unix.S_IFLNK:
			ns.link, _ = os.Readlink(p)
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(p, buf); err == nil {
			ns.xattrs = string(buf[:n])
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = ns
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// check fails the test if anything outside root changed.
func (sb *sandbox) check(t testing.TB) {
	t.Helper()
	after := sb.state(t)
	for p, b := range sb.before {
		a, ok := after[p]
		if !ok {
			t.Errorf("outside the target: %s was removed", p)
			continue
		}
		if a != b {
			t.Errorf("outside the target: %s changed:\n before %+v\n after  %+v", p, b, a)
		}
	}
	for p := range after {
		if _, ok := sb.before[p]; !ok {
			t.Errorf("outside the target: %s appeared", p)
		}
	}
}

// in returns the path of name inside the target.
func (sb *sandbox) in(name string) string {
	return filepath.Join(sb.root, name)
}

// readFile returns the content of p, failing the test if it cannot.
func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lstat(t testing.TB, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

// abs strips the leading slash of an absolute path, to name it in a tar.
func abs(p string) string {
	return strings.TrimPrefix(p, "/")
}
