package events

import (
	"fmt"
	"time"

	"github.com/containerd/errdefs"
)

// Event is an event of a known topic: each payload of this package is
// one, through a pointer.
type Event interface {
	// Topic returns the topic the event is published under, such as
	// "/tasks/exit".
	Topic() string
}

// Envelope is an event as a subscriber receives it: the event, the
// topic and namespace it was published under, and when.
//
// Envelopes are shared by every subscriber that receives them: read
// them, never modify them.
type Envelope struct {
	// Timestamp is when the event was published, in UTC.
	Timestamp time.Time
	// Namespace is the namespace the event happened in.
	Namespace string
	// Topic is the event's topic, such as "/tasks/exit".
	Topic string
	// Event is the payload: a pointer to one of this package's types
	// for its topics, or whatever a program published under its own.
	Event any
}

// Field answers the field paths of package filters: "topic",
// "namespace" and "event" followed by the path of a field of the event
// (see the package documentation). It makes an Envelope a
// filters.Adaptor.
func (e *Envelope) Field(fieldpath []string) (string, bool) {
	if len(fieldpath) == 0 {
		return "", false
	}
	switch fieldpath[0] {
	case "topic":
		return e.Topic, len(fieldpath) == 1 && e.Topic != ""
	case "namespace":
		return e.Namespace, len(fieldpath) == 1 && e.Namespace != ""
	case "event":
		if e.Event == nil {
			return "", false
		}
		if len(fieldpath) == 1 {
			return "", true
		}
		return eventField(e.Event, fieldpath[1:])
	}
	return "", false
}

// MaxTopicComponent is the longest component of a topic, in bytes.
const MaxTopicComponent = 76

// ValidateTopic checks a topic: a '/' followed by one or more components
// separated by single slashes, each 1 to MaxTopicComponent letters and
// digits in runs joined by single '.', '_' or '-' characters, as in
// "/tasks/exec-added" or "/example.com/deploy/done". These are
// containerd's rules. It fails with InvalidArgument, naming the fault.
func ValidateTopic(topic string) error {
	if topic == "" {
		return fmt.Errorf("topic is empty: %w", errdefs.ErrInvalidArgument)
	}
	if topic[0] != '/' {
		return fmt.Errorf("topic %.100q: must start with '/': %w", topic, errdefs.ErrInvalidArgument)
	}
	start := 1 // of the current component
	sep := true
	for i := 1; i <= len(topic); i++ {
		if i == len(topic) || topic[i] == '/' {
			switch {
			case i == start:
				return fmt.Errorf("topic %.100q: empty component at %d: %w", topic, i, errdefs.ErrInvalidArgument)
			case i-start > MaxTopicComponent:
				return fmt.Errorf("topic %.100q: component at %d is longer than %d characters: %w", topic, start, MaxTopicComponent, errdefs.ErrInvalidArgument)
			case sep:
				return fmt.Errorf("topic %.100q: component at %d must end with a letter or digit: %w", topic, start, errdefs.ErrInvalidArgument)
			}
			start, sep = i+1, true
			continue
		}
		switch c := topic[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			sep = false
		case c == '.' || c == '_' || c == '-':
			if sep {
				return fmt.Errorf("topic %.100q: %q at %d must follow a letter or digit: %w", topic, c, i, errdefs.ErrInvalidArgument)
			}
			sep = true
		default:
			return fmt.Errorf("topic %.100q: character %q at %d is not allowed: %w", topic, c, i, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
