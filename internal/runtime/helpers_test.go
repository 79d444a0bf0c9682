//go:build linux && cgo

package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMain gives the test binary an "init" subcommand of its own, as an
// embedding program may have: the init hook must leave it alone, while
// libcontainer's re-execution of this same binary ("<binary> init", with
// its environment) becomes a container init before TestMain runs.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		fmt.Println("embedder init:", strings.Join(os.Args[2:], " "))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const busybox = "/bin/busybox"

// testTimeout bounds every wait of a test, so that a bug fails the test
// instead of hanging it.
const testTimeout = 30 * time.Second

// testEnv is a Runtime with its own state directory and cgroup parent,
// and a busybox root filesystem.
type testEnv struct {
	rt     *Runtime
	rootfs string
	parent string
}

// newTestEnv skips the test unless it runs as root with a static busybox,
// and returns a fresh environment removed when the test ends.
func newTestEnv(t testing.TB, opts ...Opt) *testEnv {
	t.Helper()
	requireRoot(t)
	parent := fmt.Sprintf("/dctr-test/%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid())
	opts = append([]Opt{WithDefaultCgroupParent(parent)}, opts...)
	rt, err := New(filepath.Join(t.TempDir(), "state"), opts...)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	t.Cleanup(func() { removeCgroup(parent) })
	return &testEnv{rt: rt, rootfs: busyboxRootfs(t), parent: parent}
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containers: run the tests as root (CI does)")
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("needs a static busybox at %s (Debian: busybox-static): %v", busybox, err)
	}
}

// busyboxRootfs returns a root filesystem holding busybox and the applets
// the tests use.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open(busybox)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "echo", "true", "false", "sleep", "cat", "kill", "ls", "ip", "unshare"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// removeCgroup removes parent and its ancestors, where empty, from every
// cgroup hierarchy.
func removeCgroup(parent string) {
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	for _, h := range hierarchies {
		for p := parent; p != "/"; p = path.Dir(p) {
			_ = os.Remove(filepath.Join(h, p))
		}
	}
}

// specOpt changes a test spec.
type specOpt func(*specs.Spec)

// spec returns a minimal but realistic spec running args in the busybox
// root: new pid, ipc, uts, mount and network namespaces, /proc, /dev,
// /dev/pts, /dev/shm and a read-only /sys, the usual capabilities,
// RLIMIT_NOFILE 1024:1024.
func (e *testEnv) spec(args []string, opts ...specOpt) *specs.Spec {
	caps := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: e.rootfs},
		Process: &specs.Process{
			Args:            args,
			Env:             []string{"PATH=/bin"},
			Cwd:             "/",
			NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
		},
		Hostname: "test",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.NetworkNamespace},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger"},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// withoutNamespace removes the namespace of type typ from the spec: the
// container shares the caller's.
func withoutNamespace(typ specs.LinuxNamespaceType) specOpt {
	return func(s *specs.Spec) {
		var kept []specs.LinuxNamespace
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != typ {
				kept = append(kept, ns)
			}
		}
		s.Linux.Namespaces = kept
	}
}

// testContext returns a context bounded by testTimeout.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// run creates, starts and waits for a task running spec, deletes it and
// returns its exit status.
func (e *testEnv) run(t testing.TB, id string, spec *specs.Spec, stdio IO) ExitStatus {
	t.Helper()
	ctx := testContext(t)
	task, err := e.rt.Create(ctx, id, spec, stdio)
	if err != nil {
		t.Fatalf("Create(%q) = %v", id, err)
	}
	st := startAndWait(t, task)
	if _, err := task.Delete(ctx, false); err != nil {
		t.Fatalf("Delete(%q) = %v", id, err)
	}
	return st
}

// startAndWait waits for task (Wait before Start) and returns its status.
func startAndWait(t testing.TB, task *Task) ExitStatus {
	t.Helper()
	ctx := testContext(t)
	ch, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait(%q) = %v", task.ID(), err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("Start(%q) = %v", task.ID(), err)
	}
	st := <-ch
	if st.Err != nil {
		t.Fatalf("Wait(%q): status %+v", task.ID(), st)
	}
	return st
}

// mustCreate creates a task or fails the test; the task is force-deleted
// when the test ends, if it still exists.
func (e *testEnv) mustCreate(t testing.TB, id string, spec *specs.Spec, stdio IO) *Task {
	t.Helper()
	task, err := e.rt.Create(testContext(t), id, spec, stdio)
	if err != nil {
		t.Fatalf("Create(%q) = %v", id, err)
	}
	t.Cleanup(func() {
		_, _ = task.Delete(context.Background(), true)
	})
	return task
}
