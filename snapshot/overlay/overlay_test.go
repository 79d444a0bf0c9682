package overlay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/snapshot"
	"github.com/daemonless/containerd/snapshot/testsuite"
)

// newTest opens a snapshotter for a test. Not running as root, it skips
// the test mount New makes, and the suite skips what needs mounting.
func newTest(t *testing.T, root string) snapshot.Snapshotter {
	t.Helper()
	var opts []Opt
	if os.Geteuid() != 0 {
		opts = append(opts, WithoutMountCheck)
	}
	sn, err := New(root, opts...)
	if err != nil {
		t.Fatalf("New(%s) = %v", root, err)
	}
	t.Cleanup(func() { sn.Close() })
	return sn
}

func TestSnapshotter(t *testing.T) {
	testsuite.Run(t, newTest, testsuite.WithLeftovers("snapshots/999999", "snapshots/rm-7", "snapshots/tmp-123"))
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v", what, err)
	}
}

// TestMountShapes checks the mounts of each kind of snapshot.
func TestMountShapes(t *testing.T) {
	root := t.TempDir()
	sn := newTest(t, root)
	ctx := context.Background()
	fs := func(id int) string { return filepath.Join(root, "snapshots", fmt.Sprint(id), "fs") }
	extra := []string{}
	if _, err := os.Stat("/sys/module/overlay/parameters/index"); err == nil {
		extra = append(extra, "index=off")
	}
	opts := func(o ...string) []string { return append(append([]string{}, extra...), o...) }
	overlayOpts := func(o ...string) []string {
		if o[0] == "ro" {
			return append([]string{"ro"}, opts(o[1:]...)...)
		}
		return opts(o...)
	}

	check := func(what string, got []snapshot.Mount, err error, want snapshot.Mount) {
		t.Helper()
		must(t, what, err)
		if !reflect.DeepEqual(got, []snapshot.Mount{want}) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	m, err := sn.Prepare(ctx, "a", "") // id 1
	check("Prepare with no parent", m, err, snapshot.Mount{Type: "bind", Source: fs(1), Options: []string{"rbind", "rw"}})
	m, err = sn.View(ctx, "v0", "") // id 2
	check("View of nothing", m, err, snapshot.Mount{Type: "bind", Source: fs(2), Options: []string{"rbind", "ro"}})
	must(t, "Commit", sn.Commit(ctx, "a-c", "a"))
	m, err = sn.View(ctx, "v1", "a-c") // id 3
	check("View of a parent with no parent", m, err, snapshot.Mount{Type: "bind", Source: fs(1), Options: []string{"rbind", "ro"}})
	m, err = sn.Prepare(ctx, "b", "a-c") // id 4
	check("Prepare on one parent", m, err, snapshot.Mount{Type: "overlay", Source: "overlay", Options: overlayOpts(
		"lowerdir="+fs(1), "upperdir="+fs(4), "workdir="+filepath.Join(root, "snapshots/4/work"))})
	must(t, "Commit", sn.Commit(ctx, "b-c", "b"))
	m, err = sn.Prepare(ctx, "c", "b-c") // id 5
	check("Prepare on two parents", m, err, snapshot.Mount{Type: "overlay", Source: "overlay", Options: overlayOpts(
		"lowerdir="+fs(4)+":"+fs(1), "upperdir="+fs(5), "workdir="+filepath.Join(root, "snapshots/5/work"))})
	m, err = sn.View(ctx, "v2", "b-c") // id 6
	check("View of two layers", m, err, snapshot.Mount{Type: "overlay", Source: "overlay", Options: overlayOpts("ro", "lowerdir="+fs(4)+":"+fs(1))})

	for _, p := range []string{root, filepath.Join(root, "snapshots", "1"), filepath.Join(root, "snapshots", "5")} {
		fi, err := os.Stat(p)
		must(t, "Stat", err)
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
	if cmd := snapshot.MountCommand(m, "/mnt"); !strings.HasPrefix(cmd, "mount -t overlay overlay -o ro,") || !strings.HasSuffix(cmd, " /mnt") {
		t.Errorf("MountCommand = %q", cmd)
	}
}

// TestLongRoot60Layers stacks 60 layers under a root with a long path, so
// that the lowerdir option is longer than the page mount(2) takes and the
// view mounts through fsopen(2), one lower layer at a time.
func TestLongRoot60Layers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount overlay: run as root (CI does)")
	}
	root := filepath.Join(t.TempDir(), strings.Repeat("a-long-directory-name-", 7))
	sn := newTest(t, root)
	ctx := context.Background()
	parent := ""
	for i := range 60 {
		name := fmt.Sprintf("layer-%02d", i)
		mounts, err := sn.Prepare(ctx, name+"-active", parent)
		must(t, "Prepare", err)
		// A layer's own changes go into its upperdir (or, with no
		// parent, the bind's source): no mount needed to write them.
		dir := mounts[0].Source
		if v, ok := mounts[0].Option("upperdir"); ok {
			dir = v
		}
		must(t, "WriteFile", os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644))
		must(t, "Commit", sn.Commit(ctx, name, name+"-active"))
		parent = name
	}
	mounts, err := sn.View(ctx, "view", parent)
	must(t, "View", err)
	lower, _ := mounts[0].Option("lowerdir")
	if n := len(strings.Join(mounts[0].Options, ",")); n <= os.Getpagesize() || strings.Count(lower, ":") != 59 {
		t.Fatalf("View's options are %d bytes with %d lowers, want more than a page and 60", n, strings.Count(lower, ":")+1)
	}
	target := t.TempDir()
	must(t, "MountAll", snapshot.MountAll(mounts, target))
	defer snapshot.UnmountAll(target)
	for i := range 60 {
		name := fmt.Sprintf("layer-%02d", i)
		if b, err := os.ReadFile(filepath.Join(target, name)); err != nil || string(b) != name {
			t.Fatalf("view: %s = %q, %v", name, b, err)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "a:b")); !errdefs.IsInvalidArgument(err) {
		t.Errorf("New of a root with ':' = %v, want InvalidArgument", err)
	}
	if _, err := New(t.TempDir(), WithLockTimeout(0)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("New with a zero lock timeout = %v, want InvalidArgument", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the mount check needs root: run as root (CI does)")
	}
	root := t.TempDir()
	newTest(t, root)
	var uts unix.Utsname
	unix.Uname(&uts)
	if b, err := os.ReadFile(filepath.Join(root, "overlay-checked")); err != nil || string(b) != unix.ByteSliceToString(uts.Release[:]) {
		t.Fatalf("overlay-checked = %q, %v; want the kernel release", b, err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "snapshots"))
	if len(entries) != 0 {
		t.Fatalf("the mount check left %v under snapshots/", entries)
	}
	// A root where the check fails: overlay on overlay as upper is
	// refused by the kernel.
	lower, upper, work, merged := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	ov := snapshot.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work}}
	must(t, "mount", ov.Mount(merged))
	defer snapshot.UnmountAll(merged)
	if _, err := New(filepath.Join(merged, "root")); err == nil || !strings.Contains(err.Error(), "overlay does not mount here") {
		t.Fatalf("New on an overlay = %v, want the check to fail", err)
	}
}

// BenchmarkNew opens an existing root, as every client start does.
func BenchmarkNew(b *testing.B) {
	root := b.TempDir()
	opts := []Opt{}
	if os.Geteuid() != 0 {
		opts = append(opts, WithoutMountCheck)
	}
	for b.Loop() {
		sn, err := New(root, opts...)
		if err != nil {
			b.Fatal(err)
		}
		sn.Close()
	}
}

// BenchmarkPrepareCommit makes one layer of a growing chain per
// iteration.
func BenchmarkPrepareCommit(b *testing.B) {
	sn, err := New(b.TempDir(), WithoutMountCheck)
	if err != nil {
		b.Fatal(err)
	}
	defer sn.Close()
	ctx := context.Background()
	parent := ""
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprint(i)
		if _, err := sn.Prepare(ctx, name+"-active", parent); err != nil {
			b.Fatal(err)
		}
		if err := sn.Commit(ctx, name, name+"-active"); err != nil {
			b.Fatal(err)
		}
		parent = name
	}
}
