package containerd

import (
	"context"
	"fmt"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/events"
	exchange "github.com/daemonless/containerd/internal/events"
)

// Subscribe returns the events published on the client's root from now
// on, in every namespace, that match any of the filters (all of them
// without filters). Filters use the syntax of package filters over the
// fields topic, namespace and event.<field> of an events.Envelope:
//
//	client.Subscribe(ctx, "topic==/tasks/exit,namespace==k8s.io")
//	client.Subscribe(ctx, `topic~=^/images/`, "topic==/containers/delete")
//
// The events are those of this client (its stores, containers and tasks,
// and those published with Publish), which come straight from it, and
// those of the other clients on the root, in this process or others,
// which come through the root's events journal within milliseconds
// (SubscribeSince replays it; WithoutEventJournal keeps to the client's
// own). Payloads are pointers to the types of package events
// (*events.TaskExit for "/tasks/exit"); the payload of a topic of a
// program's own, from another client, is in the generic form of
// encoding/json (an object is a map[string]any, numbers are
// json.Number).
//
// Events wait in a buffer of 1024 per subscription. A subscriber that
// falls that far behind is not waited for: its subscription ends, and
// the error channel says so with a ResourceExhausted error; publishers
// and other subscribers go on. The events of other clients wait in the
// journal instead, but one that the journal dropped before the
// subscriber read it (the journal is bounded), or that a client could not
// journal, ends the subscription with a DataLoss error. The subscription
// also ends when ctx ends. Either way both channels are closed, the error
// channel after at most one error (none for a cancelled ctx, the ctx's
// error or cause otherwise), and the events buffered before the end can
// still be read. A filter that does not parse ends it at once with an
// InvalidArgument error. A subscription follows the journal from a
// goroutine of its own, until it ends.
func (c *Client) Subscribe(ctx context.Context, filters ...string) (<-chan *events.Envelope, <-chan error) {
	return c.subscribe(ctx, nil, filters)
}

// Publish publishes event under topic, in the namespace of ctx (the
// client's default namespace when ctx names none), to the client's
// subscribers and, through the root's journal, to those of other
// clients. It is for a program's own events: a topic of its own,
// following events.ValidateTopic's rules ("/example.com/deploy/done"),
// and any payload, which the client's subscribers receive as it is and
// must not modify, and others as its JSON (a payload that does not
// encode reaches them as nil). Publish does not wait for subscribers or
// the journal. An invalid topic or namespace, or a nil event, is
// InvalidArgument.
func (c *Client) Publish(ctx context.Context, topic string, event any) error {
	ns, err := c.namespaceOf(ctx)
	if err != nil {
		return fmt.Errorf("publish %.100q: %w", topic, err)
	}
	return c.exchange.Publish(ns, topic, event)
}

// publish publishes ev, under its topic, in the namespace of ctx (the
// client's default when ctx names none). Call it once an action has
// succeeded, once per action, with an event no one modifies afterwards
// (copy maps the caller keeps). It never blocks.
func (c *Client) publish(ctx context.Context, ev events.Event) {
	ns, err := c.namespaceOf(ctx)
	if err != nil {
		return // the action itself would have failed on this namespace
	}
	c.publishIn(ns, ev)
}

// publishIn publishes ev in the namespace ns.
func (c *Client) publishIn(ns string, ev events.Event) {
	c.exchange.Publish(ns, ev.Topic(), ev) // fails only on an invalid topic: not ours
}

// initEvents makes the client's exchange, journaling its events as jo
// says, and has its stores of images, containers and content publish
// what they change. Snapshotters publish through the wrapper snapshotter
// returns. New calls it once its stores are set.
func (c *Client) initEvents(jo journalOpts) {
	var opts []exchange.Opt
	if c.journal = newEventJournal(c.root, jo); c.journal != nil {
		opts = append(opts, exchange.WithSink(c.journal.w.Append))
	}
	c.exchange = exchange.New(opts...)
	c.images = &eventImages{Store: c.images, c: c}
	c.containers = &eventContainers{Store: c.containers, c: c}
	ec := &eventContent{Store: c.content, c: c}
	if pp, ok := c.content.(content.PathProvider); ok {
		c.content = &eventContentPaths{eventContent: ec, PathProvider: pp}
	} else {
		c.content = ec
	}
}
