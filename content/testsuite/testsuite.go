package testsuite

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
)

// NewStore makes a fresh, empty store for one test.
type NewStore func(t *testing.T) (context.Context, content.Store)

// Option adjusts the suite to what a store supports.
type Option func(*config)

type config struct{ noLabels bool }

// WithoutLabels skips the label tests, for stores that keep no labels.
func WithoutLabels() Option { return func(c *config) { c.noLabels = true } }

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name   string
		fn     func(*testing.T, context.Context, content.Store)
		labels bool
	}{
		{"CommitAndRead", testCommitAndRead, false},
		{"CommitEmpty", testCommitEmpty, false},
		{"DigestMismatch", testDigestMismatch, false},
		{"SizeMismatch", testSizeMismatch, false},
		{"WritePastExpectedSize", testWritePastSize, false},
		{"Resume", testResume, false},
		{"ResumeOtherInput", testResumeOtherInput, false},
		{"TruncateAndRestart", testTruncate, false},
		{"RefInUse", testRefInUse, false},
		{"ConcurrentSameDigest", testConcurrentSameDigest, false},
		{"ExpectedDigestExists", testExpectedExists, false},
		{"DeleteWhileReading", testDeleteWhileReading, false},
		{"AbortAndStatuses", testAbort, false},
		{"Walk", testWalk, false},
		{"BadInput", testBadInput, false},
		{"Labels", testLabels, true},
		{"WalkLabelFilters", testWalkLabels, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.labels && cfg.noLabels {
				t.Skip("store keeps no labels")
			}
			ctx, cs := newStore(t)
			tc.fn(t, ctx, cs)
		})
	}
}

// Blob returns n random bytes and their descriptor.
func Blob(t testing.TB, n int) ([]byte, ocispec.Descriptor) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(n)}
}

func mustWrite(t *testing.T, ctx context.Context, cs content.Store, ref string, data []byte, desc ocispec.Descriptor, opts ...content.Opt) {
	t.Helper()
	if err := content.WriteBlob(ctx, cs, ref, bytes.NewReader(data), desc, opts...); err != nil {
		t.Fatalf("WriteBlob(%s) = %v", ref, err)
	}
}

func wantKind(t *testing.T, what string, err error, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s = %v, want an error of kind %v", what, err, kind)
	}
}

func checkBlob(t *testing.T, ctx context.Context, cs content.Store, data []byte, desc ocispec.Descriptor) {
	t.Helper()
	info, err := cs.Info(ctx, desc.Digest)
	if err != nil {
		t.Fatalf("Info(%s) = %v", desc.Digest, err)
	}
	if info.Size != desc.Size || info.Digest != desc.Digest {
		t.Fatalf("Info(%s) = %+v, want size %d", desc.Digest, info, desc.Size)
	}
	got, err := content.ReadBlob(ctx, cs, desc, 0)
	if err != nil {
		t.Fatalf("ReadBlob(%s) = %v", desc.Digest, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob(%s): %d bytes differ from the %d written", desc.Digest, len(got), len(data))
	}
}

func testCommitAndRead(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 3<<20+17)
	w, err := cs.Writer(ctx, content.WithRef("commit"), content.WithDescriptor(desc))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	defer w.Close()
	// Through ReadFrom (io.Copy) for most, then plain Write for the rest.
	if _, err := io.Copy(w, io.LimitReader(bytes.NewReader(data), 2<<20+5)); err != nil {
		t.Fatalf("io.Copy = %v", err)
	}
	if _, err := w.Write(data[2<<20+5:]); err != nil {
		t.Fatalf("Write = %v", err)
	}
	if w.Digest() != desc.Digest {
		t.Fatalf("Digest() = %s, want %s", w.Digest(), desc.Digest)
	}
	st, _ := w.Status()
	if st.Offset != desc.Size || st.Total != desc.Size || st.Ref != "commit" {
		t.Fatalf("Status() = %+v", st)
	}
	if err := w.Commit(ctx, desc.Size, desc.Digest); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	checkBlob(t, ctx, cs, data, desc)
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		t.Fatalf("ReaderAt = %v", err)
	}
	defer ra.Close()
	if ra.Size() != desc.Size {
		t.Fatalf("ReaderAt.Size() = %d, want %d", ra.Size(), desc.Size)
	}
	for _, off := range []int64{desc.Size - 10, 0, 1 << 20, 12345} {
		p := make([]byte, 10)
		if _, err := ra.ReadAt(p, off); err != nil {
			t.Fatalf("ReadAt(%d) = %v", off, err)
		}
		if !bytes.Equal(p, data[off:off+10]) {
			t.Fatalf("ReadAt(%d) returned other bytes", off)
		}
	}
	if _, err := cs.Status(ctx, "commit"); !errdefs.IsNotFound(err) {
		t.Fatalf("Status(commit) after Commit = %v, want NotFound", err)
	}
	// Commit after commit is refused.
	if err := w.Commit(ctx, desc.Size, desc.Digest); err == nil {
		t.Fatal("second Commit succeeded")
	}
}

