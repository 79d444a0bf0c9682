package containerd_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// userImage has an /etc/passwd and /etc/group to resolve users against.
func userImage(t *testing.T) testutil.Image {
	return testutil.LayerImage(t, []testutil.Entry{
		testutil.Dir("etc/", 0o755),
		testutil.File("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
		testutil.File("etc/group", 0o644, "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"),
	})
}

func TestContainerLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	img, err := pullUnpacked(t, c, userImage(t))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c.NewContainer(ctx, "web-1",
		containerd.WithImage(img),
		containerd.WithNewSnapshot("web-1-rootfs", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithUser("app"), oci.WithHostname("web")),
		containerd.WithContainerLabels(map[string]string{"team": "a"}))
	if err != nil {
		t.Fatalf("NewContainer = %v", err)
	}
	info, err := ct.Info(ctx)
	if err != nil || info.Image != img.Name() || info.SnapshotKey != "web-1-rootfs" || info.Snapshotter != c.DefaultSnapshotter() || info.Labels["team"] != "a" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	spec, err := ct.Spec(ctx)
	if err != nil || spec.Hostname != "web" || spec.Process.User.UID != 1000 || spec.Process.User.GID != 1000 ||
		!slices.Contains(spec.Process.User.AdditionalGids, 2000) || !slices.Equal(spec.Process.Args, []string{"/bin/sh"}) {
		t.Fatalf("Spec = %+v, %v", spec.Process, err)
	}
	if st, err := c.SnapshotService("").Stat(ctx, "web-1-rootfs"); err != nil || st.Kind != snapshot.KindActive {
		t.Fatalf("the container's snapshot: %+v, %v", st, err)
	}
	if got, err := ct.Image(ctx); err != nil || got.Name() != img.Name() {
		t.Fatalf("Image = %v, %v", got, err)
	}
	labels, err := ct.SetLabels(ctx, map[string]string{"x": "1", "team": ""})
	if err != nil || labels["x"] != "1" || labels["team"] != "" {
		t.Fatalf("SetLabels = %v, %v", labels, err)
	}
	if err := ct.Update(ctx, containerd.UpdateSpec(oci.WithHostname("other"))); err != nil {
		t.Fatal(err)
	}
	if spec, _ := ct.Spec(ctx); spec.Hostname != "other" {
		t.Fatalf("Update(UpdateSpec) left hostname %q", spec.Hostname)
	}
	if _, err := c.NewContainer(ctx, "web-1", containerd.WithNewSpec()); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("NewContainer of an id in use = %v", err)
	}
	if _, err := c.NewContainer(ctx, "../x", containerd.WithNewSpec()); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("NewContainer(../x) = %v", err)
	}
	if _, err := c.NewContainer(ctx, "nospec"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("NewContainer without a spec = %v", err)
	}
	if _, err := c.NewContainer(ctx, "noargs", containerd.WithNewSpec()); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "no command") {
		t.Fatalf("NewContainer without a command = %v, want InvalidArgument", err)
	}
	if _, err := c.NewContainer(ctx, "db", containerd.WithNewSpec(oci.WithProcessArgs("db"))); err != nil {
		t.Fatal(err)
	}
	list, err := c.Containers(ctx, "labels.x==1")
	if err != nil || len(list) != 1 || list[0].ID() != "web-1" {
		t.Fatalf("Containers(labels.x==1) = %v, %v", list, err)
	}
	if all, _ := c.Containers(ctx); len(all) != 2 {
		t.Fatalf("Containers() = %d, want 2", len(all))
	}
	loaded, err := c.LoadContainer(ctx, "web-1")
	if err != nil || loaded.ID() != "web-1" {
		t.Fatalf("LoadContainer = %v", err)
	}
	if err := loaded.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := c.SnapshotService("").Stat(ctx, "web-1-rootfs"); !errdefs.IsNotFound(err) {
		t.Fatalf("snapshot after Delete(WithSnapshotCleanup): %v", err)
	}
	if _, err := c.LoadContainer(ctx, "web-1"); !errdefs.IsNotFound(err) {
		t.Fatalf("LoadContainer after Delete = %v", err)
	}
}

// TestNewContainerFailureLeavesNothing: a spec option that fails after
// the snapshot was made leaves neither a record nor the snapshot.
func TestNewContainerFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	img, err := pullUnpacked(t, c, userImage(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.NewContainer(ctx, "bad", containerd.WithNewSnapshot("bad-rootfs", img), containerd.WithNewSpec(oci.WithUser("nosuchuser")))
	if !errdefs.IsNotFound(err) {
		t.Fatalf("NewContainer with an unknown user = %v, want NotFound", err)
	}
	if _, err := c.SnapshotService("").Stat(ctx, "bad-rootfs"); !errdefs.IsNotFound(err) {
		t.Fatalf("a failed NewContainer left its snapshot: %v", err)
	}
	if _, err := c.LoadContainer(ctx, "bad"); !errdefs.IsNotFound(err) {
		t.Fatalf("a failed NewContainer left a record: %v", err)
	}
}

// TestNewSnapshotUnpacks: WithNewSnapshot on an image pulled without
// unpack unpacks it first.
func TestNewSnapshotUnpacks(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	reg := testutil.NewRegistry(t)
	userImage(t).Push(t, reg.Host(), "test/user", "v1")
	img, err := c.Pull(ctx, reg.Host()+"/test/user:v1", resolver())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := img.IsUnpacked(ctx, ""); ok {
		t.Fatal("a pull without WithPullUnpack unpacked")
	}
	if _, err := c.NewContainer(ctx, "c", containerd.WithNewSnapshotView("c-ro", img), containerd.WithNewSpec(oci.WithProcessArgs("true"))); err != nil {
		t.Fatalf("NewContainer = %v", err)
	}
	if ok, err := img.IsUnpacked(ctx, ""); !ok || err != nil {
		t.Fatalf("IsUnpacked after WithNewSnapshotView = %v, %v", ok, err)
	}
	if st, _ := c.SnapshotService("").Stat(ctx, "c-ro"); st.Kind != snapshot.KindView {
		t.Fatalf("WithNewSnapshotView made a %s snapshot", st.Kind)
	}
}
