package containerd

import (
	"context"
	"maps"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/namespaces"
)

// NamespaceService returns the namespaces of the client's root. Create,
// SetLabel and Delete publish /namespaces/create, /namespaces/update and
// /namespaces/delete, each in the namespace it is about (so that
// "namespace==x" follows x's life). A namespace that something was stored
// in without Create (the client's default namespace, the first time an
// image is pulled into it) exists all the same and is listed, as in
// containerd; no event tells of it. Delete refuses a namespace that holds
// images, containers, leases, content or snapshots with a
// FailedPrecondition error saying what it holds; ingests under way in it
// do not count, and are collected once they expire.
func (c *Client) NamespaceService() namespaces.Store {
	return &eventNamespaces{Store: c.namespaces, c: c}
}

// eventNamespaces publishes /namespaces/{create,update,delete}.
type eventNamespaces struct {
	namespaces.Store
	c *Client
}

func (s *eventNamespaces) Create(ctx context.Context, name string, labels map[string]string) error {
	if err := s.Store.Create(ctx, name, labels); err != nil {
		return err
	}
	s.c.publishIn(name, &events.NamespaceCreate{Name: name, Labels: nonEmpty(labels)})
	return nil
}

func (s *eventNamespaces) SetLabel(ctx context.Context, name, key, value string) error {
	if err := s.Store.SetLabel(ctx, name, key, value); err != nil {
		return err
	}
	labels, err := s.Store.Labels(ctx, name)
	if err != nil {
		labels = nil // deleted meanwhile: the update happened all the same
	}
	s.c.publishIn(name, &events.NamespaceUpdate{Name: name, Labels: labels})
	return nil
}

func (s *eventNamespaces) Delete(ctx context.Context, name string) error {
	if err := s.Store.Delete(ctx, name); err != nil {
		return err
	}
	s.c.publishIn(name, &events.NamespaceDelete{Name: name})
	return nil
}

// nonEmpty is a copy of labels without empty values, nil when none is
// left.
func nonEmpty(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	maps.DeleteFunc(out, func(_, v string) bool { return v == "" })
	if len(out) == 0 {
		return nil
	}
	return out
}
