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
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
)

// cancelTimeout bounds the request that cancels an abandoned upload.
const cancelTimeout = 10 * time.Second

type mountSourcesKey struct{}

// WithMountSources returns a context under which a Pusher first asks the
// registry to mount each blob from the named repositories ("docker.io/
// library/redis"), in order, before it uploads it. Repositories on another
// registry than the push's are skipped. A mounted blob is reported as a
// *remotes.MountedError, an AlreadyExists error.
func WithMountSources(ctx context.Context, names ...string) context.Context {
	return context.WithValue(ctx, mountSourcesKey{}, append(MountSources(ctx), names...))
}

// MountSources returns the repositories ctx names for mounts.
func MountSources(ctx context.Context) []string {
	s, _ := ctx.Value(mountSourcesKey{}).([]string)
	return s
}

type pusher struct {
	repo *repository
	host RegistryHost
}

var _ remotes.Pusher = (*pusher)(nil)

// Push opens a writer for desc on the pusher's host. A manifest or index
// goes to the manifests endpoint, under the reference's tag when it has
// one (and, with a digest too, only the manifest of that digest gets the
// tag), else under its digest; anything else is uploaded as a blob, in one
// PUT or in chunks. Content the repository already holds is an
// AlreadyExists error before anything is written.
func (p *pusher) Push(ctx context.Context, desc ocispec.Descriptor) (content.Writer, error) {
	if err := checkDescriptor("push", desc); err != nil {
		return nil, err
	}
	ctx = p.repo.scope(ctx, true)
	switch {
	case remotes.IsSchema1Type(desc.MediaType):
		return nil, fmt.Errorf("push %s: %w", desc.Digest, checkManifestType(desc.MediaType))
	case remotes.IsManifestType(desc.MediaType):
		return p.pushManifest(ctx, desc)
	}
	return p.pushBlob(ctx, desc)
}

func (p *pusher) what(desc ocispec.Descriptor) string {
	return fmt.Sprintf("push %s to %s", desc.Digest, p.repo.ref.Name)
}

// exists asks whether the repository holds what path names; check, when
// set, must agree with the answer's headers for it to count.
func (p *pusher) exists(ctx context.Context, path string, check func(http.Header) bool) (bool, error) {
	rq := p.repo.request(p.host, http.MethodHead, path)
	if strings.HasPrefix(path, "/manifests/") {
		rq.header.Set("Accept", manifestAccept)
	}
	resp, err := p.repo.r.send(ctx, rq)
	if err != nil {
		return false, err
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return check == nil || check(resp.Header), nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, newError(resp)
}

func (p *pusher) pushManifest(ctx context.Context, desc ocispec.Descriptor) (content.Writer, error) {
	if desc.Size > remotes.MaxManifestSize {
		return nil, fmt.Errorf("%s: %w", p.what(desc), tooLarge(desc.Digest, desc.Size))
	}
	object := desc.Digest.String()
	var check func(http.Header) bool
	if ref := p.repo.ref; ref.Tag != "" && (ref.Digest == "" || ref.Digest == desc.Digest) {
		object = ref.Tag
		check = func(h http.Header) bool { return h.Get("Docker-Content-Digest") == desc.Digest.String() }
	}
	found, err := p.exists(ctx, "/manifests/"+object, check)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what(desc), err)
	}
	if found {
		return nil, fmt.Errorf("%s: manifest %s exists: %w", p.what(desc), object, errdefs.ErrAlreadyExists)
	}
	return &manifestWriter{p: p, ctx: ctx, desc: desc, object: object, h: desc.Digest.Algorithm().Hash()}, nil
}

func (p *pusher) pushBlob(ctx context.Context, desc ocispec.Descriptor) (content.Writer, error) {
	found, err := p.exists(ctx, "/blobs/"+desc.Digest.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what(desc), err)
	}
	if found {
		return nil, fmt.Errorf("%s: blob exists: %w", p.what(desc), errdefs.ErrAlreadyExists)
	}
	var resp *http.Response
	for _, name := range MountSources(ctx) {
		src, err := remotes.ParseRef(name)
		if err != nil || src.Domain != p.repo.ref.Domain || src.Path == p.repo.ref.Path {
			continue
		}
		q := url.Values{"mount": {desc.Digest.String()}, "from": {src.Path}}
		resp, err = p.startUpload(WithScope(ctx, RepositoryScope(src.Path, false)), q)
		if err != nil {
			resp = nil
			continue
		}
		if resp.StatusCode == http.StatusCreated {
			drain(resp)
			return nil, fmt.Errorf("%s: %w", p.what(desc), &remotes.MountedError{Digest: desc.Digest, From: src.Name})
		}
		break // 202: the registry started an upload instead
	}
	if resp == nil {
		if resp, err = p.startUpload(ctx, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", p.what(desc), err)
		}
	}
	drain(resp)
	base := p.repo.request(p.host, http.MethodPost, "/blobs/uploads/").url
	loc, err := resolveLocation(base, resp.Header.Get("Location"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.what(desc), err)
	}
	w := &blobWriter{p: p, desc: desc, location: loc, h: desc.Digest.Algorithm().Hash()}
	w.ctx, w.cancel = context.WithCancel(ctx)
	minChunk, _ := strconv.ParseInt(resp.Header.Get("OCI-Chunk-Min-Length"), 10, 64)
	if minChunk > 0 || desc.Size > p.repo.r.opts.chunkThreshold {
		w.chunk = max(p.repo.r.opts.chunkSize, minChunk)
	}
	return w, nil
}

