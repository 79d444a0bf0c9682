// Package events provides the Exchange, the in-process publish and
// subscribe of a client's events.
//
// It does not know what the events mean or where they come from (the
// client publishes them where it changes its stores) and it keeps
// nothing: an event is handed to the subscribers there are when it is
// published, and to the sink, and then forgotten. Following the events of
// other processes is the job of a journal, which plugs in as the sink.
//
// # Delivery
//
// Publish never blocks. Each subscriber has a buffer of its own
// (DefaultBuffer events unless WithBuffer says otherwise) and Publish only
// ever adds to buffers with room. A subscriber whose buffer is full when
// an event for it comes has fallen behind: the event is not added, the
// subscription ends, and its error channel says so with a ResourceExhausted
// error naming the event dropped. Events are never dropped silently, and
// a slow subscriber slows neither the publishers nor the other
// subscribers. The events buffered before the overflow can still be read
// from the event channel, which is then closed.
//
// A subscriber sees the events of one publishing goroutine in the order
// they were published; events published concurrently reach different
// subscribers in possibly different orders.
//
// # Ending
//
// A subscription ends when its context ends, when it falls behind, or at
// once when a filter does not parse. Either way both its channels are
// closed, after at most one error: none for a cancelled context, the
// context's error (DeadlineExceeded, or its cause) for any other end of
// it, the overflow, or the InvalidArgument of a filter. A subscription
// holds no goroutine.
//
// # The sink
//
// WithSink gives a function called with every envelope published,
// whatever the subscribers: the hook for a journal that makes the events
// visible to other processes. The exchange numbers the events it
// publishes, from 1, and timestamps them in that order; the sink gets
// each envelope with its number, one call at a time, in the order of the
// numbers, in the publisher's goroutine, before the subscribers get the
// event. It must not block: queue the envelope, do not write it there.
//
// # Feeds
//
// SubscribeFeed makes a subscription that also takes envelopes from its
// owner (Feed.Add): the events of other processes, read back from the
// journal. It knows its cut, the number of the first published event it
// receives: the events numbered before it, the subscription does not get
// from the exchange, and the sink has had them all. A replay from the
// journal gives those, then Release lets the published events through,
// held back until then, so that the subscriber sees each event once, in
// order.
package events
