package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReadBlob reads a whole blob into memory. It refuses blobs larger than
// maxSize bytes (0 means no limit) with FailedPrecondition before reading.
func ReadBlob(ctx context.Context, p Provider, desc ocispec.Descriptor, maxSize int64) ([]byte, error) {
	ra, err := p.ReaderAt(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer ra.Close()
	size := ra.Size()
	if maxSize > 0 && size > maxSize {
		return nil, fmt.Errorf("content %s: %d bytes, more than the limit of %d: %w", desc.Digest, size, maxSize, errdefs.ErrFailedPrecondition)
	}
	buf := make([]byte, size)
	if _, err := ra.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, fmt.Errorf("content %s: read: %w", desc.Digest, err)
	}
	return buf, nil
}

// NewReader turns a ReaderAt into a sequential io.Reader.
func NewReader(ra ReaderAt) io.Reader {
	return io.NewSectionReader(ra, 0, ra.Size())
}

// OpenWriter opens a writer like Ingester.Writer, but while the ref is
// held by another writer it waits, retrying with backoff until the ref is
// free or ctx ends.
func OpenWriter(ctx context.Context, ing Ingester, opts ...WriterOpt) (Writer, error) {
	wait := time.Millisecond
	for {
		w, err := ing.Writer(ctx, opts...)
		if err == nil || !errdefs.IsUnavailable(err) {
			return w, err
		}
		// Jitter keeps waiters from retrying in lockstep.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (waited for: %v)", ctx.Err(), err)
		case <-t.C:
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}

// WriteBlob streams r into the store as the blob desc, under ref. A blob
// the store already holds is not written again and is no error. An ingest
// of ref left by an earlier attempt is continued as Copy describes.
func WriteBlob(ctx context.Context, ing Ingester, ref string, r io.Reader, desc ocispec.Descriptor, opts ...Opt) error {
	w, err := OpenWriter(ctx, ing, WithRef(ref), WithDescriptor(desc))
	if err != nil {
		if errdefs.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	defer w.Close()
	if err := Copy(ctx, w, r, desc.Size, desc.Digest, opts...); err != nil {
		if errdefs.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	return nil
}

// Copy writes r into w and commits with the expected size and digest. r
// must start at offset 0 of the blob.
//
// When w continues an earlier ingest, Copy skips the bytes already there:
// by seeking r, when r can seek and an expected digest will check the
// whole at Commit; otherwise by reading them from r and checking that
// they are the bytes ingested before. When they are not, the ingest is
// emptied and, if r can seek, copied afresh; an r that cannot seek is
// gone past those bytes, so Copy fails with FailedPrecondition and the
// caller tries again with the input from its start.
func Copy(ctx context.Context, w Writer, r io.Reader, size int64, expected digest.Digest, opts ...Opt) error {
	st, err := w.Status()
	if err != nil {
		return err
	}
	if st.Offset > 0 {
		if err := resume(w, r, st, expected != ""); err != nil {
			return err
		}
	}
	if _, err := io.Copy(w, &ctxReader{ctx: ctx, r: r, ref: st.Ref}); err != nil {
		return err
	}
	return w.Commit(ctx, size, expected, opts...)
}

// resume moves r past the st.Offset bytes w holds already, or empties w
// when r does not start with those bytes.
func resume(w Writer, r io.Reader, st Status, checked bool) error {
	seeker, seekable := r.(io.Seeker)
	if seekable {
		// Pipes and terminals are files too, but cannot seek.
		_, err := seeker.Seek(0, io.SeekStart)
		seekable = err == nil
	}
	if seekable && checked {
		_, err := seeker.Seek(st.Offset, io.SeekStart)
		return err
	}
	have := w.Digest()
	h := have.Algorithm().Hash()
	n, rerr := io.CopyN(h, r, st.Offset)
	got := digest.NewDigest(have.Algorithm(), h)
	if rerr == nil && got == have {
		return nil
	}
	if err := w.Truncate(0); err != nil {
		return err
	}
	if seekable {
		_, err := seeker.Seek(0, io.SeekStart)
		return err
	}
	if rerr != nil {
		return fmt.Errorf("ingest %s: input ended after %d of the %d bytes ingested before (%v); ingest emptied, start again: %w", st.Ref, n, st.Offset, rerr, errdefs.ErrFailedPrecondition)
	}
	return fmt.Errorf("ingest %s: the first %d bytes of input (%s) differ from those ingested before (%s); ingest emptied, start again: %w", st.Ref, st.Offset, got, have, errdefs.ErrFailedPrecondition)
}

// ctxReader stops a copy when its context ends. It passes WriterTo through
// only when the reader has one, so io.Copy still finds a ReaderFrom on w.
// Its errors name the ingest, so that a failing input is told apart from
// a failing store.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	ref string
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("ingest %s: %w", c.ref, err)
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("ingest %s: read input: %w", c.ref, err)
	}
	return n, err
}