// startUpload POSTs to the uploads endpoint with query q and returns the
// answer when it is 201 (mounted) or 202 (upload started).
func (p *pusher) startUpload(ctx context.Context, q url.Values) (*http.Response, error) {
	rq := p.repo.request(p.host, http.MethodPost, "/blobs/uploads/")
	rq.url.RawQuery = q.Encode()
	resp, err := p.repo.r.send(ctx, rq)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(resp, http.StatusCreated, http.StatusAccepted); err != nil {
		return nil, err
	}
	return resp, nil
}

// blobWriter streams a blob upload: Write feeds the body of the request
// under way through a pipe, so that nothing is held in memory. Without
// chunks, that is one PUT of the whole blob, which Commit completes; with
// chunks, a PATCH per chunk and a closing PUT at Commit.
type blobWriter struct {
	p        *pusher
	ctx      context.Context // of the upload's requests
	cancel   context.CancelFunc
	desc     ocispec.Descriptor
	location *url.URL
	chunk    int64 // chunk size; 0 for one PUT
	h        hash.Hash
	offset   int64

	// The request under way, which takes the bytes up to end.
	pw   *io.PipeWriter
	end  int64
	done chan sent

	err       error // sticky
	committed bool
	closed    bool
}

type sent struct {
	resp *http.Response
	err  error
}

var _ content.Writer = (*blobWriter)(nil)

// begin starts the request that takes the next bytes.
func (w *blobWriter) begin() {
	n := w.desc.Size - w.offset
	var rq *request
	if w.chunk == 0 {
		rq = w.put()
	} else {
		n = min(n, w.chunk)
		rq = &request{method: http.MethodPatch, host: w.p.host, url: w.location, header: http.Header{}}
		rq.header.Set("Content-Range", fmt.Sprintf("%d-%d", w.offset, w.offset+n-1))
	}
	rq.header.Set("Content-Type", "application/octet-stream")
	pr, pw := io.Pipe()
	rq.body = func() (io.ReadCloser, error) { return pr, nil }
	rq.size = n
	rq.once = true
	w.pw, w.end, w.done = pw, w.offset+n, make(chan sent, 1)
	go func() {
		resp, err := w.p.repo.r.send(w.ctx, rq)
		// The transport may still hold the pipe: make Write fail now.
		pr.CloseWithError(io.ErrClosedPipe)
		w.done <- sent{resp, err}
	}()
}

// put returns the request that ends the upload, with the digest. The
// registry's own query (an upload state, a signature) is kept byte for
// byte: decoding and encoding it again would reorder it and drop pairs
// Go's parser refuses, such as those holding ';'.
func (w *blobWriter) put() *request {
	u := *w.location
	d := "digest=" + url.QueryEscape(w.desc.Digest.String())
	if u.RawQuery == "" {
		u.RawQuery = d
	} else {
		u.RawQuery += "&" + d
	}
	return &request{method: http.MethodPut, host: w.p.host, url: &u, header: http.Header{}}
}

// wait waits for the request under way and checks its status.
func (w *blobWriter) wait(want int) (*http.Response, error) {
	return w.waitCtx(w.ctx, want)
}

// waitCtx is wait that gives up when ctx ends, stopping the request.
func (w *blobWriter) waitCtx(ctx context.Context, want int) (*http.Response, error) {
	var s sent
	select {
	case s = <-w.done:
	case <-ctx.Done():
		w.cancel()
		s = <-w.done
		if s.resp != nil {
			drain(s.resp)
		}
		s = sent{err: context.Cause(ctx)}
	}
	w.pw, w.done = nil, nil
	if s.err != nil {
		return nil, s.err
	}
	if err := checkStatus(s.resp, want); err != nil {
		return nil, err
	}
	drain(s.resp)
	return s.resp, nil
}

