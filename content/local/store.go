package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/filters"
)

// Store is the on-disk content store. Its methods are safe for concurrent
// use, also by several processes sharing the root.
type Store struct {
	root string
}

var (
	_ content.Store        = (*Store)(nil)
	_ content.PathProvider = (*Store)(nil)
)

// NewStore opens the store rooted at root, creating its directories.
func NewStore(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("content store root is empty: %w", errdefs.ErrInvalidArgument)
	}
	for _, d := range []string{root, filepath.Join(root, "blobs"), filepath.Join(root, "ingest")} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("content store %s: %w", root, err)
		}
	}
	return &Store{root: root}, nil
}

// Root returns the directory the store lives in.
func (s *Store) Root() string { return s.root }

func (s *Store) blobPath(d digest.Digest) (string, error) {
	if err := content.ValidateDigest(d); err != nil {
		return "", err
	}
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), d.Encoded()), nil
}

func (s *Store) ingestDir(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(s.root, "ingest", hex.EncodeToString(sum[:]))
}

// BlobPath returns the path of a committed blob's file.
func (s *Store) BlobPath(ctx context.Context, d digest.Digest) (string, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(p); err != nil {
		return "", blobErr(d, err)
	}
	return p, nil
}

func blobErr(d digest.Digest, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("content %s: %w", d, errdefs.ErrNotFound)
	}
	return fmt.Errorf("content %s: %w", d, err)
}

// Info describes a committed blob. This store keeps no labels.
func (s *Store) Info(ctx context.Context, d digest.Digest) (content.Info, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return content.Info{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return content.Info{}, blobErr(d, err)
	}
	return fileInfo(d, fi), nil
}

func fileInfo(d digest.Digest, fi fs.FileInfo) content.Info {
	created := fi.ModTime()
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		created = time.Unix(st.Ctim.Unix())
	}
	return content.Info{Digest: d, Size: fi.Size(), CreatedAt: created, UpdatedAt: fi.ModTime()}
}

// Update fails with NotImplemented: this store keeps no labels.
func (s *Store) Update(ctx context.Context, info content.Info, fieldpaths ...string) (content.Info, error) {
	return content.Info{}, fmt.Errorf("content %s: the local store keeps no labels: %w", info.Digest, errdefs.ErrNotImplemented)
}

// Walk visits committed blobs in digest order.
func (s *Store) Walk(ctx context.Context, fn content.WalkFunc, fltrs ...string) error {
	filter, err := filters.Parse(fltrs...)
	if err != nil {
		return err
	}
	algs, err := os.ReadDir(filepath.Join(s.root, "blobs"))
	if err != nil {
		return fmt.Errorf("content store %s: %w", s.root, err)
	}
	for _, alg := range algs {
		a := digest.Algorithm(alg.Name())
		if !alg.IsDir() || !a.Available() {
			continue
		}
		dir := filepath.Join(s.root, "blobs", alg.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("content store %s: %w", dir, err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := digest.NewDigestFromEncoded(a, e.Name())
			if d.Validate() != nil {
				continue // not a blob of ours
			}
			fi, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted while walking
				}
				return err
			}
			info := fileInfo(d, fi)
			if !filter.Match(content.InfoAdaptor(info)) {
				continue
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes a committed blob.
func (s *Store) Delete(ctx context.Context, d digest.Digest) error {
	p, err := s.blobPath(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return blobErr(d, err)
	}
	return nil
}

// ReaderAt opens a committed blob.
func (s *Store) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	p, err := s.blobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, blobErr(desc.Digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blobErr(desc.Digest, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("content %s: not a regular file: %w", desc.Digest, errdefs.ErrFailedPrecondition)
	}
	return &readerAt{File: f, size: fi.Size()}, nil
}

type readerAt struct {
	*os.File
	size int64
}

func (r *readerAt) Size() int64 { return r.size }

// ingestStatus is what an ingest's status file holds.
type ingestStatus struct {
	Ref       string        `json:"ref"`
	Total     int64         `json:"total,omitempty"`
	Expected  digest.Digest `json:"expected,omitempty"`
	StartedAt time.Time     `json:"startedAt"`
}

const maxStatusFile = 4096

func readIngestStatus(dir string) (ingestStatus, error) {
	var st ingestStatus
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return st, err
	}
	if len(b) > maxStatusFile {
		return st, fmt.Errorf("ingest status %s: %d bytes: %w", dir, len(b), errdefs.ErrDataLoss)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("ingest status %s: %v: %w", dir, err, errdefs.ErrDataLoss)
	}
	return st, nil
}

func (s *Store) status(dir string) (content.Status, error) {
	st, err := readIngestStatus(dir)
	if err != nil {
		return content.Status{}, err
	}
	fi, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		return content.Status{}, err
	}
	return content.Status{
		Ref: st.Ref, Offset: fi.Size(), Total: st.Total, Expected: st.Expected,
		StartedAt: st.StartedAt, UpdatedAt: fi.ModTime(),
	}, nil
}

// Status describes an ingest under way.
func (s *Store) Status(ctx context.Context, ref string) (content.Status, error) {
	if err := content.ValidateRef(ref); err != nil {
		return content.Status{}, err
	}
	st, err := s.status(s.ingestDir(ref))
	if err != nil {
		return content.Status{}, ingestErr(ref, err)
	}
	if st.Ref != ref {
		return content.Status{}, fmt.Errorf("ingest %q: %w", ref, errdefs.ErrNotFound)
	}
	return st, nil
}

func ingestErr(ref string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ingest %q: %w", ref, errdefs.ErrNotFound)
	}
	return fmt.Errorf("ingest %q: %w", ref, err)
}

