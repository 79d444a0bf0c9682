package archive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is the compression of a layer stream, told by its first bytes.
type Compression int

const (
	// Uncompressed is a plain tar stream, or anything not recognised.
	Uncompressed Compression = iota
	// Gzip is a gzip stream (RFC 1952), possibly of several members.
	Gzip
	// Zstd is a Zstandard stream (RFC 8878).
	Zstd
)

// String returns "uncompressed", "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// MaxZstdWindow is the largest Zstandard window a layer may ask for: the
// decoder's history buffer, and so its memory, never grows beyond it. It is
// the reference decoder's default limit; streams made with a larger window
// (zstd --long=28 and up) are refused.
const MaxZstdWindow = 128 << 20

// readBufferSize is the size of the buffer between the compressed input
// and the decompressor.
const readBufferSize = 256 << 10

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression tells the compression of a stream from its first bytes
// (four are enough): the gzip magic 1f 8b 08, the Zstandard magic
// 28 b5 2f fd or a Zstandard skippable frame (5? 2a 4d 18); anything else,
// including too short a head, is Uncompressed.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	case len(head) >= 4 && head[0]&0xf0 == 0x50 && bytes.Equal(head[1:4], []byte{0x2a, 0x4d, 0x18}):
		return Zstd
	}
	return Uncompressed
}

// Decompress peeks at the first bytes of r and returns the decompressed
// stream and the compression found. Gzip is read with klauspost's decoder;
// Zstandard with a synchronous decoder whose window, and so memory, is
// bounded by [MaxZstdWindow]: a frame asking for more fails the first Read
// with zstd.ErrWindowSizeExceeded. A stream that is neither is returned as
// it is. Decompress reads ahead of what it returns; closing the result
// releases the decoder but does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, Uncompressed, fmt.Errorf("layer: reading the stream's first bytes: %w", err)
	}
	switch c := DetectCompression(head); c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("layer: gzip header: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		return zr, c, nil
	case Zstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(MaxZstdWindow),
			zstd.WithDecoderMaxMemory(MaxZstdWindow))
		if err != nil {
			return nil, c, fmt.Errorf("layer: zstd decoder: %w", err)
		}
		return zr.IOReadCloser(), c, nil
	}
	return io.NopCloser(br), Uncompressed, nil
}
