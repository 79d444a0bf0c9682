package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount: run as root (CI does)")
	}
}

// mountTarget makes an empty directory and unmounts everything below it
// when the test ends.
func mountTarget(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		if err := UnmountAll(dir); err != nil {
			t.Errorf("UnmountAll(%s) = %v", dir, err)
		}
	})
	return dir
}

// mountsAt lists what /proc/self/mountinfo has mounted at p.
func mountsAt(t *testing.T, p string) int {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(info)) {
		if f := strings.Fields(line); len(f) > 4 && unescapeMountinfo(f[4]) == p {
			n++
		}
	}
	return n
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMountBind(t *testing.T) {
	requireRoot(t)
	src, target := t.TempDir(), mountTarget(t)
	writeFile(t, filepath.Join(src, "a"), "a")

	if err := (Mount{Type: "bind", Source: src, Options: []string{"rbind", "rw"}}).Mount(target); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(target, "b"), "b")
	if got := readFile(t, filepath.Join(src, "b")); got != "b" {
		t.Fatalf("write through rw bind: source has %q", got)
	}
	if err := UnmountAll(target); err != nil {
		t.Fatal(err)
	}

	if err := (Mount{Type: "bind", Source: src, Options: []string{"rbind", "ro"}}).Mount(target); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(target, "a")); got != "a" {
		t.Fatalf("read through ro bind = %q", got)
	}
	if err := os.WriteFile(filepath.Join(target, "c"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write through ro bind = %v, want EROFS", err)
	}
}

func TestMountOverlay(t *testing.T) {
	requireRoot(t)
	dir, target := t.TempDir(), mountTarget(t)
	for _, d := range []string{"l1", "l2", "upper", "work"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	writeFile(t, filepath.Join(dir, "l1", "one"), "1")
	writeFile(t, filepath.Join(dir, "l2", "one"), "hidden")
	writeFile(t, filepath.Join(dir, "l2", "two"), "2")
	m := Mount{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + filepath.Join(dir, "l1") + ":" + filepath.Join(dir, "l2"),
		"upperdir=" + filepath.Join(dir, "upper"), "workdir=" + filepath.Join(dir, "work"),
	}}
	if err := m.Mount(target); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(target, "one")) + readFile(t, filepath.Join(target, "two")); got != "12" {
		t.Fatalf("overlay shows %q, want the nearest layer first", got)
	}
	writeFile(t, filepath.Join(target, "three"), "3")
	if got := readFile(t, filepath.Join(dir, "upper", "three")); got != "3" {
		t.Fatalf("upperdir has %q", got)
	}
}

// TestMountOverlayLongLowerdir mounts an overlay whose options are far
// longer than the page mount(2) takes: the fsopen path, one lowerdir+ per
// layer.
func TestMountOverlayLongLowerdir(t *testing.T) {
	requireRoot(t)
	dir, target := t.TempDir(), mountTarget(t)
	long := strings.Repeat("long-directory-name-", 5)
	var lowers []string
	for i := range 60 {
		l := filepath.Join(dir, fmt.Sprintf("%s%02d", long, i))
		writeFile(t, filepath.Join(l, fmt.Sprintf("layer-%02d", i)), fmt.Sprint(i))
		lowers = append(lowers, l)
	}
	m := Mount{Type: "overlay", Source: "overlay", Options: []string{"ro", "lowerdir=" + strings.Join(lowers, ":")}}
	if _, _, data := parseOptions(m.Options); len(data) <= unix.Getpagesize() {
		t.Fatalf("options are %d bytes, want more than a page", len(data))
	}
	if err := m.Mount(target); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if got := readFile(t, filepath.Join(target, fmt.Sprintf("layer-%02d", i))); got != fmt.Sprint(i) {
			t.Fatalf("layer-%02d = %q", i, got)
		}
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write to ro overlay = %v, want EROFS", err)
	}
}

func TestMountErrors(t *testing.T) {
	requireRoot(t)
	target := mountTarget(t)
	missing := filepath.Join(t.TempDir(), "missing")
	err := (Mount{Type: "bind", Source: missing, Options: []string{"rbind"}}).Mount(target)
	if !errdefs.IsNotFound(err) || !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("bind of a missing source = %v, want NotFound naming source and target", err)
	}
	err = (Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + missing + ":" + missing}}).Mount(target)
	if err == nil || !strings.Contains(err.Error(), "overlay") {
		t.Fatalf("overlay on missing lowers = %v", err)
	}
	err = MountAll([]Mount{{Type: "bind", Source: target}, {Type: "bind", Source: target, Target: "../x"}}, target)
	if !errdefs.IsInvalidArgument(err) || mountsAt(t, target) != 0 {
		t.Fatalf("MountAll with Target ../x = %v, %d mounts made; want InvalidArgument and none", err, mountsAt(t, target))
	}
}

func TestMountAllRollsBack(t *testing.T) {
	requireRoot(t)
	src, target := t.TempDir(), mountTarget(t)
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	mounts := []Mount{
		{Type: "bind", Source: src, Options: []string{"rbind"}},
		{Type: "bind", Source: filepath.Join(src, "missing"), Target: "sub", Options: []string{"rbind"}},
	}
	if err := MountAll(mounts, target); !errdefs.IsNotFound(err) {
		t.Fatalf("MountAll with a missing second source = %v, want NotFound", err)
	}
	if n := mountsAt(t, target); n != 0 {
		t.Fatalf("after a failed MountAll, %d mounts left at the target", n)
	}
	mounts[1].Source = src
	if err := MountAll(mounts, target); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, filepath.Join(target, "sub")); n != 1 {
		t.Fatalf("MountAll: %d mounts at target/sub, want 1", n)
	}
}

