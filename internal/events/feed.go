package events

import (
	"context"
	"time"

	"github.com/daemonless/containerd/events"
)

// Feed is a subscription that receives, besides the events published to
// the exchange, envelopes its owner adds: the events of other processes,
// read from a journal. The exchange's rules hold for both: the filters,
// the one buffer, the end and its error.
type Feed struct {
	x   *Exchange
	s   *subscriber
	ctx context.Context
}

// SubscribeFeed is Subscribe for a subscription fed from outside as
// well. With hold, the events published are held back, up to the buffer
// (more is an overflow, as usual), until Release, so that what the owner
// adds first comes first: a replay. A filter that does not parse is
// InvalidArgument.
func (x *Exchange) SubscribeFeed(ctx context.Context, hold bool, fs ...string) (*Feed, error) {
	fctx, cancel := context.WithCancel(ctx)
	s, err := x.subscribe(fctx, hold, fs)
	if err != nil {
		cancel()
		return nil, err
	}
	s.mu.Lock()
	if s.done {
		cancel()
	} else {
		s.cancel = cancel
	}
	s.mu.Unlock()
	return &Feed{x: x, s: s, ctx: fctx}, nil
}

// Events returns the channel the subscriber reads.
func (f *Feed) Events() <-chan *events.Envelope { return f.s.ch }

// Errors returns the subscription's error channel.
func (f *Feed) Errors() <-chan error { return f.s.errs }

// From returns the number the exchange gave the first published event
// the subscription receives. Those numbered below it were published
// before, and the sink has had every one of them when SubscribeFeed
// returns.
func (f *Feed) From() uint64 { return f.s.from }

// Context returns a context that ends with the subscription, for the
// work of feeding it.
func (f *Feed) Context() context.Context { return f.ctx }

// Add adds env, if the filters match it, to the subscriber's buffer,
// waiting while the buffer is nearly full: the added events wait where
// they are (in a journal) for a slow subscriber rather than end its
// subscription, and leave a quarter of the buffer to the events
// published. It reports false once the subscription has ended. One
// goroutine at a time calls Add.
func (f *Feed) Add(env *events.Envelope) bool {
	if !f.s.filter.Match(env) {
		return true
	}
	wait := time.Millisecond
	for {
		added, ok := f.s.add(env)
		if added || !ok {
			return ok
		}
		t := time.NewTimer(wait)
		select {
		case <-f.s.ended:
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// Release ends the holding back of the published events, moving them to
// the buffer. It reports false, holding on, when the buffer has no room
// for them yet: call it again after a while.
func (f *Feed) Release() bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.s.done || !f.s.held {
		return true
	}
	if !f.s.releaseLocked() {
		return false
	}
	f.s.held, f.s.pending = false, nil
	return true
}

// End ends the subscription with err (nil: no error), unless it has
// ended already.
func (f *Feed) End(err error) {
	if f.s.end(err) {
		f.s.stop()
		f.x.remove(f.s)
	}
}

// add sends env if the buffer has room to spare, and reports whether it
// did and whether the subscription still stands.
func (s *subscriber) add(env *events.Envelope) (added, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false, false
	}
	spare := cap(s.ch) / 4
	if s.held {
		spare = 0 // the published events are waiting elsewhere
	}
	if cap(s.ch)-len(s.ch) <= spare {
		return false, true
	}
	s.ch <- env
	return true, true
}
