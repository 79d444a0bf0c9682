package docker

import (
	"bytes"
	"context"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
)

// maxResumes bounds how often one blob download is resumed in all, even
// when each resume makes progress.
const maxResumes = 64

type fetcher struct {
	*repository
}

var _ remotes.Fetcher = (*fetcher)(nil)

// Fetch opens the content desc names: a manifest or index from the
// manifests endpoint, read whole and checked before it is returned;
// anything else from the blobs endpoint as a stream that is checked as it
// is read and resumed where it breaks. The hosts are tried in order; the
// descriptor's URLs only when no host has the blob.
func (f *fetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if err := checkDescriptor("fetch", desc); err != nil {
		return nil, err
	}
	ctx = f.scope(ctx, false)
	switch {
	case remotes.IsSchema1Type(desc.MediaType):
		return nil, fmt.Errorf("fetch %s: %w", desc.Digest, checkManifestType(desc.MediaType))
	case remotes.IsManifestType(desc.MediaType):
		return f.fetchManifest(ctx, desc)
	}
	b := &blobReader{
		ctx:    ctx,
		f:      f,
		desc:   desc,
		h:      desc.Digest.Algorithm().Hash(),
		verify: true,
		src:    -1,
	}
	if err := b.open(); err != nil {
		return nil, err
	}
	return b, nil
}

// fetchManifest reads a manifest or index whole, bounded by
// remotes.MaxManifestSize, and checks its size, digest and shape.
func (f *fetcher) fetchManifest(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if desc.Size > remotes.MaxManifestSize {
		return nil, fmt.Errorf("fetch %s: %w", desc.Digest, tooLarge(desc.Digest, desc.Size))
	}
	var lastErr error
	for _, host := range f.hosts {
		b, err := f.getManifest(ctx, host, desc)
		if err == nil {
			return io.NopCloser(bytes.NewReader(b)), nil
		}
		lastErr = err
		if !errdefs.IsNotFound(err) {
			break
		}
	}
	return nil, fmt.Errorf("fetch %s from %s: %w", desc.Digest, f.ref.Name, lastErr)
}

func (f *fetcher) getManifest(ctx context.Context, host RegistryHost, desc ocispec.Descriptor) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		rq := f.request(host, http.MethodGet, "/manifests/"+desc.Digest.String())
		rq.header.Set("Accept", manifestAccept)
		resp, err := f.r.send(ctx, rq)
		if err != nil {
			return nil, err
		}
		if err := checkStatus(resp, http.StatusOK); err != nil {
			return nil, err
		}
		b, err := readManifest(resp, desc.Digest.String(), desc.Size)
		resp.Body.Close()
		if err != nil {
			if ctx.Err() == nil && attempt < f.r.opts.maxRetries && retryableError(err) {
				continue
			}
			return nil, err
		}
		if err := checkContent(desc, int64(len(b)), desc.Digest.Algorithm().FromBytes(b)); err != nil {
			return nil, err
		}
		if err := checkManifest(desc.MediaType, b); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		return b, nil
	}
}

// checkContent compares what arrived with what desc promised.
func checkContent(desc ocispec.Descriptor, size int64, dgst digest.Digest) error {
	if size != desc.Size {
		return fmt.Errorf("content %s: %d bytes arrived, %d expected: %w", desc.Digest, size, desc.Size, errdefs.ErrDataLoss)
	}
	if dgst != desc.Digest {
		return fmt.Errorf("content %s: the bytes that arrived have digest %s: %w", desc.Digest, dgst, errdefs.ErrDataLoss)
	}
	return nil
}

// blobReader streams a blob: it stops at desc.Size, checks the digest of
// the whole stream at its end, and when the connection breaks, asks the
// same source for the rest with a Range request.
type blobReader struct {
	ctx    context.Context
	f      *fetcher
	desc   ocispec.Descriptor
	h      hash.Hash
	verify bool // false once a Seek skipped bytes, or after SkipVerify
	skip   bool // SkipVerify was called
	src    int  // index of the source serving the stream, -1 for none yet

	body    io.ReadCloser
	offset  int64 // of the next byte Read returns
	fails   int   // resumes since the last byte that arrived
	resumes int
	err     error // sticky: io.EOF at the end, or the failure
	closed  bool
}

var (
	_ io.ReadSeekCloser     = (*blobReader)(nil)
	_ remotes.VerifySkipper = (*blobReader)(nil)
)

// SkipVerify leaves the digest check to the consumer, which hashes the
// stream anyway: remotes.Fetch, whose content store checks the digest at
// Commit. Size is still enforced.
func (b *blobReader) SkipVerify() {
	b.skip, b.verify = true, false
}

// source is where a blob can be read: a registry host or, failing those,
// one of the descriptor's URLs.
type source struct {
	host    *RegistryHost
	foreign *url.URL
}