func testCommitEmpty(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 0)
	mustWrite(t, ctx, cs, "empty", data, desc)
	checkBlob(t, ctx, cs, data, desc)
}

func testDigestMismatch(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 4096)
	_, other := Blob(t, 4096)
	w, err := cs.Writer(ctx, content.WithRef("mismatch"))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	defer w.Close()
	w.Write(data)
	err = w.Commit(ctx, desc.Size, other.Digest)
	wantKind(t, "Commit(wrong digest)", err, errdefs.ErrFailedPrecondition)
	if msg := err.Error(); !bytes.Contains([]byte(msg), []byte(other.Digest)) || !bytes.Contains([]byte(msg), []byte(desc.Digest)) {
		t.Fatalf("Commit error %q does not name both digests", msg)
	}
	_, err = cs.Info(ctx, other.Digest)
	wantKind(t, "Info(expected digest)", err, errdefs.ErrNotFound)
	_, err = cs.Info(ctx, desc.Digest)
	wantKind(t, "Info(actual digest)", err, errdefs.ErrNotFound)
	_, err = cs.Status(ctx, "mismatch")
	wantKind(t, "Status after mismatch", err, errdefs.ErrNotFound)
}

func testSizeMismatch(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 4096)
	w, err := cs.Writer(ctx, content.WithRef("short"))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	w.Write(data[:1000])
	err = w.Commit(ctx, desc.Size, desc.Digest)
	wantKind(t, "Commit(short)", err, errdefs.ErrFailedPrecondition)
	w.Close()
	st, err := cs.Status(ctx, "short")
	if err != nil || st.Offset != 1000 {
		t.Fatalf("Status(short) = %+v, %v; want the ingest kept at offset 1000", st, err)
	}
	_, err = cs.Info(ctx, desc.Digest)
	wantKind(t, "Info after short commit", err, errdefs.ErrNotFound)

	w, err = cs.Writer(ctx, content.WithRef("long"))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	defer w.Close()
	w.Write(data)
	err = w.Commit(ctx, desc.Size-1, "")
	wantKind(t, "Commit(size too small)", err, errdefs.ErrFailedPrecondition)
	_, err = cs.Status(ctx, "long")
	wantKind(t, "Status after overlong commit", err, errdefs.ErrNotFound)
}

func testWritePastSize(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 3<<20)
	small := desc
	small.Size = 1 << 20
	small.Digest = digest.FromBytes(data[:1<<20])
	for _, tc := range []struct {
		name  string
		write func(w content.Writer) error
	}{
		// io.MultiReader hides bytes.Reader's WriteTo: through ReadFrom.
		{"ReadFrom", func(w content.Writer) error { _, err := io.Copy(w, io.MultiReader(bytes.NewReader(data))); return err }},
		{"Write", func(w content.Writer) error { _, err := w.Write(data); return err }},
		{"WriteByByte", func(w content.Writer) error {
			if _, err := w.Write(data[:small.Size]); err != nil {
				return fmt.Errorf("write up to the expected size: %w (unexpected)", err)
			}
			_, err := w.Write([]byte("x"))
			return err
		}},
	} {
		ref := "past-" + tc.name
		w, err := cs.Writer(ctx, content.WithRef(ref), content.WithDescriptor(small))
		if err != nil {
			t.Fatalf("Writer = %v", err)
		}
		err = tc.write(w)
		wantKind(t, tc.name+" past the expected size", err, errdefs.ErrFailedPrecondition)
		w.Close()
		// Input longer than expected is not the blob: nothing is kept.
		_, err = cs.Status(ctx, ref)
		wantKind(t, "Status after "+tc.name+" past the expected size", err, errdefs.ErrNotFound)
	}
	_, err := cs.Info(ctx, small.Digest)
	wantKind(t, "Info after overlong writes", err, errdefs.ErrNotFound)
}

