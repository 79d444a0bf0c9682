package archive

import (
	"crypto/sha256"
	"hash"
	"io"
)

const (
	// chunkSize is the size of the buffers the reading goroutine fills.
	chunkSize = 1 << 20
	// chunks is how many buffers are in flight: the reading goroutine runs
	// at most chunks-1 buffers ahead of the applier.
	chunks = 4
)

// stream reads src in its own goroutine, so that decompression overlaps
// parsing and writing, and hands it over in large buffers. The consumer side
// (Read) hashes and counts every byte it hands on.
type stream struct {
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // the source's final error, io.EOF at its end; read after full is closed

	cur     []byte // unread part of last
	last    []byte // buffer being read, to be recycled
	hash    hash.Hash
	size    int64
	readErr error // the source's error once Read has returned it, if not io.EOF
}

func newStream(src io.Reader) *stream {
	s := &stream{
		full: make(chan []byte, chunks),
		free: make(chan []byte, chunks),
		done: make(chan struct{}),
		hash: sha256.New(),
	}
	for range chunks {
		s.free <- make([]byte, chunkSize)
	}
	go s.produce(src)
	return s
}

func (s *stream) produce(src io.Reader) {
	defer close(s.full)
	for {
		var buf []byte
		select {
		case buf = <-s.free:
		case <-s.done:
			return
		}
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var m int
			m, err = src.Read(buf[n:])
			n += m
		}
		if n > 0 {
			select {
			case s.full <- buf[:n]:
			case <-s.done:
				return
			}
		}
		if err != nil {
			s.err = err
			return
		}
	}
}

// Read implements io.Reader over the chunks. At the end it returns the
// source's error: io.EOF, or what failed.
func (s *stream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.last != nil {
			s.free <- s.last[:cap(s.last)]
			s.last = nil
		}
		buf, ok := <-s.full
		if !ok {
			if s.err != io.EOF {
				s.readErr = s.err
			}
			return 0, s.err
		}
		s.hash.Write(buf)
		s.size += int64(len(buf))
		s.cur, s.last = buf, buf
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// stop ends the reading goroutine and waits for it. The source is not read
// after stop returns.
func (s *stream) stop() {
	close(s.done)
	for range s.full {
	}
}