func (b *blobReader) sources() []source {
	var s []source
	for i := range b.f.hosts {
		s = append(s, source{host: &b.f.hosts[i]})
	}
	for _, raw := range b.desc.URLs {
		u, err := url.Parse(raw)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			s = append(s, source{foreign: u})
		}
	}
	return s
}

// open finds a source that serves the blob from b.offset, preferring the
// one that served it so far. Foreign URLs are tried only when no registry
// host has the blob.
func (b *blobReader) open() error {
	srcs := b.sources()
	order := make([]int, 0, len(srcs))
	if b.src >= 0 {
		order = append(order, b.src)
	}
	for i := range srcs {
		if i != b.src {
			order = append(order, i)
		}
	}
	var lastErr error
	for _, i := range order {
		if srcs[i].foreign != nil && lastErr != nil && !errdefs.IsNotFound(lastErr) {
			break
		}
		body, err := b.get(srcs[i])
		if err == nil {
			b.src, b.body = i, body
			return nil
		}
		if b.ctx.Err() != nil {
			return err
		}
		if lastErr == nil || !errdefs.IsNotFound(err) {
			lastErr = err
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no source: %w", errdefs.ErrNotFound)
	}
	return fmt.Errorf("fetch %s from %s: %w", b.desc.Digest, b.f.ref.Name, lastErr)
}

// get asks src for the blob from b.offset and checks that the answer is
// the part asked for.
func (b *blobReader) get(src source) (io.ReadCloser, error) {
	var rq *request
	if src.host != nil {
		rq = b.f.request(*src.host, http.MethodGet, "/blobs/"+b.desc.Digest.String())
	} else {
		// Never the host's header or authorizer: the URL is the image's,
		// not the registry's.
		rq = &request{method: http.MethodGet, host: RegistryHost{Client: b.f.r.defaultClient}, url: src.foreign, header: http.Header{}}
	}
	if b.offset > 0 {
		rq.header.Set("Range", "bytes="+strconv.FormatInt(b.offset, 10)+"-")
	}
	resp, err := b.f.r.send(b.ctx, rq)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if resp.ContentLength >= 0 && resp.ContentLength != b.desc.Size {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %d bytes, %d expected: %w", redact(rq.url), resp.ContentLength, b.desc.Size, errdefs.ErrDataLoss)
		}
		if b.offset > 0 {
			// The whole blob again: skip what was read before. The digest
			// of the whole stream catches a blob that changed meanwhile.
			if _, err := io.CopyN(io.Discard, resp.Body, b.offset); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("%s: skip %d bytes: %w", redact(rq.url), b.offset, connError(err))
			}
		}
	case http.StatusPartialContent:
		if err := b.checkRange(resp); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %w", redact(rq.url), err)
		}
	default:
		return nil, newError(resp)
	}
	return resp.Body, nil
}