func testResume(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 5<<20+3)
	w, err := cs.Writer(ctx, content.WithRef("resume"), content.WithDescriptor(desc))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	half := int64(2<<20 + 1)
	if _, err := io.Copy(w, io.LimitReader(bytes.NewReader(data), half)); err != nil {
		t.Fatalf("io.Copy = %v", err)
	}
	w.Close()
	st, err := cs.Status(ctx, "resume")
	if err != nil || st.Offset != half || st.Total != desc.Size || st.Ref != "resume" {
		t.Fatalf("Status(resume) = %+v, %v; want offset %d total %d", st, err, half, desc.Size)
	}
	if st.StartedAt.IsZero() || st.UpdatedAt.IsZero() {
		t.Fatalf("Status(resume) = %+v: times unset", st)
	}
	sts, err := cs.ListStatuses(ctx)
	if err != nil || len(sts) != 1 || sts[0].Ref != "resume" {
		t.Fatalf("ListStatuses = %+v, %v", sts, err)
	}
	// WriteBlob resumes from a non-seekable reader by discarding the prefix.
	if err := content.WriteBlob(ctx, cs, "resume", io.MultiReader(bytes.NewReader(data)), desc); err != nil {
		t.Fatalf("WriteBlob(resume) = %v", err)
	}
	checkBlob(t, ctx, cs, data, desc)
}

// testResumeOtherInput: resuming with input that does not start with the
// bytes ingested before never commits a spliced blob.
func testResumeOtherInput(t *testing.T, ctx context.Context, cs content.Store) {
	old, _ := Blob(t, 3000)
	data, desc := Blob(t, 3000)
	start := func(ref string) {
		w, err := cs.Writer(ctx, content.WithRef(ref))
		if err != nil {
			t.Fatalf("Writer(%s) = %v", ref, err)
		}
		w.Write(old[:1000])
		w.Close()
	}
	// A seekable input without an expected digest is read and compared,
	// found different, and copied afresh.
	start("seekable")
	w, err := cs.Writer(ctx, content.WithRef("seekable"))
	if err != nil {
		t.Fatal(err)
	}
	if err := content.Copy(ctx, w, bytes.NewReader(data), 0, ""); err != nil {
		t.Fatalf("Copy(seekable, other input) = %v", err)
	}
	w.Close()
	checkBlob(t, ctx, cs, data, desc)

	// An input that cannot seek is gone past the compared bytes: the
	// ingest is emptied and the caller told to start again.
	start("stream")
	w, err = cs.Writer(ctx, content.WithRef("stream"))
	if err != nil {
		t.Fatal(err)
	}
	err = content.Copy(ctx, w, io.MultiReader(bytes.NewReader(append(old[:999:999], old[999]^0xff))), 0, "")
	wantKind(t, "Copy(stream, other input)", err, errdefs.ErrFailedPrecondition)
	if st, _ := w.Status(); st.Offset != 0 {
		t.Fatalf("Status after a mismatched resume = %+v, want an emptied ingest", st)
	}
	w.Close()
	if err := content.WriteBlob(ctx, cs, "stream", io.MultiReader(bytes.NewReader(data)), desc); err != nil {
		t.Fatalf("WriteBlob after starting again = %v", err)
	}
}

func testTruncate(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 1<<20)
	w, err := cs.Writer(ctx, content.WithRef("truncate"), content.WithDescriptor(desc))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	defer w.Close()
	w.Write(bytes.Repeat([]byte("garbage!"), 1000))
	if err := w.Truncate(0); err != nil {
		t.Fatalf("Truncate(0) = %v", err)
	}
	if st, _ := w.Status(); st.Offset != 0 {
		t.Fatalf("Status after Truncate(0) = %+v", st)
	}
	w.Write(data[:1000])
	w.Write([]byte("junk"))
	if err := w.Truncate(1000); err != nil {
		t.Fatalf("Truncate(1000) = %v", err)
	}
	if err := w.Truncate(5000); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Truncate past the end = %v, want InvalidArgument", err)
	}
	w.Write(data[1000:])
	if err := w.Commit(ctx, desc.Size, desc.Digest); err != nil {
		t.Fatalf("Commit after Truncate = %v", err)
	}
	checkBlob(t, ctx, cs, data, desc)
}