func TestUnmountAll(t *testing.T) {
	requireRoot(t)
	src, target := t.TempDir(), mountTarget(t)
	if err := UnmountAll(target); err != nil {
		t.Fatalf("UnmountAll of an unmounted directory = %v", err)
	}
	if err := UnmountAll(filepath.Join(target, "missing")); err != nil {
		t.Fatalf("UnmountAll of a missing directory = %v", err)
	}
	os.MkdirAll(filepath.Join(src, "a b", "c"), 0o755)
	bind := Mount{Type: "bind", Source: src, Options: []string{"bind"}}
	for _, p := range []string{"", "", "a b", "a b/a b"} { // stacked, nested, a space
		if err := bind.Mount(filepath.Join(target, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := UnmountAll(target); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{target, filepath.Join(target, "a b"), filepath.Join(target, "a b", "a b")} {
		if n := mountsAt(t, p); n != 0 {
			t.Errorf("%d mounts left at %s", n, p)
		}
	}

	// The cases where unmounting the top mount alone is not all: one
	// stacked on another with nothing below it, and one hiding a mount
	// below the target.
	empty := t.TempDir()
	for _, p := range []string{"", ""} {
		if err := (Mount{Type: "bind", Source: empty, Options: []string{"bind"}}).Mount(filepath.Join(target, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := UnmountAll(target); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, target); n != 0 {
		t.Errorf("stacked mounts: %d left", n)
	}
	hidden := filepath.Join(target, "hidden")
	os.Mkdir(hidden, 0o755)
	for _, p := range []string{hidden, target} {
		if err := bind.Mount(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := UnmountAll(target); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{target, hidden} {
		if n := mountsAt(t, p); n != 0 {
			t.Errorf("a mount hidden by the target's: %d left at %s", n, p)
		}
	}
	if err := os.Remove(hidden); err != nil {
		t.Error(err)
	}
}

// TestUnmountAllAlone: one mount on the target, the usual case, is
// unmounted with nothing left, a file target's too.
func TestUnmountAllAlone(t *testing.T) {
	requireRoot(t)
	src, target := t.TempDir(), mountTarget(t)
	writeFile(t, filepath.Join(src, "f"), "x")
	if err := (Mount{Type: "bind", Source: src, Options: []string{"rbind", "ro"}}).Mount(target); err != nil {
		t.Fatal(err)
	}
	if !unmountedAlone(target) {
		t.Error("unmountedAlone of the one mount on an empty directory = false")
	}
	if n := mountsAt(t, target); n != 0 {
		t.Errorf("%d mounts left", n)
	}
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "")
	if err := (Mount{Type: "bind", Source: filepath.Join(src, "f"), Options: []string{"bind"}}).Mount(file); err != nil {
		t.Fatal(err)
	}
	if err := UnmountAll(file); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, file); n != 0 || readFile(t, file) != "" {
		t.Errorf("file target: %d mounts left", n)
	}
	if unmountedAlone(target) {
		t.Error("unmountedAlone of a directory with nothing mounted = true")
	}
}

func TestUnmountAllBusy(t *testing.T) {
	requireRoot(t)
	src, target := t.TempDir(), mountTarget(t)
	if err := (Mount{Type: "bind", Source: src, Options: []string{"bind"}}).Mount(target); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(target) // a busy mount, detached lazily
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := UnmountAll(target); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, target); n != 0 {
		t.Fatalf("busy mount: %d left", n)
	}
}

func TestMountCommand(t *testing.T) {
	for _, tc := range []struct {
		mounts []Mount
		target string
		want   string
	}{
		{[]Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/l/1:/l/2", "upperdir=/u", "workdir=/w"}}}, "/mnt",
			"mount -t overlay overlay -o lowerdir=/l/1:/l/2,upperdir=/u,workdir=/w /mnt"},
		{[]Mount{{Type: "bind", Source: "/s/fs", Options: []string{"rbind", "ro"}}}, "/my root",
			"mount -o rbind,ro /s/fs '/my root'"},
		{[]Mount{{Type: "bind", Source: "/it's"}, {Type: "tmpfs", Source: "tmpfs", Target: "tmp"}}, "/t",
			`mount -o bind '/it'\''s' /t && mount -t tmpfs tmpfs /t/tmp`},
	} {
		if got := MountCommand(tc.mounts, tc.target); got != tc.want {
			t.Errorf("MountCommand(%v, %q) =\n%s\nwant\n%s", tc.mounts, tc.target, got, tc.want)
		}
	}
}

func TestParsing(t *testing.T) {
	if got, want := splitLowerdir(`/a:/b\:c:/d\\`), []string{"/a", "/b:c", `/d\`}; !slices.Equal(got, want) {
		t.Errorf("splitLowerdir = %q, want %q", got, want)
	}
	if got := unescapeMountinfo(`/a\040b\134c\0`); got != `/a b\c\0` {
		t.Errorf("unescapeMountinfo = %q", got)
	}
	flags, prop, data := parseOptions([]string{"ro", "rw", "nosuid", "rprivate", "index=off", "userxattr"})
	if flags != unix.MS_NOSUID || prop != unix.MS_PRIVATE|unix.MS_REC || data != "index=off,userxattr" {
		t.Errorf("parseOptions = %#x %#x %q", flags, prop, data)
	}
}
