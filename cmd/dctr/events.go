package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/filters"
)

// newEventsCommand builds "dctr events".
func newEventsCommand(g *globalOptions) *cobra.Command {
	var (
		fs    []string
		since string
	)
	cmd := &cobra.Command{
		Use:   "events [--filter F]... [--since T]",
		Short: "Print the events of the root as they happen",
		Long: `Print the events published on the root, by any process, one line each, until
interrupted: the time it was published (RFC 3339, UTC), the namespace, the
topic and the event as JSON. Events of every namespace are printed; a filter
such as namespace==NS keeps one.

Filters use the syntax of package filters over the fields topic, namespace
and event.FIELD (the event's JSON names: event.container_id, event.name):
topic==/tasks/exit, topic~=^/images/, namespace==k8s.io,event.id==redis.
Repeated --filter flags are alternatives; the selectors inside one are all
required.

With --since, the events the root's journal holds from that time on are
printed first: T is a time in RFC 3339 (2025-01-02T15:04:05Z) or a duration
back from now (10m, 1h30m). The journal keeps the newest 10,000 events.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := filters.Parse(fs...); err != nil {
				return usageError{fmt.Errorf("events: %w", err)}
			}
			var from *time.Time
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return usageError{fmt.Errorf("events: --since: %w", err)}
				}
				from = &t
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				var ch <-chan *events.Envelope
				var errs <-chan error
				if from != nil {
					ch, errs = client.SubscribeSince(ctx, *from, fs...)
				} else {
					ch, errs = client.Subscribe(ctx, fs...)
				}
				out := cmd.OutOrStdout()
				for env := range ch {
					if _, err := fmt.Fprintln(out, formatEvent(env)); err != nil {
						return err // a closed pipe: no one reads any more
					}
				}
				if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
				return nil // interrupted
			})
		},
	}
	cmd.Flags().StringArrayVar(&fs, "filter", nil, "print only the events this filter matches (repeatable: any of them)")
	cmd.Flags().StringVar(&since, "since", "", "first print the events from this time (RFC 3339) or this long ago (10m)")
	return cmd
}

// formatEvent is the line of an event: time, namespace, topic, JSON.
func formatEvent(env *events.Envelope) string {
	js, err := json.Marshal(env.Event)
	if err != nil {
		js, _ = json.Marshal("unprintable: " + err.Error())
	}
	return fmt.Sprintf("%s %s %s %s", env.Timestamp.UTC().Format(time.RFC3339Nano), env.Namespace, env.Topic, js)
}

// parseSince reads --since: a time in RFC 3339, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || strings.HasPrefix(s, "-") {
		return time.Time{}, fmt.Errorf("%q is neither a time in RFC 3339 (2025-01-02T15:04:05Z) nor a duration (10m)", s)
	}
	return now.Add(-d), nil
}
