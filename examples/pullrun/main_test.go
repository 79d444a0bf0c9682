package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/examples/internal/imagebuild"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/snapshot"
)

// nobody is the user the unprivileged run is made as.
const nobody = 65534

// TestRun runs the example as the user running the tests and, when that
// is root, again as an unprivileged user: with overlay and mounts as
// root, with the native snapshotter and no mount otherwise.
func TestRun(t *testing.T) {
	t.Run(fmt.Sprintf("euid=%d", os.Geteuid()), testRun)
	if os.Geteuid() == 0 {
		t.Run(fmt.Sprintf("euid=%d", nobody), testRunUnprivileged)
	}
}

// testRun runs the example twice in one directory, as -root does: the
// second run finds the content and the snapshots already there. As root,
// the image's command runs in a container and its output, the greeting,
// comes through the task's stdout.
func testRun(t *testing.T) {
	_, bbErr := imagebuild.Busybox(busyboxPath)
	runs := os.Geteuid() == 0 && bbErr == nil
	dir := t.TempDir()
	for n := range 2 {
		var report, out bytes.Buffer
		if err := run(t.Context(), &report, &out, dir); err != nil {
			t.Fatalf("run %d = %v\n%s%s", n+1, err, report.String(), out.String())
		}
		got := report.String()
		want := []string{"unpacked: true", "etc/hostname", "whiteout"}
		if os.Geteuid() == 0 {
			want = append(want, "mounted on")
		} else {
			want = append(want, "(snapshotter native)", "read in the snapshot's directory", "running a container needs root")
		}
		if runs {
			want = append(want, `command ["/bin/cat" "/etc/motd"]`,
				"task hello: exited with status 0", "deleted: task, container hello and snapshot hello-rootfs")
			if out.String() != greeting {
				t.Errorf("run %d: the task's output is %q, want %q", n+1, out.String(), greeting)
			}
			if strings.Contains(got, greeting) {
				t.Errorf("run %d: the greeting is in the report, not only in the task's output:\n%s", n+1, got)
			}
		} else {
			want = append(want, "/etc/motd: "+greeting)
			if out.Len() > 0 {
				t.Errorf("run %d: a task wrote %q; none should run here", n+1, out.String())
			}
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("run %d: output lacks %q:\n%s", n+1, w, got)
			}
		}
		if strings.Contains(got, "etc/motd.draft ") {
			t.Errorf("run %d: etc/motd.draft listed in the rootfs:\n%s", n+1, got)
		}
	}

	// The run removed its view, its container and the container's
	// snapshot: the snapshots left are the two layers'.
	c, err := containerd.New(filepath.Join(dir, "pull"), containerd.WithNamespace("example"),
		containerd.WithStateDir(filepath.Join(dir, "state")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var names []string
	err = c.SnapshotService("").Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		if info.Kind != snapshot.KindCommitted {
			t.Errorf("snapshot %s is %s: the run should have removed it", info.Name, info.Kind)
		}
		names = append(names, info.Name)
		return nil
	})
	if err != nil || len(names) != 2 {
		t.Errorf("snapshots %v, %v; want the 2 layers'", names, err)
	}
	if ctrs, err := c.Containers(ctx); err != nil || len(ctrs) != 0 {
		t.Errorf("Containers() = %d containers, %v; want none left", len(ctrs), err)
	}
	if m := testutil.MountsBelow(t, dir); len(m) > 0 {
		t.Errorf("mounts left below the run's directory: %v", m)
	}
}

// TestRunWithoutBusybox runs the example on a host without a static
// busybox: the image holds its files only.
func TestRunWithoutBusybox(t *testing.T) {
	saved := busyboxPath
	defer func() { busyboxPath = saved }()
	busyboxPath = filepath.Join(t.TempDir(), "busybox")
	var report, out bytes.Buffer
	if err := run(t.Context(), &report, &out, t.TempDir()); err != nil {
		t.Fatalf("run = %v\n%s", err, report.String())
	}
	got := report.String()
	for _, w := range []string{"no static busybox", "unpacked: true", "/etc/motd: " + greeting, "run: skipped, the image has no busybox"} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "bin/busybox") {
		t.Errorf("busybox in the rootfs:\n%s", got)
	}
	if out.Len() > 0 {
		t.Errorf("a task wrote %q; none should run without busybox", out.String())
	}
}

// testRunUnprivileged runs TestRun in a copy of the test binary as the
// user nobody.
func testRunUnprivileged(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The build directory of go test is root's only: the copy goes to a
	// directory that user can enter, next to a temporary directory it
	// owns.
	dir, err := os.MkdirTemp("", "pullrun-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "pullrun.test")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin, exe); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestRun$", "-test.count=1", "-test.v")
	cmd.Dir = tmp
	cmd.Env = []string{"TMPDIR=" + tmp, "HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("TestRun as uid %d: %v\n%s", nobody, err, out)
	case err != nil:
		t.Skipf("cannot run a process as uid %d here: %v", nobody, err)
	}
	if pass := fmt.Sprintf("--- PASS: TestRun/euid=%d", nobody); !bytes.Contains(out, []byte(pass)) {
		t.Fatalf("TestRun as uid %d: no %q in its output:\n%s", nobody, pass, out)
	}
}

// copyFile copies the executable src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
