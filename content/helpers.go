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
// of ref left by an earlier attempt is continued: when r is an io.Seeker
// WriteBlob seeks past what is already there, otherwise it reads and
// discards those bytes; the whole stream's digest is checked either way.
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

// Copy writes r into w, continuing from w's current offset, and commits
// with the expected size and digest. r must start at offset 0 of the blob.
func Copy(ctx context.Context, w Writer, r io.Reader, size int64, expected digest.Digest, opts ...Opt) error {
	st, err := w.Status()
	if err != nil {
		return err
	}
	if st.Offset > 0 {
		if err := skip(r, st.Offset); err != nil {
			// What is there cannot be matched with r: start over.
			if err := w.Truncate(0); err != nil {
				return err
			}
			return fmt.Errorf("ingest %s: resume at %d: %w", st.Ref, st.Offset, err)
		}
	}
	if _, err := io.Copy(w, &ctxReader{ctx: ctx, r: r}); err != nil {
		return fmt.Errorf("ingest %s: copy: %w", st.Ref, err)
	}
	return w.Commit(ctx, size, expected, opts...)
}

func skip(r io.Reader, n int64) error {
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(n, io.SeekStart); err == nil {
			return nil
		}
	}
	got, err := io.CopyN(io.Discard, r, n)
	if err != nil {
		return fmt.Errorf("input ended after %d of the %d bytes already ingested: %w", got, n, err)
	}
	return nil
}

// ctxReader stops a copy when its context ends. It passes WriterTo through
// only when the reader has one, so io.Copy still finds a ReaderFrom on w.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
