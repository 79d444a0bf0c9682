package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// PollInterval is how often a reader looks for new records when inotify
// is not to be had.
const PollInterval = 50 * time.Millisecond

// wakeInterval is how often a reader told by inotify looks anyway.
const wakeInterval = time.Second

// maxLine is the longest line a reader takes; longer ones are skipped.
const maxLine = MaxRecord + 1

// ReaderOpt configures a Reader.
type ReaderOpt func(*readerOptions)

type readerOptions struct {
	replay bool
	since  time.Time
	poll   time.Duration
}

// Since makes the reader start at the oldest record the journal holds,
// skipping those stamped before t. By default a reader starts at the
// end: with the records appended after NewReader.
func Since(t time.Time) ReaderOpt {
	return func(o *readerOptions) { o.replay, o.since = true, t }
}

// WithPolling makes the reader look for new records every interval
// instead of waiting to be told by inotify. The default is inotify, and
// polling every PollInterval where inotify is not to be had.
func WithPolling(interval time.Duration) ReaderOpt {
	return func(o *readerOptions) {
		if interval > 0 {
			o.poll = interval
		}
	}
}

// Reader reads the journal in a directory, record by record, and
// follows it as writers append. A Reader is for one goroutine.
type Reader struct {
	dir   string
	since time.Time
	poll  time.Duration
	ino   *os.File // inotify, nil when polling
	evbuf []byte

	f      *os.File // the segment read, nil when none
	first  uint64   // its first number
	off    int64    // the file offset of buf[pos]
	buf    []byte
	pos, n int    // unread bytes: buf[pos:n]
	skip   bool   // in a line too long, dropped
	next   uint64 // the number of the next record, 0 when unknown
	sealed uint64 // the segment read is full, the journal goes on at this number
	// skipped counts the lines skipped as torn or damaged.
	skipped int
}

// NewReader returns a reader of the journal in dir, which it creates if
// need be, positioned at its end or, with Since, at its start.
func NewReader(dir string, opts ...ReaderOpt) (*Reader, error) {
	o := readerOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	r := &Reader{dir: dir, since: o.since, poll: o.poll, buf: make([]byte, 64<<10)}
	if r.poll == 0 {
		r.ino = watch(dir) // before the position is taken: no change is missed
		r.poll = PollInterval
	}
	if err := r.position(o.replay); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// watch returns an inotify file told of the changes in dir, nil if that
// cannot be had.
func watch(dir string) *os.File {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_DELETE_SELF); err != nil {
		unix.Close(fd)
		return nil
	}
	// Non-blocking, so that it is pollable and takes deadlines.
	return os.NewFile(uintptr(fd), "inotify:"+dir)
}

// position puts the reader at the start of the journal (replay) or at
// the end of its last complete record. With no segment yet, the reader
// starts at the first there will be.
func (r *Reader) position(replay bool) error {
	for {
		firsts, err := segments(r.dir)
		if err != nil || len(firsts) == 0 {
			return err
		}
		first := firsts[0]
		if !replay {
			first = firsts[len(firsts)-1]
		}
		f, err := os.Open(segmentPath(r.dir, first))
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		r.setSegment(f, first, 0)
		if replay {
			return nil
		}
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		off := max(0, fi.Size()-64<<10)
		t, err := scan(f, off, fi.Size(), off == 0)
		if err == nil && t.end == off && off > 0 {
			t, err = scan(f, 0, fi.Size(), true)
		}
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		r.off, r.next = t.end, t.last+1
		if t.next != 0 {
			r.sealed = t.next
			r.closeSegment()
		}
		return nil
	}
}

func (r *Reader) setSegment(f *os.File, first uint64, off int64) {
	r.f, r.first, r.off, r.pos, r.n, r.skip = f, first, off, 0, 0, false
}

func (r *Reader) closeSegment() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Read returns the next record, or io.EOF when it has read all the
// journal holds for now (Wait waits for more). Torn and damaged lines are
// skipped. A reader that fell so far behind that the segment it was to
// read next is gone gets an error of kind DataLoss, once, and goes on
// with the oldest segment there is.
func (r *Reader) Read() (*Record, error) {
	for {
		if r.f == nil {
			if err := r.openNext(); err != nil || r.f == nil {
				if err == nil {
					err = io.EOF
				}
				return nil, err
			}
		}
		ln, ok, err := r.readLine()
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if !ok {
			if err := r.checkRemoved(); err != nil || r.f != nil {
				if err == nil {
					err = io.EOF
				}
				return nil, err
			}
			continue
		}
		l, err := parseLine(ln)
		if err != nil {
			r.skipped++
			continue
		}
		if l.Next != 0 {
			r.sealed = l.Next
			r.closeSegment()
			continue
		}
		if r.next != 0 && l.Seq < r.next {
			continue // had already (a record numbered twice)
		}
		r.next = l.Seq + 1
		if l.Time.Before(r.since) {
			continue
		}
		return l.record(), nil
	}
}

