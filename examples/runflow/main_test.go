package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/examples/internal/imagebuild"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/snapshot"
)

// TestRun runs the example and checks that its steps came in order, the
// container's own lines among them, and that it left nothing behind: no
// container, no snapshot but the image's layer, no mount, no cgroup.
func TestRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs a container, which needs root: run the tests as root (CI does)")
	}
	if _, err := imagebuild.Busybox(imagebuild.BusyboxPath); err != nil {
		t.Skipf("needs a static busybox (Debian: busybox-static): %v", err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(t.Context(), &out, dir); err != nil {
		t.Fatalf("run = %v\n%s", err, out.String())
	}
	got := out.String()
	// Lines starting so, in this order; "running" and "got SIGTERM" are
	// the container's.
	steps := []string{
		"pull: sha256:",
		"container runflow: snapshot runflow-rootfs",
		"task runflow: created, pid ",
		"running\n",
		"task runflow: running; sending SIGTERM\n",
		"got SIGTERM\n",
		"task runflow: exited with status 143 ",
		"task runflow: deleted\n",
		"container runflow: deleted, and its snapshot runflow-rootfs\n",
	}
	for line := range strings.Lines(got) {
		if len(steps) > 0 && strings.HasPrefix(line, steps[0]) {
			steps = steps[1:]
		}
	}
	if len(steps) > 0 {
		t.Fatalf("output lacks a line starting %q after the steps before it:\n%s", steps[0], got)
	}
	if strings.Contains(got, "SIGKILL") {
		t.Errorf("the task needed SIGKILL:\n%s", got)
	}

	c, err := containerd.New(filepath.Join(dir, "root"), containerd.WithNamespace("example"),
		containerd.WithStateDir(filepath.Join(dir, "state")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if ctrs, err := c.Containers(ctx); err != nil || len(ctrs) != 0 {
		t.Errorf("Containers() = %d containers, %v; want none left", len(ctrs), err)
	}
	var names []string
	err = c.SnapshotService("").Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		names = append(names, info.Name)
		return nil
	})
	if err != nil || len(names) != 1 || !strings.HasPrefix(names[0], "sha256:") {
		t.Errorf("snapshots %v, %v; want the image's layer only", names, err)
	}
	if m := testutil.MountsBelow(t, dir); len(m) > 0 {
		t.Errorf("mounts left below the run's directory: %v", m)
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/dctr/example/" + containerID)
	if v2, err := os.Stat("/sys/fs/cgroup/dctr/example/" + containerID); err == nil && v2.IsDir() {
		cgroups = append(cgroups, "/sys/fs/cgroup/dctr/example/"+containerID)
	}
	if len(cgroups) > 0 {
		t.Errorf("cgroups left: %v", cgroups)
	}
}
