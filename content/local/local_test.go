package local

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/testsuite"
)

// TestResumePaths resumes an ingest from the saved hash state and, with
// the state removed or stale, by reading the data again: same digest.
func TestResumePaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(dir string)
	}{
		{"hashstate", func(string) {}},
		{"rehash", func(dir string) { os.Remove(filepath.Join(dir, "hashstate")) }},
		{"stale-hashstate", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "data"), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
			os.Truncate(filepath.Join(dir, "data"), 1000)
		}},
		{"corrupt-hashstate", func(dir string) { os.WriteFile(filepath.Join(dir, "hashstate"), []byte("0123456789abcdef"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := NewStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			data, desc := testsuite.Blob(t, 4000)
			w, err := s.Writer(ctx, content.WithRef("r"), content.WithDescriptor(desc))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data[:1000])
			w.Close()
			tc.spoil(s.ingestDir("r"))
			w, err = s.Writer(ctx, content.WithRef("r"), content.WithDescriptor(desc))
			if err != nil {
				t.Fatalf("Writer(resume) = %v", err)
			}
			defer w.Close()
			st, _ := w.Status()
			if st.Offset != 1000 {
				t.Fatalf("resumed at %d, want 1000", st.Offset)
			}
			w.Write(data[1000:])
			if err := w.Commit(ctx, desc.Size, desc.Digest); err != nil {
				t.Fatalf("Commit after resume = %v", err)
			}
		})
	}
}

// TestIngestRestarts: a ref reused for other content, or an ingest whose
// status cannot be read, starts afresh.
func TestIngestRestarts(t *testing.T) {
	ctx := context.Background()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, a := testsuite.Blob(t, 100)
	data, b := testsuite.Blob(t, 200)
	w, _ := s.Writer(ctx, content.WithRef("r"), content.WithDescriptor(a))
	w.Write(make([]byte, 50))
	w.Close()
	w, err = s.Writer(ctx, content.WithRef("r"), content.WithDescriptor(b))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := w.Status(); st.Offset != 0 || st.Total != 200 || st.Expected != b.Digest {
		t.Fatalf("ref reused for other content: Status = %+v, want a fresh ingest", st)
	}
	w.Write(data[:10])
	w.Close()
	os.WriteFile(filepath.Join(s.ingestDir("r"), "status"), []byte("{not json"), 0o600)
	if _, err := s.Status(ctx, "r"); err == nil {
		t.Fatal("Status with a corrupt status file succeeded")
	}
	if err := content.WriteBlob(ctx, s, "r", bytes.NewReader(data), b); err != nil {
		t.Fatalf("WriteBlob over a corrupt ingest = %v", err)
	}
}

// TestLayout: hostile refs create nothing outside ingest/, blobs are
// read-only, ingests private.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := NewStore(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	data, desc := testsuite.Blob(t, 10)
	if err := content.WriteBlob(ctx, s, "../../../escape", bytes.NewReader(data), desc); err != nil {
		t.Fatal(err)
	}
	w, _ := s.Writer(ctx, content.WithRef("/etc/passwd"))
	w.Write([]byte("x"))
	w.Close()
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, rel)
		fi, _ := d.Info()
		switch {
		case strings.HasPrefix(rel, "content/blobs/sha256/"):
			if fi.Mode().Perm() != 0o444 {
				t.Errorf("blob %s has mode %v, want 0444", rel, fi.Mode())
			}
		case strings.HasPrefix(rel, "content/ingest/") && d.IsDir():
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("ingest %s has mode %v, want 0700", rel, fi.Mode())
			}
		}
		return nil
	})
	for _, p := range paths {
		if p != "." && p != "content" && !strings.HasPrefix(p, "content/blobs") && !strings.HasPrefix(p, "content/ingest") {
			t.Errorf("unexpected path %s under the root", p)
		}
	}
	if got, err := s.BlobPath(ctx, desc.Digest); err != nil || got != filepath.Join(root, "content/blobs/sha256", desc.Digest.Encoded()) {
		t.Fatalf("BlobPath = %q, %v", got, err)
	}
}

// TestReaderAtRefusesNonRegular: a blob path that is not a regular file
// (a symlink planted in the store) is not followed.
func TestReaderAtRefusesSymlink(t *testing.T) {
	ctx := context.Background()
	s, _ := NewStore(t.TempDir())
	_, desc := testsuite.Blob(t, 10)
	dir := filepath.Join(s.Root(), "blobs", "sha256")
	os.MkdirAll(dir, 0o755)
	os.Symlink("/etc/hostname", filepath.Join(dir, desc.Digest.Encoded()))
	ra, err := s.ReaderAt(ctx, desc)
	if err == nil {
		b, _ := io.ReadAll(content.NewReader(ra))
		t.Fatalf("ReaderAt followed a symlink and read %q", b)
	}
}

// TestCommitOtherAlgorithm: a blob hashed as sha256 while written can be
// committed under a sha512 digest, which is checked by reading it again.
func TestCommitOtherAlgorithm(t *testing.T) {
	ctx := context.Background()
	s, _ := NewStore(t.TempDir())
	data, _ := testsuite.Blob(t, 5000)
	want := digest.SHA512.FromBytes(data)
	for _, tc := range []struct {
		name     string
		expected digest.Digest
		ok       bool
	}{
		{"match", want, true},
		{"mismatch", digest.SHA512.FromBytes(data[1:]), false},
	} {
		w, err := s.Writer(ctx, content.WithRef(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		err = w.Commit(ctx, int64(len(data)), tc.expected)
		w.Close()
		if tc.ok != (err == nil) {
			t.Fatalf("Commit(%s) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	got, err := content.ReadBlob(ctx, s, ocispec.Descriptor{Digest: want}, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob(sha512) = %d bytes, %v", len(got), err)
	}
	if _, err := s.Status(ctx, "mismatch"); err == nil {
		t.Fatal("a mismatched sha512 commit left its ingest")
	}
}
