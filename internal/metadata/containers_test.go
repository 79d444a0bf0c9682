package metadata

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/namespaces"
)

func newContainerStore(t *testing.T) *ContainerStore {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewContainerStore(db, namespaces.Default)
}

func TestContainerStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newContainerStore(t)
	spec := &specs.Spec{Version: specs.Version, Process: &specs.Process{Args: []string{"/bin/true"}}, Hostname: "box"}
	c, err := s.Create(ctx, containers.Container{ID: "web-1", Image: "docker.io/library/redis:7", Spec: spec,
		Snapshotter: "overlay", SnapshotKey: "web-1", Labels: map[string]string{"team": "a"}})
	if err != nil || c.CreatedAt.IsZero() {
		t.Fatalf("Create = %+v, %v", c, err)
	}
	got, err := s.Get(ctx, "web-1")
	if err != nil || got.Spec == nil || got.Spec.Hostname != "box" || got.Spec.Process.Args[0] != "/bin/true" || got.Image != c.Image || got.SnapshotKey != "web-1" || got.Labels["team"] != "a" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := s.Create(ctx, containers.Container{ID: "web-1", Spec: spec}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Create of an id in use = %v", err)
	}
	// Update: a label only, then the spec only.
	up, err := s.Update(ctx, containers.Container{ID: "web-1", Labels: map[string]string{"x": "1"}}, "labels.x")
	if err != nil || up.Labels["team"] != "a" || up.Labels["x"] != "1" || up.Spec.Hostname != "box" {
		t.Fatalf("Update(labels.x) = %+v, %v", up, err)
	}
	spec2 := *spec
	spec2.Hostname = "other"
	up, err = s.Update(ctx, containers.Container{ID: "web-1", Spec: &spec2}, "spec")
	if err != nil || up.Spec.Hostname != "other" || up.Image != c.Image || len(up.Labels) != 2 {
		t.Fatalf("Update(spec) = %+v, %v", up, err)
	}
	if _, err := s.Update(ctx, containers.Container{ID: "web-1"}, "spec"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Update to no spec = %v, want InvalidArgument", err)
	}
	if _, err := s.Update(ctx, containers.Container{ID: "web-1"}, "id"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Update(id) = %v, want InvalidArgument", err)
	}
	// Namespaces and filters.
	other := namespaces.WithNamespace(ctx, "other")
	if _, err := s.Get(other, "web-1"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get in another namespace = %v", err)
	}
	s.Create(ctx, containers.Container{ID: "db", Spec: spec})
	list, err := s.List(ctx, "labels.team==a", "id==db")
	if err != nil || len(list) != 2 || list[0].ID != "db" || list[1].ID != "web-1" {
		t.Fatalf("List = %v, %v", list, err)
	}
	if list, _ := s.List(ctx, "image~=redis"); len(list) != 1 {
		t.Fatalf("List(image~=redis) = %v", list)
	}
	if err := s.Delete(ctx, "web-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "web-1"); !errdefs.IsNotFound(err) {
		t.Fatalf("Delete twice = %v", err)
	}
}

func TestContainerValidation(t *testing.T) {
	s := newContainerStore(t)
	spec := &specs.Spec{}
	for _, c := range []containers.Container{
		{ID: "", Spec: spec},
		{ID: "a/b", Spec: spec},
		{ID: "../x", Spec: spec},
		{ID: "-a", Spec: spec},
		{ID: "a..b", Spec: spec},
		{ID: "a-", Spec: spec},
		{ID: string(make([]byte, 77)), Spec: spec},
		{ID: "nospec"},
		{ID: "half", Spec: spec, SnapshotKey: "k"},
	} {
		if _, err := s.Create(context.Background(), c); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Create(%q) = %v, want InvalidArgument", c.ID, err)
		}
	}
	for _, id := range []string{"a", "A.b_c-9", "x1-2.3_4"} {
		if err := containers.ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
}