func testRefInUse(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 1000)
	w1, err := cs.Writer(ctx, content.WithRef("busy"))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	_, err = cs.Writer(ctx, content.WithRef("busy"))
	wantKind(t, "second Writer(busy)", err, errdefs.ErrUnavailable)
	err = cs.Abort(ctx, "busy")
	wantKind(t, "Abort(busy) while held", err, errdefs.ErrUnavailable)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = content.OpenWriter(short, cs, content.WithRef("busy"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenWriter(busy) under a deadline = %v, want DeadlineExceeded", err)
	}

	got := make(chan error, 1)
	go func() {
		w2, err := content.OpenWriter(ctx, cs, content.WithRef("busy"))
		if err == nil {
			_, err = w2.Write(data[500:])
			if err == nil {
				err = w2.Commit(ctx, desc.Size, desc.Digest)
			}
			w2.Close()
		}
		got <- err
	}()
	w1.Write(data[:500])
	w1.Close() // frees the ref; the waiter continues from offset 500
	if err := <-got; err != nil {
		t.Fatalf("OpenWriter after release, then commit = %v", err)
	}
	checkBlob(t, ctx, cs, data, desc)
}

func testConcurrentSameDigest(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 2<<20)
	const n = 8
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
		ws   = make([]content.Writer, n)
	)
	for i := range n {
		w, err := cs.Writer(ctx, content.WithRef(fmt.Sprintf("same-%d", i)))
		if err != nil {
			t.Fatalf("Writer %d = %v", i, err)
		}
		defer w.Close()
		if _, err := w.Write(data); err != nil {
			t.Fatalf("Write %d = %v", i, err)
		}
		ws[i] = w
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ws[i].Commit(ctx, desc.Size, desc.Digest)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errdefs.IsAlreadyExists(err):
		default:
			t.Errorf("Commit %d = %v, want nil or AlreadyExists", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d commits succeeded, want exactly 1 (%v)", won, errs)
	}
	checkBlob(t, ctx, cs, data, desc)
	if sts, _ := cs.ListStatuses(ctx); len(sts) != 0 {
		t.Fatalf("ListStatuses after commits = %+v, want none", sts)
	}
}

func testExpectedExists(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 100)
	mustWrite(t, ctx, cs, "one", data, desc)
	_, err := cs.Writer(ctx, content.WithRef("two"), content.WithDescriptor(desc))
	wantKind(t, "Writer(existing digest)", err, errdefs.ErrAlreadyExists)
	// WriteBlob treats it as done.
	mustWrite(t, ctx, cs, "three", data, desc)
}

func testDeleteWhileReading(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 1<<20)
	mustWrite(t, ctx, cs, "del", data, desc)
	ra, err := cs.ReaderAt(ctx, desc)
	if err != nil {
		t.Fatalf("ReaderAt = %v", err)
	}
	defer ra.Close()
	if err := cs.Delete(ctx, desc.Digest); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	got, err := io.ReadAll(content.NewReader(ra))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading a deleted blob through an open ReaderAt: %d bytes, %v", len(got), err)
	}
	_, err = cs.Info(ctx, desc.Digest)
	wantKind(t, "Info after Delete", err, errdefs.ErrNotFound)
	_, err = cs.ReaderAt(ctx, desc)
	wantKind(t, "ReaderAt after Delete", err, errdefs.ErrNotFound)
	wantKind(t, "Delete again", cs.Delete(ctx, desc.Digest), errdefs.ErrNotFound)
}

func testAbort(t *testing.T, ctx context.Context, cs content.Store) {
	for _, ref := range []string{"b-ref", "a-ref"} {
		w, err := cs.Writer(ctx, content.WithRef(ref))
		if err != nil {
			t.Fatalf("Writer(%s) = %v", ref, err)
		}
		w.Write([]byte("partial"))
		w.Close()
	}
	sts, err := cs.ListStatuses(ctx)
	if err != nil || len(sts) != 2 || sts[0].Ref != "a-ref" || sts[1].Ref != "b-ref" {
		t.Fatalf("ListStatuses = %+v, %v; want a-ref, b-ref", sts, err)
	}
	sts, err = cs.ListStatuses(ctx, "ref==b-ref")
	if err != nil || len(sts) != 1 || sts[0].Offset != 7 {
		t.Fatalf("ListStatuses(ref==b-ref) = %+v, %v", sts, err)
	}
	if err := cs.Abort(ctx, "a-ref"); err != nil {
		t.Fatalf("Abort = %v", err)
	}
	_, err = cs.Status(ctx, "a-ref")
	wantKind(t, "Status after Abort", err, errdefs.ErrNotFound)
	wantKind(t, "Abort again", cs.Abort(ctx, "a-ref"), errdefs.ErrNotFound)
	// A ref aborted can be used afresh.
	w, err := cs.Writer(ctx, content.WithRef("a-ref"))
	if err != nil {
		t.Fatalf("Writer after Abort = %v", err)
	}
	if st, _ := w.Status(); st.Offset != 0 {
		t.Fatalf("Status of a new writer after Abort = %+v", st)
	}
	// Closed with no bytes written, it leaves nothing behind.
	w.Close()
	_, err = cs.Status(ctx, "a-ref")
	wantKind(t, "Status of an ingest closed empty", err, errdefs.ErrNotFound)
}

