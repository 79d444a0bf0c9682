package containerd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
	exchange "github.com/daemonless/containerd/internal/events"
	"github.com/daemonless/containerd/internal/journal"
)

// The caps of a root's events journal, unless WithEventJournal says
// otherwise.
const (
	DefaultJournalEvents = journal.DefaultMaxEvents
	DefaultJournalBytes  = journal.DefaultMaxBytes
)

// journalDir is the journal's directory under the root.
const journalDir = "events"

// replayFlushTimeout bounds the wait, at the start of a replay, for the
// client's own events to reach the journal.
const replayFlushTimeout = 2 * time.Second

// journalOpts are the options of the client's events journal.
type journalOpts struct {
	off       bool
	maxEvents int
	maxBytes  int64
}

// WithEventJournal caps the root's events journal at maxEvents events
// (at least 1) and maxBytes bytes (at least 64 KiB) as far as the client
// writes it. The journal keeps the newest events, between seven eighths
// and all of the caps; processes sharing a root should agree on them.
// The default is DefaultJournalEvents and DefaultJournalBytes.
func WithEventJournal(maxEvents int, maxBytes int64) ClientOpt {
	return func(o *clientOpts) error {
		if maxEvents < 1 {
			return fmt.Errorf("event journal: cap of %d events: %w", maxEvents, errdefs.ErrInvalidArgument)
		}
		if maxBytes < journal.MinBytes {
			return fmt.Errorf("event journal: cap of %d bytes is under %d: %w", maxBytes, journal.MinBytes, errdefs.ErrInvalidArgument)
		}
		o.journal = journalOpts{maxEvents: maxEvents, maxBytes: maxBytes}
		return nil
	}
}

// WithoutEventJournal keeps the client's events in its process: it does
// not write them to the root's journal, and its subscribers get its own
// events only. By default a client journals its events and follows those
// of the other processes on its root.
func WithoutEventJournal(o *clientOpts) error {
	o.journal = journalOpts{off: true}
	return nil
}

// eventJournal is the client's side of the root's journal.
type eventJournal struct {
	dir string
	w   *journal.Writer
}

// newEventJournal returns the journal jo describes under root, nil when
// it is off.
func newEventJournal(root string, jo journalOpts) *eventJournal {
	if jo.off {
		return nil
	}
	var opts []journal.Opt
	if jo.maxEvents > 0 {
		opts = append(opts, journal.WithMaxEvents(jo.maxEvents), journal.WithMaxBytes(jo.maxBytes))
	}
	dir := filepath.Join(root, journalDir)
	w, err := journal.NewWriter(dir, opts...)
	if err != nil {
		return nil // cannot be: WithEventJournal checked the caps
	}
	return &eventJournal{dir: dir, w: w}
}

// closeEvents writes the events still queued for the journal. Close
// calls it last.
func (c *Client) closeEvents() {
	if c.journal != nil {
		c.journal.w.Close() // its failures were the lost events'
	}
}

// SubscribeSince is Subscribe with a replay: the subscriber first gets
// the events the root's journal holds that were published at since or
// later, by this client, others in this process, or other processes,
// oldest first, then the events published from then on, as Subscribe
// gives them. No event is missed or given twice between the two. The
// journal is bounded (WithEventJournal): a since older than its oldest
// event replays all it holds. Without a journal (WithoutEventJournal),
// there is nothing to replay.
//
// The client's own events published during the replay wait for it to
// end, in the subscription's buffer: more of them than it holds end the
// subscription as with a subscriber that fell behind.
func (c *Client) SubscribeSince(ctx context.Context, since time.Time, filters ...string) (<-chan *events.Envelope, <-chan error) {
	return c.subscribe(ctx, &since, filters)
}

// subscribe subscribes to the events of the client and, through the
// journal, to those of the others on its root, with a replay from since
// when it is not nil.
func (c *Client) subscribe(ctx context.Context, since *time.Time, filters []string) (<-chan *events.Envelope, <-chan error) {
	if c.journal == nil {
		return c.exchange.Subscribe(ctx, filters...)
	}
	f, err := c.exchange.SubscribeFeed(ctx, since != nil, filters...)
	if err != nil {
		return failed(err)
	}
	var opts []journal.ReaderOpt
	if since != nil {
		opts = append(opts, journal.Since(*since))
	}
	r, err := journal.NewReader(c.journal.dir, opts...)
	if err != nil {
		f.End(fmt.Errorf("subscribe: events journal: %w", err))
		return f.Events(), f.Errors()
	}
	go c.follow(f, r, since != nil)
	return f.Events(), f.Errors()
}

// failed returns the channels of a subscription that failed at once
// with err.
func failed(err error) (<-chan *events.Envelope, <-chan error) {
	ch, errs := make(chan *events.Envelope), make(chan error, 1)
	errs <- err
	close(ch)
	close(errs)
	return ch, errs
}

// follow feeds f the events of the journal that r reads, until the
// subscription ends. Those of other clients all go; the client's own
// come straight from its exchange, except, in a replay, those published
// before the subscription (numbered below f.From()), which the journal
// gives. A replay holds the client's new events back until it has read
// the journal to its end, once the client's events before the
// subscription are all in it.
func (c *Client) follow(f *exchange.Feed, r *journal.Reader, replay bool) {
	defer r.Close()
	ctx := f.Context()
	origin, from := c.journal.w.Origin(), f.From()
	held, flushed := replay, false
	for {
		rec, err := r.Read()
		if err == io.EOF {
			if held && !flushed && from > 1 {
				fctx, cancel := context.WithTimeout(ctx, replayFlushTimeout)
				c.journal.w.Flush(fctx) // late ones come later, that is all
				cancel()
				flushed = true
				continue // to the end again
			}
			if held {
				if !release(ctx, f) {
					return
				}
				held = false
			}
			if r.Wait(ctx) != nil {
				return // the subscription ended
			}
			continue
		}
		if err != nil {
			f.End(fmt.Errorf("subscription: events journal: %w", err))
			return
		}
		if rec.Origin == origin && (!replay || rec.OriginSeq >= from) {
			continue // the subscriber had it from the exchange
		}
		if rec.Lost > 0 {
			f.End(fmt.Errorf("subscription: events journal: %d events of process %d were lost before a %s event: %w",
				rec.Lost, rec.Pid, rec.Envelope.Topic, errdefs.ErrDataLoss))
			return
		}
		if !f.Add(&rec.Envelope) {
			return
		}
	}
}

// release releases the events f holds back, waiting for room in its
// buffer, and reports false if the subscription ended first.
func release(ctx context.Context, f *exchange.Feed) bool {
	for !f.Release() {
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	return true
}