// checkRange checks that a 206 answer holds the bytes from b.offset to
// the end of the blob.
func (b *blobReader) checkRange(resp *http.Response) error {
	cr := resp.Header.Get("Content-Range")
	spec, ok := strings.CutPrefix(cr, "bytes ")
	first, rest, ok2 := strings.Cut(spec, "-")
	last, total, ok3 := strings.Cut(rest, "/")
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("Content-Range %q: %w", cr, errdefs.ErrDataLoss)
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	want := fmt.Sprintf("bytes %d-%d/", b.offset, b.desc.Size-1)
	if err1 != nil || err2 != nil || start != b.offset || end != b.desc.Size-1 ||
		(total != "*" && total != strconv.FormatInt(b.desc.Size, 10)) {
		return fmt.Errorf("Content-Range %q, want %q: %w", cr, want+strconv.FormatInt(b.desc.Size, 10), errdefs.ErrDataLoss)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != b.desc.Size-b.offset {
		return fmt.Errorf("Content-Length %d for %q: %w", resp.ContentLength, cr, errdefs.ErrDataLoss)
	}
	return nil
}

// Read reads the next bytes of the blob. The end of the stream is io.EOF
// only after exactly desc.Size bytes whose digest is desc.Digest; a
// stream that ends short after its resumes, runs long, or has another
// digest fails with a DataLoss error.
func (b *blobReader) Read(p []byte) (int, error) {
	if len(p) == 0 && b.err == nil {
		return 0, nil
	}
	for b.err == nil {
		if b.offset == b.desc.Size {
			b.err = b.finish()
			break
		}
		if b.body == nil {
			if err := b.resume(); err != nil {
				b.err = err
				break
			}
		}
		if left := b.desc.Size - b.offset; int64(len(p)) > left {
			p = p[:left]
		}
		n, err := b.body.Read(p)
		if n > 0 {
			if b.verify {
				b.h.Write(p[:n])
			}
			b.offset += int64(n)
			b.fails = 0
		}
		if err != nil {
			b.broken(err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, b.err
}

// broken deals with a body that failed with err: the stream is dropped
// to be resumed, or the failure becomes the reader's error.
func (b *blobReader) broken(err error) {
	b.body.Close()
	b.body = nil
	switch {
	case b.ctx.Err() != nil:
		b.err = fmt.Errorf("fetch %s: %w", b.desc.Digest, context.Cause(b.ctx))
	case err == io.EOF && b.offset == b.desc.Size:
	case err == io.EOF || retryableError(err):
		// Resumed by the next Read.
	default:
		b.err = fmt.Errorf("fetch %s at byte %d: %w", b.desc.Digest, b.offset, connError(err))
	}
}

// resume reopens the stream at b.offset, after a backoff, as long as the
// resume budget lasts.
func (b *blobReader) resume() error {
	if b.fails >= b.f.r.opts.maxRetries || b.resumes >= maxResumes {
		return fmt.Errorf("fetch %s: the stream broke at byte %d of %d, %d times in all: %w", b.desc.Digest, b.offset, b.desc.Size, b.resumes+1, errdefs.ErrDataLoss)
	}
	b.fails++
	b.resumes++
	if err := b.f.r.wait(b.ctx, b.f.r.backoff(b.fails), "fetch "+b.desc.Digest.String()); err != nil {
		return err
	}
	return b.open()
}

// finish ends a stream that has delivered desc.Size bytes: there must be
// no more, and the digest must match.
func (b *blobReader) finish() error {
	if b.body != nil {
		var one [1]byte
		n, _ := io.ReadFull(b.body, one[:])
		b.body.Close()
		b.body = nil
		if n > 0 {
			return fmt.Errorf("content %s: more than the expected %d bytes arrived: %w", b.desc.Digest, b.desc.Size, errdefs.ErrDataLoss)
		}
	}
	if b.verify {
		if got := digest.NewDigest(b.desc.Digest.Algorithm(), b.h); got != b.desc.Digest {
			return fmt.Errorf("content %s: the bytes that arrived have digest %s: %w", b.desc.Digest, got, errdefs.ErrDataLoss)
		}
	}
	return io.EOF
}

// Seek moves the reader for content.Copy's resume of an ingest: the next
// Read asks the source for the blob from the new offset. A reader moved
// past offset 0 has not seen the bytes it skipped and leaves the digest
// check to its consumer (the content store checks it at Commit); it still
// ends at exactly desc.Size bytes.
func (b *blobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += b.offset
	case io.SeekEnd:
		offset += b.desc.Size
	}
	if offset < 0 || offset > b.desc.Size {
		return b.offset, fmt.Errorf("fetch %s: seek to %d of %d bytes: %w", b.desc.Digest, offset, b.desc.Size, errdefs.ErrOutOfRange)
	}
	if b.closed {
		return b.offset, b.err
	}
	if offset == b.offset {
		return offset, nil
	}
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
	b.offset, b.err, b.fails = offset, nil, 0
	b.h.Reset()
	b.verify = offset == 0 && !b.skip
	if offset == b.desc.Size {
		return offset, nil
	}
	// Reopening is no failure: the budget is untouched.
	if err := b.open(); err != nil {
		b.err = err
		return b.offset, err
	}
	return offset, nil
}

// Close releases the connection.
func (b *blobReader) Close() error {
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
	b.closed = true
	b.err = fmt.Errorf("fetch %s: reader closed: %w", b.desc.Digest, errdefs.ErrFailedPrecondition)
	return nil
}

var _ remotes.FetcherByDigest = (*fetcher)(nil)

// FetchByDigest fetches the blob dgst: a HEAD on each host in turn finds
// its size, then Fetch streams it with that size enforced.
func (f *fetcher) FetchByDigest(ctx context.Context, dgst digest.Digest) (io.ReadCloser, ocispec.Descriptor, error) {
	if err := content.ValidateDigest(dgst); err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	sctx := f.scope(ctx, false)
	var lastErr error
	for _, host := range f.hosts {
		resp, err := f.r.send(sctx, f.request(host, http.MethodHead, "/blobs/"+dgst.String()))
		if err != nil {
			lastErr = err
			continue
		}
		drain(resp)
		if resp.StatusCode != http.StatusOK {
			lastErr = newError(resp)
			continue
		}
		if resp.ContentLength < 0 {
			lastErr = fmt.Errorf("blob %s on %s: no Content-Length: %w", dgst, host.Host, errdefs.ErrNotImplemented)
			continue
		}
		desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: dgst, Size: resp.ContentLength}
		rc, err := f.Fetch(ctx, desc)
		return rc, desc, err
	}
	return nil, ocispec.Descriptor{}, fmt.Errorf("fetch blob %s from %s: %w", dgst, f.ref.Name, lastErr)
}
