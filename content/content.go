package content

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReaderAt gives random access to the bytes of one committed blob.
// Close releases it; a blob deleted while a ReaderAt is open stays
// readable through it until it is closed.
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	// Size is the blob's size in bytes.
	Size() int64
}

// Provider opens committed blobs for reading.
type Provider interface {
	// ReaderAt opens the blob named by desc.Digest. desc.Size is not
	// trusted; the returned ReaderAt reports the stored size. A missing
	// blob is a NotFound error.
	ReaderAt(ctx context.Context, desc ocispec.Descriptor) (ReaderAt, error)
}

// Ingester opens writers that stream new blobs into a store.
type Ingester interface {
	// Writer opens a writer for the ingest named by WithRef, continuing
	// it when it already exists. A ref held by another writer is an
	// Unavailable error; a ref is required (InvalidArgument otherwise).
	// When WithDescriptor names a digest that the store already holds,
	// Writer fails with AlreadyExists and nothing needs to be written.
	Writer(ctx context.Context, opts ...WriterOpt) (Writer, error)
}

// Info describes a committed blob.
type Info struct {
	Digest    digest.Digest
	Size      int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Labels are free-form key-value pairs, kept per namespace.
	Labels map[string]string
}

// InfoProvider tells about committed blobs.
type InfoProvider interface {
	// Info describes the blob; a missing one is a NotFound error.
	Info(ctx context.Context, dgst digest.Digest) (Info, error)
}

// WalkFunc is called once for each blob a Walk visits. Returning an error
// stops the walk and Walk returns that error.
type WalkFunc func(Info) error

// Manager lists, labels and deletes committed blobs.
type Manager interface {
	InfoProvider

	// Update changes a blob's mutable fields: its labels. With no
	// fieldpaths, the labels are replaced by info.Labels; with fieldpaths
	// "labels" replaces them all and "labels.KEY" sets or, for an empty
	// value, removes one label. Other fields are an InvalidArgument error.
	Update(ctx context.Context, info Info, fieldpaths ...string) (Info, error)

	// Walk calls fn for every blob matching any of the filters (all blobs
	// without filters), in digest order. Filters use the syntax of package
	// filters over the fields digest, size and labels.
	Walk(ctx context.Context, fn WalkFunc, filters ...string) error

	// Delete removes a blob. Readers already open keep reading it.
	Delete(ctx context.Context, dgst digest.Digest) error
}

// Status describes an ingest under way.
type Status struct {
	Ref       string
	Offset    int64
	Total     int64
	Expected  digest.Digest
	StartedAt time.Time
	UpdatedAt time.Time
}

// IngestManager inspects and aborts ingests under way.
type IngestManager interface {
	// Status describes one ingest; a missing one is a NotFound error.
	Status(ctx context.Context, ref string) (Status, error)
	// ListStatuses describes the ingests matching any of the filters
	// (fields ref, offset, total, expected), in ref order.
	ListStatuses(ctx context.Context, filters ...string) ([]Status, error)
	// Abort discards an ingest and its data. An ingest held by an open
	// writer is an Unavailable error.
	Abort(ctx context.Context, ref string) error
}

// Writer streams a blob into a store. It is not safe for concurrent use.
type Writer interface {
	// Write appends to the ingest. Writing past the size given by
	// WithDescriptor fails with FailedPrecondition.
	io.WriteCloser

	// Digest is the digest of everything written so far.
	Digest() digest.Digest

	// Commit makes the blob visible. size and expected are checked when
	// they are non-zero; the blob is synced to disk before it becomes
	// visible. A digest mismatch discards the ingest; a short ingest is
	// kept so it can be resumed. After Commit, Close only releases the
	// writer.
	Commit(ctx context.Context, size int64, expected digest.Digest, opts ...Opt) error

	// Status describes the ingest.
	Status() (Status, error)

	// Truncate cuts the ingest back to size bytes; 0 restarts it.
	Truncate(size int64) error
}

// Store is a whole content store.
type Store interface {
	Manager
	Provider
	IngestManager
	Ingester
}

// PathProvider is implemented by stores that keep each committed blob in a
// file of its own, so that other programs can read it in place.
type PathProvider interface {
	// BlobPath returns the path of the blob's file. A missing blob is a
	// NotFound error. The file must not be written to.
	BlobPath(ctx context.Context, dgst digest.Digest) (string, error)
}
