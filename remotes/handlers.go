package remotes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
)

const (
	// progressBytes is how many bytes move between two looks at the clock.
	progressBytes = 64 << 10
	// progressEvery is the shortest time between two Moving reports.
	progressEvery = 100 * time.Millisecond
)

// TransferOpt configures Fetch and Push.
type TransferOpt func(*transferOpts) error

type transferOpts struct {
	progress ProgressFunc
}

// WithProgress has fn told how the transfer goes: Waiting first, Moving
// while bytes flow (at most one report per 100 ms, the clock read at most
// once per 64 KiB, so it is cheap enough to leave on), and one of Exists,
// Mounted, Done or Failed at the end. The default is no reports.
func WithProgress(fn ProgressFunc) TransferOpt {
	return func(o *transferOpts) error {
		o.progress = fn
		return nil
	}
}

func makeTransferOpts(opts []TransferOpt) (transferOpts, error) {
	var o transferOpts
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (o transferOpts) report(desc ocispec.Descriptor, state ProgressState, offset int64, err error) {
	if o.progress != nil {
		o.progress(Progress{Desc: desc, State: state, Offset: offset, Err: err})
	}
}

// RefKey returns the ingest ref under which Fetch writes desc into a
// content store: the kind of content, by media type ("manifest", "index",
// "config", "layer", else "blob"), a dash, and the digest:
// "layer-sha256:…".
func RefKey(desc ocispec.Descriptor) string {
	return contentKind(desc.MediaType) + "-" + desc.Digest.String()
}

// Fetch copies the content desc names from fetcher into store, in one pass:
// the stream goes through content.Copy into the store's writer, which
// hashes it while it writes, and the commit checks size and digest (the
// fetcher's own check is skipped through VerifySkipper: one hash, not
// two). Content that does not match is never committed. Content
// the store already holds is not fetched again. An ingest of desc left
// behind by an interrupted Fetch is continued where the fetcher's reader
// can seek, else restarted.
func Fetch(ctx context.Context, store content.Ingester, fetcher Fetcher, desc ocispec.Descriptor, opts ...TransferOpt) error {
	o, err := makeTransferOpts(opts)
	if err != nil {
		return err
	}
	o.report(desc, ProgressWaiting, 0, nil)
	err = fetch(ctx, store, fetcher, desc, o)
	switch {
	case err == nil:
		o.report(desc, ProgressDone, desc.Size, nil)
	case errdefs.IsAlreadyExists(err):
		o.report(desc, ProgressExists, desc.Size, nil)
		err = nil
	default:
		err = fmt.Errorf("fetch %s: %w", desc.Digest, err)
		o.report(desc, ProgressFailed, 0, err)
	}
	return err
}

func fetch(ctx context.Context, store content.Ingester, fetcher Fetcher, desc ocispec.Descriptor, o transferOpts) error {
	if err := content.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	w, err := content.OpenWriter(ctx, store, content.WithRef(RefKey(desc)), content.WithDescriptor(desc))
	if err != nil {
		return err
	}
	defer w.Close()
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	if v, ok := rc.(VerifySkipper); ok {
		// Copy commits with desc.Digest: the store checks it.
		v.SkipVerify()
	}
	return content.Copy(ctx, w, o.reader(desc, rc), desc.Size, desc.Digest)
}

// VerifySkipper is implemented by Fetcher readers that check the digest of
// what they stream and can leave that check to a consumer that makes it
// anyway. Fetch uses it: the content store it writes to hashes the stream
// and checks the digest at Commit, so the blob is hashed once, not twice —
// hashing is what bounds a fetch over a fast network.
type VerifySkipper interface {
	// SkipVerify stops the reader from checking the digest. It still
	// enforces the descriptor's size. Call it before the first Read.
	SkipVerify()
}

// Push copies the content desc names from provider to pusher. Content the
// registry already holds, or mounts from another repository, is not sent,
// and need not be in provider.
func Push(ctx context.Context, pusher Pusher, provider content.Provider, desc ocispec.Descriptor, opts ...TransferOpt) error {
	o, err := makeTransferOpts(opts)
	if err != nil {
		return err
	}
	o.report(desc, ProgressWaiting, 0, nil)
	err = push(ctx, pusher, provider, desc, o)
	// A blob streamed to the registry cannot be replayed by the registry
	// client; here the provider can be read again, so a temporary
	// failure is retried from the start.
	for attempt := 1; attempt <= pushRetries && temporary(err) && ctx.Err() == nil; attempt++ {
		t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
			err = push(ctx, pusher, provider, desc, o)
		}
	}
	var mounted *MountedError
	switch {
	case err == nil:
		o.report(desc, ProgressDone, desc.Size, nil)
	case errors.As(err, &mounted):
		o.report(desc, ProgressMounted, desc.Size, nil)
		err = nil
	case errdefs.IsAlreadyExists(err):
		o.report(desc, ProgressExists, desc.Size, nil)
		err = nil
	default:
		err = fmt.Errorf("push %s: %w", desc.Digest, err)
		o.report(desc, ProgressFailed, 0, err)
	}
	return err
}