func testWalk(t *testing.T, ctx context.Context, cs content.Store) {
	want := map[digest.Digest]int64{}
	for i := range 5 {
		data, desc := Blob(t, 100+i)
		mustWrite(t, ctx, cs, fmt.Sprint("walk-", i), data, desc)
		want[desc.Digest] = desc.Size
	}
	var prev digest.Digest
	seen := 0
	err := cs.Walk(ctx, func(info content.Info) error {
		if info.Digest <= prev {
			return fmt.Errorf("walk out of order: %s after %s", info.Digest, prev)
		}
		prev = info.Digest
		if want[info.Digest] != info.Size {
			return fmt.Errorf("walk: %s size %d, want %d", info.Digest, info.Size, want[info.Digest])
		}
		seen++
		return nil
	})
	if err != nil || seen != len(want) {
		t.Fatalf("Walk = %v after %d blobs, want %d", err, seen, len(want))
	}
	var one digest.Digest
	for d := range want {
		one = d
		break
	}
	var got []digest.Digest
	err = cs.Walk(ctx, func(info content.Info) error { got = append(got, info.Digest); return nil }, "digest=="+one.String())
	if err != nil || len(got) != 1 || got[0] != one {
		t.Fatalf("Walk(digest==%s) = %v, %v", one, got, err)
	}
	stop := errors.New("stop")
	if err := cs.Walk(ctx, func(content.Info) error { return stop }); err != stop {
		t.Fatalf("Walk whose func fails = %v, want that error", err)
	}
	err = cs.Walk(ctx, func(content.Info) error { return nil }, "labels.==")
	wantKind(t, "Walk(malformed filter)", err, errdefs.ErrInvalidArgument)
}

func testBadInput(t *testing.T, ctx context.Context, cs content.Store) {
	for _, d := range []digest.Digest{"sha256:../../x", "sha256:" + "zz", "md5:d41d8cd98f00b204e9800998ecf8427e", "../../etc/passwd", ""} {
		_, err := cs.Info(ctx, d)
		wantKind(t, fmt.Sprintf("Info(%q)", d), err, errdefs.ErrInvalidArgument)
		_, err = cs.ReaderAt(ctx, ocispec.Descriptor{Digest: d})
		wantKind(t, fmt.Sprintf("ReaderAt(%q)", d), err, errdefs.ErrInvalidArgument)
		wantKind(t, fmt.Sprintf("Delete(%q)", d), cs.Delete(ctx, d), errdefs.ErrInvalidArgument)
		if d != "" {
			_, err = cs.Writer(ctx, content.WithRef("x"), content.WithDescriptor(ocispec.Descriptor{Digest: d}))
			wantKind(t, fmt.Sprintf("Writer(digest %q)", d), err, errdefs.ErrInvalidArgument)
		}
	}
	for _, ref := range []string{"", "a\x00b", "line\nbreak", string(bytes.Repeat([]byte("r"), content.MaxRefLength+1)), "\xff\xfe"} {
		_, err := cs.Writer(ctx, content.WithRef(ref))
		wantKind(t, fmt.Sprintf("Writer(ref %q)", ref), err, errdefs.ErrInvalidArgument)
		_, err = cs.Status(ctx, ref)
		wantKind(t, fmt.Sprintf("Status(ref %q)", ref), err, errdefs.ErrInvalidArgument)
	}
	// Refs that look like paths are just names.
	data, desc := Blob(t, 10)
	mustWrite(t, ctx, cs, "../../../../tmp/escape", data, desc)
	checkBlob(t, ctx, cs, data, desc)
	_, err := cs.Writer(ctx, content.WithRef("neg"), content.WithDescriptor(ocispec.Descriptor{Size: -1}))
	wantKind(t, "Writer(size -1)", err, errdefs.ErrInvalidArgument)
	w, err := cs.Writer(ctx, content.WithRef("bad-expected"))
	if err != nil {
		t.Fatalf("Writer = %v", err)
	}
	defer w.Close()
	w.Write(data)
	wantKind(t, "Commit(malformed expected digest)", w.Commit(ctx, 0, "sha256:nope"), errdefs.ErrInvalidArgument)
}

