package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/events"
)

// Limits of a journal, unless options say otherwise.
const (
	// DefaultMaxEvents is how many events a journal keeps at most.
	DefaultMaxEvents = 10_000
	// DefaultMaxBytes is how many bytes its segment files hold at most.
	DefaultMaxBytes = 8 << 20
	// MinBytes is the smallest byte cap WithMaxBytes takes.
	MinBytes = 64 << 10
	// MaxSegments is how many segment files a journal is split into.
	MaxSegments = 8
	// MaxRecord is the longest record, in bytes: an event longer than
	// that is journaled without its payload.
	MaxRecord = 256 << 10
	// QueueLen is how many events a writer holds while it writes; an
	// event that finds the queue full is lost, and counted.
	QueueLen = 4096
)

const (
	// sealReserve is the room a segment keeps for its seal.
	sealReserve = 64
	// closeTimeout is how long Close waits for the journal's lock.
	closeTimeout = 2 * time.Second
	lockName     = "lock"
)

// Opt configures a Writer.
type Opt func(*options) error

type options struct {
	maxEvents int
	maxBytes  int64
}

// WithMaxEvents caps the journal at n events (at least 1). The default
// is DefaultMaxEvents.
func WithMaxEvents(n int) Opt {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("journal: cap of %d events: %w", n, errdefs.ErrInvalidArgument)
		}
		o.maxEvents = n
		return nil
	}
}

// WithMaxBytes caps the journal's files at n bytes (at least MinBytes).
// The default is DefaultMaxBytes.
func WithMaxBytes(n int64) Opt {
	return func(o *options) error {
		if n < MinBytes {
			return fmt.Errorf("journal: cap of %d bytes is under %d: %w", n, MinBytes, errdefs.ErrInvalidArgument)
		}
		o.maxBytes = n
		return nil
	}
}

// Writer appends events to the journal in a directory, from a goroutine
// of its own while it has events to write; idle, it holds no goroutine
// and no file. Its methods are safe for concurrent use.
type Writer struct {
	dir       string
	origin    string
	pid       int
	maxEvents uint64
	maxBytes  int64
	segments  int
	segEvents uint64
	segBytes  int64
	maxRecord int

	mu       sync.Mutex
	queue    []item
	spare    []item
	queued   uint64 // events taken into the queue, ever
	finished uint64 // events the goroutine is done with, ever
	lost     uint64 // for the next record
	err      error  // the last write's
	closed   bool
	running  bool          // the goroutine is
	exited   chan struct{} // closed when it ends
	progress chan struct{} // closed, and replaced, after each batch

	// The goroutine's, or Close's once it has ended.
	lock file
	cur  *current
	buf  []byte
}

type item struct {
	seq uint64
	env *events.Envelope
}

// current is the segment the writer appends to, as it knows it.
type current struct {
	f     file   // noFile while the writer is idle
	ino   uint64 // the file's identity
	dev   uint64
	first uint64
	last  uint64 // the last record's number; first-1 when none
	size  int64
	next  uint64 // sealed: the next segment's first number
	torn  bool   // ends in a torn line
}

// NewWriter returns a writer of the journal in dir, which it creates
// when it first writes. It does no I/O until then.
func NewWriter(dir string, opts ...Opt) (*Writer, error) {
	o := options{maxEvents: DefaultMaxEvents, maxBytes: DefaultMaxBytes}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var id [8]byte
	rand.Read(id[:])
	segs := min(MaxSegments, o.maxEvents)
	w := &Writer{dir: dir, origin: hex.EncodeToString(id[:]), pid: os.Getpid(),
		maxEvents: uint64(o.maxEvents), maxBytes: o.maxBytes, segments: segs,
		segEvents: uint64(o.maxEvents / segs), segBytes: o.maxBytes / int64(segs),
		progress: make(chan struct{}), lock: noFile}
	w.maxRecord = int(min(MaxRecord, w.segBytes-sealReserve))
	return w, nil
}

// Origin returns the writer's identity, the Origin of its records.
func (w *Writer) Origin() string { return w.origin }

// Append queues env, numbered seq by the caller (its OriginSeq), to be
// written. It never blocks: an event that finds the queue full, or the
// writer closed, is lost; the record after it counts the lost ones.
func (w *Writer) Append(seq uint64, env *events.Envelope) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if len(w.queue) >= QueueLen {
		w.lost++
		return
	}
	w.queue = append(w.queue, item{seq, env})
	w.queued++
	if !w.running {
		w.running, w.exited = true, make(chan struct{})
		go w.run(w.exited)
	}
}

// Flush waits until the events appended before it are written, or lost,
// or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.queued
	for w.finished < target {
		ch := w.progress
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return nil
}

