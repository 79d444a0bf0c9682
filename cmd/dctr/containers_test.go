package main

import (
	"context"
	"strings"
	"testing"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/remotes/docker"
)

// TestContainersVerbs: containers made through the library on the CLI's
// root are listed, shown and removed (with their snapshots) by dctr.
func TestContainersVerbs(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, 1000)
	img.Push(t, reg.Host(), "team/app", "v1")
	c := newRemoteCLI(t)
	ctx := context.Background()
	func() {
		client, err := containerd.New(c.root)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		image, err := client.Pull(ctx, reg.Host()+"/team/app:v1", containerd.WithResolver(docker.NewResolver()), containerd.WithPullUnpack)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"web", "db"} {
			if _, err := client.NewContainer(ctx, id, containerd.WithImage(image), containerd.WithNewSnapshot(id+"-rootfs", image),
				containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithHostname(id))); err != nil {
				t.Fatal(err)
			}
		}
	}()
	if got := c.ok(nil, "containers", "ls", "-q"); got != "db\nweb\n" {
		t.Errorf("containers ls -q = %q", got)
	}
	rows := lines(c.ok(nil, "containers", "ls"))
	if len(rows) != 3 || !strings.Contains(rows[2], "web-rootfs") || !strings.Contains(rows[2], reg.Host()+"/team/app:v1") {
		t.Errorf("containers ls:\n%s", strings.Join(rows, "\n"))
	}
	info := c.ok(nil, "containers", "info", "web")
	if !strings.Contains(info, `"Hostname": "web"`) && !strings.Contains(info, `"hostname": "web"`) {
		t.Errorf("containers info web lacks the spec's hostname:\n%s", info)
	}
	if got := c.ok(nil, "containers", "rm", "web", "db"); got != "web\ndb\n" {
		t.Errorf("containers rm printed %q", got)
	}
	if keys := lines(c.ok(nil, "snapshots", "ls", "-q")); len(keys) != 1 {
		t.Errorf("snapshots after containers rm: %q, want only the image's layer", keys)
	}
	checkFailure(t, c.run(nil, "containers", "info", "web"), 1, "not found")
	checkFailure(t, c.run(nil, "containers", "rm", "../x"), 1, "container id")
}