// openNext opens the segment to read once the last is done: the one its
// seal names, or at the start, the oldest. It does nothing while there
// is none.
func (r *Reader) openNext() error {
	if r.sealed != 0 {
		f, err := os.Open(segmentPath(r.dir, r.sealed))
		if errors.Is(err, os.ErrNotExist) {
			// A writer seals a segment and then makes the next, under
			// the lock: once it lets go, the next is there, unless the
			// writer died between the two.
			r.waitWriters()
			f, err = os.Open(segmentPath(r.dir, r.sealed))
		}
		if err == nil {
			r.setSegment(f, r.sealed, 0)
			r.sealed = 0
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
	}
	for {
		firsts, err := segments(r.dir)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		var first uint64
		for _, n := range firsts {
			if n > r.sealed {
				first = n
				break
			}
		}
		if first == 0 {
			return nil // the next is still to be made
		}
		f, err := os.Open(segmentPath(r.dir, first))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		r.setSegment(f, first, 0)
		lost, want := r.sealed != 0, r.sealed
		r.sealed = 0
		if lost {
			return fmt.Errorf("journal: fell behind: records %d to %d were removed before they were read: %w", want, first-1, errdefs.ErrDataLoss)
		}
		return nil
	}
}

// waitWriters waits, a while at most, until no writer holds the
// journal's lock.
func (r *Reader) waitWriters() {
	f, err := os.Open(filepath.Join(r.dir, lockName))
	if err != nil {
		return
	}
	defer f.Close()
	deadline := time.Now().Add(100 * time.Millisecond)
	for wait := 20 * time.Microsecond; ; wait = min(2*wait, 5*time.Millisecond) {
		if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(wait)
	}
}

// checkRemoved looks, at the end of the segment read, whether it was
// removed without a seal (the journal removed and made again), and then
// goes on with the oldest segment there is.
func (r *Reader) checkRemoved() error {
	var st unix.Stat_t
	if err := unix.Fstat(int(r.f.Fd()), &st); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if st.Nlink > 0 {
		return nil
	}
	firsts, err := segments(r.dir)
	if err != nil || len(firsts) == 0 {
		return err
	}
	r.closeSegment()
	r.next = 0
	return nil
}

// readLine returns the next complete line of the segment, without its
// newline, or false at its end for now.
func (r *Reader) readLine() ([]byte, bool, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.pos:r.n], '\n'); i >= 0 {
			ln := r.buf[r.pos : r.pos+i]
			r.pos += i + 1
			r.off += int64(i + 1)
			if r.skip {
				r.skip = false
				r.skipped++
				continue
			}
			return ln, true, nil
		}
		if r.pos > 0 {
			r.n = copy(r.buf, r.buf[r.pos:r.n])
			r.pos = 0
		}
		if r.n == len(r.buf) {
			if len(r.buf) < maxLine {
				r.buf = append(r.buf, make([]byte, min(len(r.buf), maxLine-len(r.buf)))...)
			} else { // too long to be a record: drop it up to its end
				r.off += int64(r.n)
				r.n, r.skip = 0, true
			}
		}
		m, err := r.f.ReadAt(r.buf[r.n:], r.off+int64(r.n))
		r.n += m
		if m == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, false, nil
			}
			return nil, false, err
		}
	}
}

// Wait returns when the journal may hold more than Read has returned, or
// with ctx's error when ctx ends.
func (r *Reader) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.ino != nil {
		if r.evbuf == nil {
			r.evbuf = make([]byte, 4096)
		}
		ino := r.ino
		ino.SetReadDeadline(time.Now().Add(wakeInterval))
		stop := context.AfterFunc(ctx, func() { ino.SetReadDeadline(time.Unix(1, 0)) })
		_, err := r.ino.Read(r.evbuf)
		stop()
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			r.ino.Close() // broken: poll from now on
			r.ino = nil
		}
		return nil
	}
	t := time.NewTimer(r.poll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Skipped returns how many lines the reader skipped as torn or damaged.
func (r *Reader) Skipped() int { return r.skipped }

// Close releases the reader's files.
func (r *Reader) Close() error {
	r.closeSegment()
	if r.ino != nil {
		r.ino.Close()
		r.ino = nil
	}
	return nil
}