// pushRetries bounds how many times Push sends a descriptor again after a
// temporary failure.
const pushRetries = 3

// temporary reports whether err is worth trying again: an Unavailable
// kind, or an error that says it is temporary.
func temporary(err error) bool {
	if err == nil || errdefs.IsAlreadyExists(err) {
		return false
	}
	if errdefs.IsUnavailable(err) {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func push(ctx context.Context, pusher Pusher, provider content.Provider, desc ocispec.Descriptor, o transferOpts) error {
	if err := content.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	w, err := pusher.Push(ctx, desc)
	if err != nil {
		return err
	}
	defer w.Close()
	ra, err := provider.ReaderAt(ctx, desc)
	if err != nil {
		return err
	}
	defer ra.Close()
	if ra.Size() != desc.Size {
		return fmt.Errorf("content %s: the store holds %d bytes, the descriptor says %d: %w", desc.Digest, ra.Size(), desc.Size, errdefs.ErrFailedPrecondition)
	}
	return content.Copy(ctx, w, o.reader(desc, io.NewSectionReader(ra, 0, desc.Size)), desc.Size, desc.Digest)
}

// reader wraps r to report progress, keeping its Seek for content.Copy's
// resume when it has one.
func (o transferOpts) reader(desc ocispec.Descriptor, r io.Reader) io.Reader {
	if o.progress == nil {
		return r
	}
	pr := &progressReader{r: r, o: o, desc: desc}
	if s, ok := r.(io.Seeker); ok {
		return &progressReadSeeker{pr, s}
	}
	return pr
}

// progressReader reports Moving at most every progressEvery, and looks at
// the clock at most every progressBytes.
type progressReader struct {
	r        io.Reader
	o        transferOpts
	desc     ocispec.Descriptor
	offset   int64
	unseen   int64 // bytes moved since the clock was last read
	reported time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.offset += int64(n)
	p.unseen += int64(n)
	if n > 0 && (p.reported.IsZero() || p.unseen >= progressBytes) {
		p.unseen = 0
		if now := time.Now(); now.Sub(p.reported) >= progressEvery {
			p.reported = now
			p.o.report(p.desc, ProgressMoving, p.offset, nil)
		}
	}
	return n, err
}

type progressReadSeeker struct {
	*progressReader
	s io.Seeker
}

func (p *progressReadSeeker) Seek(offset int64, whence int) (int64, error) {
	n, err := p.s.Seek(offset, whence)
	if err == nil {
		p.offset = n
	}
	return n, err
}

// contentKind names the kind of content a media type says desc holds.
func contentKind(mediaType string) string {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, MediaTypeDockerManifest:
		return "manifest"
	case ocispec.MediaTypeImageIndex, MediaTypeDockerManifestList:
		return "index"
	case ocispec.MediaTypeImageConfig, MediaTypeDockerConfig:
		return "config"
	}
	if IsLayerType(mediaType) {
		return "layer"
	}
	return "blob"
}
