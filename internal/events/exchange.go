package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/filters"
)

// DefaultBuffer is how many events a subscriber may fall behind before
// its subscription ends, unless WithBuffer says otherwise.
const DefaultBuffer = 1024

// Opt configures an Exchange.
type Opt func(*Exchange)

// WithBuffer sets how many events each subscriber's buffer holds. The
// default, and what a size below 1 means, is DefaultBuffer.
func WithBuffer(n int) Opt {
	return func(x *Exchange) {
		if n < 1 {
			n = DefaultBuffer
		}
		x.buffer = n
	}
}

// WithSink makes the exchange call sink with every envelope it
// publishes and the envelope's number (see the package documentation for
// the rules it follows). The default is no sink.
func WithSink(sink func(seq uint64, env *events.Envelope)) Opt {
	return func(x *Exchange) { x.sink = sink }
}

// WithClock makes the exchange timestamp envelopes with now instead of
// time.Now, for tests.
func WithClock(now func() time.Time) Opt {
	return func(x *Exchange) {
		if now != nil {
			x.now = now
		}
	}
}

// Exchange hands the events published to it to its subscribers. Its
// methods are safe for concurrent use; the zero value is not usable,
// make one with New.
type Exchange struct {
	buffer int
	sink   func(uint64, *events.Envelope)
	now    func() time.Time

	// seqMu makes numbering an event and sinking it one step, which a
	// subscription's cut (subscribe) can be taken between.
	seqMu sync.Mutex
	seq   uint64 // the number of the last event published

	mu   sync.Mutex                    // serialises changes to subs
	subs atomic.Pointer[[]*subscriber] // read by Publish without locking
}

// New returns an exchange with no subscribers.
func New(opts ...Opt) *Exchange {
	x := &Exchange{buffer: DefaultBuffer, now: time.Now}
	for _, o := range opts {
		o(x)
	}
	x.subs.Store(&[]*subscriber{})
	return x
}

// Publish hands event, published in namespace under topic, to the sink
// and to every subscriber whose filters match it, and returns without
// waiting for any of them. It numbers the event, after the last one
// published. A topic that breaks events.ValidateTopic, an empty namespace
// or a nil event is InvalidArgument.
func (x *Exchange) Publish(namespace, topic string, event any) error {
	if err := events.ValidateTopic(topic); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if namespace == "" {
		return fmt.Errorf("publish %s: no namespace: %w", topic, errdefs.ErrInvalidArgument)
	}
	if event == nil {
		return fmt.Errorf("publish %s: nil event: %w", topic, errdefs.ErrInvalidArgument)
	}
	env := &events.Envelope{Namespace: namespace, Topic: topic, Event: event}
	x.seqMu.Lock()
	x.seq++
	seq := x.seq
	env.Timestamp = x.now().UTC() // in the order of the numbers
	if x.sink != nil {
		x.sink(seq, env)
	}
	x.seqMu.Unlock()
	for _, s := range *x.subs.Load() {
		if s.filter.Match(env) && !s.deliver(seq, env) {
			x.remove(s)
		}
	}
	return nil
}

// Subscribe returns the events published from now on that match any of
// the filters (all without filters), in the syntax of package filters
// over an Envelope's fields: topic, namespace, event.<field>. The
// subscription ends, both channels closed, when ctx ends or the
// subscriber falls a buffer behind; the error channel then receives at
// most one error first (see the package documentation). A filter that
// does not parse ends it at once with an InvalidArgument error.
func (x *Exchange) Subscribe(ctx context.Context, fs ...string) (<-chan *events.Envelope, <-chan error) {
	s, err := x.subscribe(ctx, false, fs)
	if err != nil {
		ch, errs := make(chan *events.Envelope), make(chan error, 1)
		errs <- err
		close(ch)
		close(errs)
		return ch, errs
	}
	return s.ch, s.errs
}

// subscribe makes a subscription to the events numbered after the last
// one published, held back (see Feed) when hold is set.
func (x *Exchange) subscribe(ctx context.Context, hold bool, fs []string) (*subscriber, error) {
	filter, err := filters.Parse(fs...)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	s := &subscriber{filter: filter, buffer: x.buffer, held: hold,
		ch: make(chan *events.Envelope, x.buffer), errs: make(chan error, 1), ended: make(chan struct{})}
	// s is locked until its cut and stop are set, so that neither a
	// publisher (deliver) nor an overflow (which calls stop) can come
	// between.
	s.mu.Lock()
	defer s.mu.Unlock()
	x.mu.Lock()
	subs := append(slices.Clone(*x.subs.Load()), s)
	x.subs.Store(&subs)
	x.mu.Unlock()
	// The cut: an event numbered from here on was numbered after s was
	// stored, so its publisher finds s; those before it are skipped,
	// and their sink calls are over.
	x.seqMu.Lock()
	s.from = x.seq + 1
	x.seqMu.Unlock()
	s.stop = context.AfterFunc(ctx, func() {
		err := context.Cause(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		if s.end(err) {
			x.remove(s)
		}
	})
	return s, nil
}

// remove forgets the subscriber s.
func (x *Exchange) remove(s *subscriber) {
	x.mu.Lock()
	defer x.mu.Unlock()
	cur := *x.subs.Load()
	i := slices.Index(cur, s)
	if i < 0 {
		return
	}
	subs := slices.Delete(slices.Clone(cur), i, i+1)
	x.subs.Store(&subs)
}

// subscribers reports how many subscriptions are live.
func (x *Exchange) subscribers() int { return len(*x.subs.Load()) }

// subscriber is one subscription.
type subscriber struct {
	filter filters.Filter
	buffer int

	mu      sync.Mutex // guards the fields below and the sends and closes on ch, errs and ended
	from    uint64     // the number of the first published event it gets
	held    bool       // published events wait in pending
	pending []*events.Envelope
	ch      chan *events.Envelope
	errs    chan error
	ended   chan struct{} // closed at the end
	cancel  func()        // a Feed's context's
	done    bool
	stop    func() bool // stops the context's AfterFunc
}

// deliver adds env, the published event numbered seq, to the
// subscriber's buffer and reports whether the subscription still stands:
// false once it has ended, now or before.
func (s *subscriber) deliver(seq uint64, env *events.Envelope) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	if seq < s.from {
		return true // published before the subscription
	}
	if s.held {
		if len(s.pending) < s.buffer {
			s.pending = append(s.pending, env)
			return true
		}
	} else {
		select {
		case s.ch <- env:
			return true
		default:
		}
	}
	s.endLocked(fmt.Errorf("subscription: fell %d events behind: dropped a %s event of namespace %s and ended: %w",
		s.buffer, env.Topic, env.Namespace, errdefs.ErrResourceExhausted))
	s.stop()
	return false
}

// end ends the subscription with err (nil: no error) and reports
// whether it was still standing.
func (s *subscriber) end(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.endLocked(err)
	return true
}

func (s *subscriber) endLocked(err error) {
	s.done = true
	s.releaseLocked() // as much as there is room for
	s.pending = nil
	if err != nil {
		s.errs <- err // the only send: the buffer has room
	}
	close(s.ch)
	close(s.errs)
	close(s.ended)
	if s.cancel != nil {
		s.cancel()
	}
}

// releaseLocked moves the events held back into the buffer while it has
// room, and reports whether none is left.
func (s *subscriber) releaseLocked() bool {
	n := min(len(s.pending), cap(s.ch)-len(s.ch))
	for _, env := range s.pending[:n] {
		s.ch <- env
	}
	s.pending = s.pending[n:]
	return len(s.pending) == 0
}