func testLabels(t *testing.T, ctx context.Context, cs content.Store) {
	data, desc := Blob(t, 64)
	mustWrite(t, ctx, cs, "labels", data, desc, content.WithLabels(map[string]string{"a": "1", "b": "2"}))
	info, err := cs.Info(ctx, desc.Digest)
	if err != nil || info.Labels["a"] != "1" || info.Labels["b"] != "2" || len(info.Labels) != 2 {
		t.Fatalf("Info = %+v, %v; want labels a=1 b=2", info, err)
	}
	created := info.CreatedAt
	info, err = cs.Update(ctx, content.Info{Digest: desc.Digest, Labels: map[string]string{"c": "3", "a": ""}}, "labels.c", "labels.a")
	if err != nil || len(info.Labels) != 2 || info.Labels["b"] != "2" || info.Labels["c"] != "3" {
		t.Fatalf("Update(labels.c, labels.a) = %+v, %v; want b=2 c=3", info, err)
	}
	if !info.CreatedAt.Equal(created) || info.UpdatedAt.Before(created) {
		t.Fatalf("Update changed times wrongly: %+v (created %v)", info, created)
	}
	info, err = cs.Update(ctx, content.Info{Digest: desc.Digest, Labels: map[string]string{"z": "9"}})
	if err != nil || len(info.Labels) != 1 || info.Labels["z"] != "9" {
		t.Fatalf("Update(all labels) = %+v, %v; want z=9", info, err)
	}
	_, err = cs.Update(ctx, content.Info{Digest: desc.Digest, Size: 5}, "size")
	wantKind(t, "Update(size)", err, errdefs.ErrInvalidArgument)
	big := string(bytes.Repeat([]byte("v"), content.MaxLabelSize))
	_, err = cs.Update(ctx, content.Info{Digest: desc.Digest, Labels: map[string]string{"k": big}}, "labels.k")
	wantKind(t, "Update(oversize label)", err, errdefs.ErrInvalidArgument)
	_, missing := Blob(t, 1)
	_, err = cs.Update(ctx, content.Info{Digest: missing.Digest, Labels: map[string]string{"a": "b"}})
	wantKind(t, "Update(missing blob)", err, errdefs.ErrNotFound)
	if info, _ := cs.Info(ctx, desc.Digest); info.Labels["z"] != "9" || len(info.Labels) != 1 {
		t.Fatalf("labels after refused updates = %v", info.Labels)
	}
}

func testWalkLabels(t *testing.T, ctx context.Context, cs content.Store) {
	kinds := []string{"layer", "config", "layer"}
	for i, k := range kinds {
		data, desc := Blob(t, 10+i)
		mustWrite(t, ctx, cs, fmt.Sprint("wl-", i), data, desc, content.WithLabels(map[string]string{"kind": k, "example.com/n": fmt.Sprint(i)}))
	}
	count := func(fs ...string) int {
		n := 0
		if err := cs.Walk(ctx, func(content.Info) error { n++; return nil }, fs...); err != nil {
			t.Fatalf("Walk(%q) = %v", fs, err)
		}
		return n
	}
	for _, tc := range []struct {
		filters []string
		want    int
	}{
		{nil, 3},
		{[]string{"labels.kind==layer"}, 2},
		{[]string{"labels.kind!=layer"}, 1},
		{[]string{`labels."example.com/n"==1`}, 1},
		{[]string{"labels.kind==layer,labels.\"example.com/n\"==2"}, 1},
		{[]string{"labels.kind==config", `labels."example.com/n"==2`}, 2},
		{[]string{"labels.kind~=^lay"}, 2},
		{[]string{"labels.missing"}, 0},
	} {
		if got := count(tc.filters...); got != tc.want {
			t.Errorf("Walk(%q) visited %d blobs, want %d", tc.filters, got, tc.want)
		}
	}
}