// ListStatuses describes the ingests under way, in ref order. Filters see
// the fields ref, offset, total and expected.
func (s *Store) ListStatuses(ctx context.Context, fltrs ...string) ([]content.Status, error) {
	filter, err := filters.Parse(fltrs...)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, "ingest"))
	if err != nil {
		return nil, fmt.Errorf("content store %s: %w", s.root, err)
	}
	var out []content.Status
	for _, e := range ents {
		st, err := s.status(filepath.Join(s.root, "ingest", e.Name()))
		if err != nil {
			continue // being created, committed or aborted right now
		}
		if filter.Match(content.StatusAdaptor(st)) {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b content.Status) int { return strings.Compare(a.Ref, b.Ref) })
	return out, nil
}

// Abort discards an ingest. One held by an open writer is Unavailable.
func (s *Store) Abort(ctx context.Context, ref string) error {
	if err := content.ValidateRef(ref); err != nil {
		return err
	}
	dir := s.ingestDir(ref)
	lk, err := lockIngest(ref, dir, false)
	if err != nil {
		return err
	}
	defer lk.unlock()
	if _, err := os.Stat(filepath.Join(dir, "status")); err != nil {
		os.RemoveAll(dir) // a directory left by a writer that never started
		return ingestErr(ref, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return ingestErr(ref, err)
	}
	return nil
}

// ingestLock is an flock held on an ingest's directory.
type ingestLock struct{ fd int }

// lockIngest locks dir, creating it when create is set. It fails with
// Unavailable when another writer holds the lock, and NotFound when the
// directory does not exist and create is not set.
func lockIngest(ref, dir string, create bool) (*ingestLock, error) {
	for range 10 {
		if create {
			if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, ingestErr(ref, err)
			}
		}
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			if err == unix.ENOENT && create {
				continue // removed between mkdir and open
			}
			return nil, ingestErr(ref, err)
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(fd)
			if err == unix.EWOULDBLOCK {
				return nil, fmt.Errorf("ingest %q: in use by another writer: %w", ref, errdefs.ErrUnavailable)
			}
			return nil, ingestErr(ref, err)
		}
		// The directory may have been removed and made anew while we waited
		// to open it: the lock counts only on the one at the path now.
		var held, now unix.Stat_t
		if unix.Fstat(fd, &held) == nil && unix.Stat(dir, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return &ingestLock{fd: fd}, nil
		}
		unix.Close(fd)
		if !create {
			return nil, fmt.Errorf("ingest %q: %w", ref, errdefs.ErrNotFound)
		}
	}
	return nil, fmt.Errorf("ingest %q: directory keeps changing: %w", ref, errdefs.ErrUnavailable)
}

func (l *ingestLock) unlock() {
	if l.fd >= 0 {
		unix.Close(l.fd) // closing the only descriptor releases the flock
		l.fd = -1
	}
}