// Close writes what is queued and stops the writer; events appended
// afterwards are dropped. It waits for the journal's lock for a while
// at most. It returns the error of the last write that failed, if any.
// Close is idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	running, exited := w.running, w.exited
	w.mu.Unlock()
	if running {
		<-exited
	}
	w.closeFiles()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// run writes the queue, batch by batch, until it is empty.
func (w *Writer) run(exited chan struct{}) {
	defer close(exited)
	var deadline time.Time // for the lock, once closed
	for {
		w.mu.Lock()
		batch, lost := w.queue, uint64(0)
		w.queue, w.spare = w.spare, nil
		if len(batch) > 0 {
			lost, w.lost = w.lost, 0
		}
		if w.closed && deadline.IsZero() {
			deadline = time.Now().Add(closeTimeout)
		}
		w.mu.Unlock()

		var err error
		if len(batch) > 0 {
			err = w.write(batch, lost, deadline)
		}

		w.mu.Lock()
		if err != nil {
			w.lost += lost + uint64(len(batch))
			w.err = err
		}
		w.finished += uint64(len(batch))
		close(w.progress)
		w.progress = make(chan struct{})
		clear(batch)
		w.spare = batch[:0]
		if len(w.queue) == 0 {
			w.closeFiles() // before another run may start
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// closeFiles closes the writer's files, keeping what it knows of the
// current segment.
func (w *Writer) closeFiles() {
	if w.cur != nil && w.cur.f != noFile {
		w.cur.f.close()
		w.cur.f = noFile
	}
	if w.lock != noFile {
		w.lock.close()
		w.lock = noFile
	}
}

// write appends batch to the journal under its lock, lost counted on
// the first record, rotating segments as they fill.
func (w *Writer) write(batch []item, lost uint64, deadline time.Time) error {
	if err := w.lockJournal(deadline); err != nil {
		return err
	}
	defer unix.Flock(int(w.lock), unix.LOCK_UN)
	if err := w.syncCurrent(); err != nil {
		w.dropCurrent()
		return err
	}
	buf := w.buf[:0]
	defer func() { w.buf = buf[:0] }()
	if w.cur.torn {
		buf = append(buf, '\n') // ends a line torn by a writer that died
	}
	for i, it := range batch {
		l := w.line(w.cur.last+1, it)
		if i == 0 {
			l.Lost = lost
		}
		start := len(buf)
		if buf = appendLine(buf, l); len(buf)-start > w.maxRecord {
			l.Event, l.Omitted = nil, omitted(nil, len(buf)-start, w.maxRecord)
			buf = appendLine(buf[:start], l)
		}
		count := w.cur.last + 1 - w.cur.first
		if count >= w.segEvents || (count > 0 && w.cur.size+int64(len(buf))+sealReserve > w.segBytes) {
			if err := w.append(buf[:start]); err != nil {
				return err
			}
			if err := w.rotate(); err != nil {
				return err
			}
			buf = buf[:copy(buf, buf[start:])]
		}
		w.cur.last++
	}
	return w.append(buf)
}

// line makes the line of the event it, numbered seq in the journal.
func (w *Writer) line(seq uint64, it item) *line {
	l := &line{Seq: seq, Time: it.env.Timestamp, Namespace: it.env.Namespace, Topic: it.env.Topic,
		Origin: w.origin, Pid: w.pid, OriginSeq: it.seq}
	js, err := json.Marshal(it.env.Event)
	if err != nil {
		l.Omitted = omitted(err, 0, 0)
	} else {
		l.Event = js
	}
	return l
}

// omitted says why a payload is left out: it does not encode, or its
// record would be n bytes, over max.
func omitted(err error, n, max int) string {
	if err != nil {
		return "payload does not encode as JSON: " + err.Error()
	}
	return fmt.Sprintf("payload makes a record of %d bytes, over the %d a record may have", n, max)
}

// append writes b to the current segment.
func (w *Writer) append(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	n, err := w.cur.f.Write(b)
	w.cur.size += int64(n)
	if err != nil {
		w.dropCurrent() // learn again what is there
		return fmt.Errorf("journal %s: %w", w.dir, err)
	}
	w.cur.torn = false
	return nil
}

// rotate seals the current segment, moves to a new one and removes the
// oldest segments beyond the caps.
func (w *Writer) rotate() error {
	next := w.cur.last + 1
	seal := appendLine(nil, &line{Next: next})
	if err := w.append(seal); err != nil {
		return err
	}
	w.cur.next = next
	w.cur.f.close()
	w.cur = nil
	cur, err := openSegment(w.dir, next)
	if err != nil {
		return err
	}
	w.cur = cur
	if cur.torn {
		if err := w.append([]byte{'\n'}); err != nil {
			return err
		}
	}
	return w.prune()
}

// prune removes the oldest segments while there are more than the
// writer keeps, or they hold more events or bytes than its caps. The
// current one stays.
func (w *Writer) prune() error {
	firsts, err := segments(w.dir)
	if err != nil {
		return err
	}
	sizes := make([]int64, len(firsts))
	var total int64
	for i, first := range firsts {
		if fi, err := os.Stat(segmentPath(w.dir, first)); err == nil {
			sizes[i] = fi.Size()
			total += sizes[i]
		}
	}
	for len(firsts) > 1 && firsts[0] < w.cur.first &&
		(len(firsts) > w.segments || w.cur.last+1-firsts[0] > w.maxEvents || total > w.maxBytes) {
		if err := os.Remove(segmentPath(w.dir, firsts[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		total -= sizes[0]
		firsts, sizes = firsts[1:], sizes[1:]
	}
	return nil
}

// dropCurrent forgets the current segment, to find it again.
func (w *Writer) dropCurrent() {
	if w.cur != nil && w.cur.f != noFile {
		w.cur.f.close()
	}
	w.cur = nil
}

// syncCurrent brings what the writer knows of the current segment up to
// date with what other writers did: records they appended, a rotation,
// a journal removed.
func (w *Writer) syncCurrent() error {
	for {
		if w.cur == nil {
			firsts, err := segments(w.dir)
			if err != nil {
				return err
			}
			first := uint64(1)
			if len(firsts) > 0 {
				first = firsts[len(firsts)-1]
			}
			if w.cur, err = openSegment(w.dir, first); err != nil {
				return err
			}
		} else {
			if w.cur.f == noFile { // back from idle
				f, err := openFile(segmentPath(w.dir, w.cur.first), unix.O_RDWR|unix.O_APPEND, 0)
				if errors.Is(err, os.ErrNotExist) {
					w.cur = nil
					continue
				}
				if err != nil {
					return fmt.Errorf("journal: %w", err)
				}
				w.cur.f = f
			}
			st, err := w.cur.f.stat()
			if err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			switch {
			case st.Nlink == 0 || st.Size < w.cur.size || st.Ino != w.cur.ino || st.Dev != w.cur.dev:
				// removed, cut by hand, or another file
				w.dropCurrent()
				continue
			case st.Size > w.cur.size:
				t, err := scan(w.cur.f, w.cur.size, st.Size, !w.cur.torn)
				if err != nil {
					return err
				}
				w.cur.last = max(w.cur.last, t.last)
				w.cur.next = max(w.cur.next, t.next)
				w.cur.size, w.cur.torn = st.Size, t.torn
			}
		}
		if w.cur.next == 0 {
			return nil
		}
		next := w.cur.next
		w.dropCurrent()
		cur, err := openSegment(w.dir, next)
		if err != nil {
			return err
		}
		w.cur = cur
	}
}

// openSegment opens, creating it if need be, the segment of dir starting
// at first, and reads what it holds from its tail.
func openSegment(dir string, first uint64) (*current, error) {
	f, err := openFile(segmentPath(dir, first), unix.O_RDWR|unix.O_CREAT|unix.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	st, err := f.stat()
	if err != nil {
		f.close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	size := st.Size
	off := max(0, size-64<<10)
	t, err := scan(f, off, size, off == 0)
	if err == nil && t.last == 0 && off > 0 { // a long record: all of it
		t, err = scan(f, 0, size, true)
	}
	if err != nil {
		f.close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &current{f: f, ino: st.Ino, dev: uint64(st.Dev), first: first, last: max(first-1, t.last), size: size, next: t.next, torn: t.torn}, nil
}

// lockJournal takes the journal's lock, the one file in its directory
// that writers flock, creating both if need be. After deadline (if not
// zero) it gives up waiting for another process's hold.
func (w *Writer) lockJournal(deadline time.Time) error {
	for {
		if w.lock == noFile {
			path := filepath.Join(w.dir, lockName)
			f, err := openFile(path, unix.O_RDWR|unix.O_CREAT, 0o600)
			if errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(w.dir, 0o700); err != nil {
					return fmt.Errorf("journal: %w", err)
				}
				f, err = openFile(path, unix.O_RDWR|unix.O_CREAT, 0o600)
			}
			if err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			w.lock = f
		}
		fd := int(w.lock)
		for wait := 20 * time.Microsecond; ; wait = min(2*wait, 10*time.Millisecond) {
			err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if err == nil {
				break
			}
			if err != unix.EWOULDBLOCK && err != unix.EINTR {
				return fmt.Errorf("journal: lock: %w", err)
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				return fmt.Errorf("journal: lock held by another process: %w", errdefs.ErrUnavailable)
			}
			time.Sleep(wait)
		}
		// A journal removed and made again has another lock file: the
		// lock held must be the one there is.
		var held, there unix.Stat_t
		if unix.Fstat(fd, &held) == nil && unix.Stat(filepath.Join(w.dir, lockName), &there) == nil &&
			held.Dev == there.Dev && held.Ino == there.Ino {
			return nil
		}
		w.lock.close()
		w.lock = noFile
		w.dropCurrent()
	}
}