// Write sends p on. Writing past the descriptor's size is a
// FailedPrecondition error.
func (w *blobWriter) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if w.offset+int64(len(p)) > w.desc.Size {
		w.fail(fmt.Errorf("%s: more than the expected %d bytes: %w", w.p.what(w.desc), w.desc.Size, errdefs.ErrFailedPrecondition))
		return 0, w.err
	}
	var written int
	for len(p) > 0 {
		if w.pw == nil {
			w.begin()
		}
		n := min(int64(len(p)), w.end-w.offset)
		m, err := w.pw.Write(p[:n])
		w.h.Write(p[:m])
		w.offset += int64(m)
		written += m
		p = p[m:]
		if err != nil {
			_, err = w.wait(http.StatusAccepted)
			if err == nil {
				err = fmt.Errorf("the registry answered before the upload ended: %w", errdefs.ErrUnavailable)
			}
			w.fail(fmt.Errorf("%s: %w", w.p.what(w.desc), err))
			return written, w.err
		}
		if w.chunk > 0 && w.offset == w.end {
			if err := w.endChunk(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// endChunk completes the PATCH under way and follows its Location.
func (w *blobWriter) endChunk() error {
	w.pw.Close()
	resp, err := w.wait(http.StatusAccepted)
	if err == nil {
		w.location, err = resolveLocation(w.location, resp.Header.Get("Location"))
	}
	if err != nil {
		w.fail(fmt.Errorf("%s: chunk ending at byte %d: %w", w.p.what(w.desc), w.offset, err))
		return w.err
	}
	return nil
}

func (w *blobWriter) usable() error {
	switch {
	case w.err != nil:
		return w.err
	case w.committed || w.closed:
		return fmt.Errorf("%s: writer is closed: %w", w.p.what(w.desc), errdefs.ErrFailedPrecondition)
	}
	return nil
}

// fail makes err the writer's error and stops the request under way, so
// that the registry never sees a complete body.
func (w *blobWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	if w.pw != nil {
		w.pw.CloseWithError(err)
		w.cancel()
		s := <-w.done
		if s.resp != nil {
			drain(s.resp)
		}
		w.pw, w.done = nil, nil
	}
}

// Digest is the digest of the bytes written so far.
func (w *blobWriter) Digest() digest.Digest {
	return digest.NewDigest(w.desc.Digest.Algorithm(), w.h)
}

// Status describes the upload.
func (w *blobWriter) Status() (content.Status, error) {
	return content.Status{Ref: remotes.RefKey(w.desc), Offset: w.offset, Total: w.desc.Size, Expected: w.desc.Digest}, nil
}

// Truncate can only restart an upload no byte was sent to; anything else
// is NotImplemented.
func (w *blobWriter) Truncate(size int64) error {
	if size == 0 && w.offset == 0 {
		return nil
	}
	return fmt.Errorf("%s: truncate to %d: uploads cannot go back: %w", w.p.what(w.desc), size, errdefs.ErrNotImplemented)
}

// Commit ends the upload once all the descriptor's bytes were written and
// their digest is the descriptor's (and size and expected, when given),
// and checks the digest the registry reports.
func (w *blobWriter) Commit(ctx context.Context, size int64, expected digest.Digest, opts ...content.Opt) error {
	if err := w.usable(); err != nil {
		return err
	}
	if _, err := content.MakeOpts(opts...); err != nil {
		return err
	}
	if err := checkWritten(w.p.what(w.desc), w.desc, w.offset, w.Digest(), size, expected); err != nil {
		w.fail(err)
		return err
	}
	var resp *http.Response
	var err error
	if w.chunk == 0 {
		if w.pw == nil {
			w.begin() // an empty blob
		}
		w.pw.Close()
		resp, err = w.waitCtx(ctx, http.StatusCreated)
	} else {
		rq := w.put()
		stop := context.AfterFunc(ctx, w.cancel)
		resp, err = w.p.repo.r.send(w.ctx, rq)
		stop()
		if err == nil {
			if err = checkStatus(resp, http.StatusCreated); err == nil {
				drain(resp)
			}
		}
	}
	if err == nil {
		err = checkReported(w.desc, resp.Header)
	}
	if err != nil {
		w.fail(fmt.Errorf("%s: %w", w.p.what(w.desc), err))
		return w.err
	}
	w.committed = true
	w.cancel()
	return nil
}

// checkWritten checks what a writer got against its descriptor and what
// Commit expects.
func checkWritten(what string, desc ocispec.Descriptor, n int64, dgst digest.Digest, size int64, expected digest.Digest) error {
	switch {
	case n != desc.Size || (size > 0 && n != size):
		return fmt.Errorf("%s: %d bytes written, %d expected: %w", what, n, desc.Size, errdefs.ErrFailedPrecondition)
	case dgst != desc.Digest || (expected != "" && dgst != expected):
		return fmt.Errorf("%s: the bytes written have digest %s: %w", what, dgst, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// checkReported compares the digest a registry reports for what it
// stored, if it does, with desc's.
func checkReported(desc ocispec.Descriptor, h http.Header) error {
	if got := h.Get("Docker-Content-Digest"); got != "" && got != desc.Digest.String() {
		return fmt.Errorf("the registry stored digest %s: %w", got, errdefs.ErrDataLoss)
	}
	return nil
}

// Close releases the writer. An upload not committed is stopped and, best
// effort, cancelled on the registry.
func (w *blobWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.cancel()
	if w.committed {
		return nil
	}
	w.fail(fmt.Errorf("%s: writer closed before commit: %w", w.p.what(w.desc), errdefs.ErrAborted))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cancelTimeout)
	defer cancel()
	rq := &request{method: http.MethodDelete, host: w.p.host, url: w.location, header: http.Header{}, once: true}
	if resp, err := w.p.repo.r.send(ctx, rq); err == nil {
		drain(resp)
	}
	return nil
}

// manifestWriter gathers a manifest in memory, bounded by its descriptor,
// and PUTs it at Commit, where it can be retried.
type manifestWriter struct {
	p         *pusher
	ctx       context.Context
	desc      ocispec.Descriptor
	object    string // tag or digest
	h         hash.Hash
	buf       bytes.Buffer
	committed bool
	closed    bool
}

var _ content.Writer = (*manifestWriter)(nil)

func (w *manifestWriter) Write(p []byte) (int, error) {
	if w.committed || w.closed {
		return 0, fmt.Errorf("%s: writer is closed: %w", w.p.what(w.desc), errdefs.ErrFailedPrecondition)
	}
	if int64(w.buf.Len()+len(p)) > w.desc.Size {
		return 0, fmt.Errorf("%s: more than the expected %d bytes: %w", w.p.what(w.desc), w.desc.Size, errdefs.ErrFailedPrecondition)
	}
	w.h.Write(p)
	return w.buf.Write(p)
}

func (w *manifestWriter) Digest() digest.Digest {
	return digest.NewDigest(w.desc.Digest.Algorithm(), w.h)
}

func (w *manifestWriter) Status() (content.Status, error) {
	return content.Status{Ref: remotes.RefKey(w.desc), Offset: int64(w.buf.Len()), Total: w.desc.Size, Expected: w.desc.Digest}, nil
}

// Truncate cuts the manifest gathered so far back to size bytes.
func (w *manifestWriter) Truncate(size int64) error {
	if size < 0 || size > int64(w.buf.Len()) {
		return fmt.Errorf("%s: truncate to %d of %d bytes: %w", w.p.what(w.desc), size, w.buf.Len(), errdefs.ErrInvalidArgument)
	}
	w.buf.Truncate(int(size))
	w.h.Reset()
	w.h.Write(w.buf.Bytes())
	return nil
}

// Commit checks the manifest and PUTs it under the writer's tag or
// digest, with the descriptor's media type.
func (w *manifestWriter) Commit(ctx context.Context, size int64, expected digest.Digest, opts ...content.Opt) error {
	if w.committed || w.closed {
		return fmt.Errorf("%s: writer is closed: %w", w.p.what(w.desc), errdefs.ErrFailedPrecondition)
	}
	if _, err := content.MakeOpts(opts...); err != nil {
		return err
	}
	b := w.buf.Bytes()
	if err := checkWritten(w.p.what(w.desc), w.desc, int64(len(b)), w.Digest(), size, expected); err != nil {
		return err
	}
	if err := checkManifest(w.desc.MediaType, b); err != nil {
		return fmt.Errorf("%s: %w", w.p.what(w.desc), err)
	}
	rq := w.p.repo.request(w.p.host, http.MethodPut, "/manifests/"+w.object)
	rq.header.Set("Content-Type", w.desc.MediaType)
	rq.body = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	rq.size = int64(len(b))
	resp, err := w.p.repo.r.send(w.ctx, rq)
	if err == nil {
		if err = checkStatus(resp, http.StatusCreated); err == nil {
			drain(resp)
			err = checkReported(w.desc, resp.Header)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: manifest %s: %w", w.p.what(w.desc), w.object, err)
	}
	w.committed = true
	return nil
}

func (w *manifestWriter) Close() error {
	w.closed = true
	return nil
}
