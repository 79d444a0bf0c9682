package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/snapshot"
)

// fakeClient is a Client whose snapshotters are given.
type fakeClient map[string]snapshot.Snapshotter

func (c fakeClient) SnapshotService(name string) snapshot.Snapshotter { return c[name] }

// fakeSnapshotter returns fixed mounts per key; it does nothing else.
type fakeSnapshotter struct {
	mounts map[string][]snapshot.Mount
}

var _ snapshot.Snapshotter = fakeSnapshotter{}

func (f fakeSnapshotter) Mounts(_ context.Context, key string) ([]snapshot.Mount, error) {
	m, ok := f.mounts[key]
	if !ok {
		return nil, fmt.Errorf("snapshot %s: %w", key, errdefs.ErrNotFound)
	}
	return m, nil
}

func (fakeSnapshotter) Stat(context.Context, string) (snapshot.Info, error) {
	return snapshot.Info{}, errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Update(context.Context, snapshot.Info, ...string) (snapshot.Info, error) {
	return snapshot.Info{}, errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Usage(context.Context, string) (snapshot.Usage, error) {
	return snapshot.Usage{}, errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Prepare(context.Context, string, string, ...snapshot.Opt) ([]snapshot.Mount, error) {
	return nil, errdefs.ErrNotImplemented
}

func (fakeSnapshotter) View(context.Context, string, string, ...snapshot.Opt) ([]snapshot.Mount, error) {
	return nil, errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Commit(context.Context, string, string, ...snapshot.Opt) error {
	return errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Remove(context.Context, string) error { return errdefs.ErrNotImplemented }

func (fakeSnapshotter) Walk(context.Context, snapshot.WalkFunc, ...string) error {
	return errdefs.ErrNotImplemented
}

func (fakeSnapshotter) Close() error { return nil }

// writeFiles writes files (path: content) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bindRootFS returns a client and a container whose snapshot is a bind
// mount of dir, as the native snapshotter's.
func bindRootFS(dir string) (Client, *containers.Container) {
	sn := fakeSnapshotter{mounts: map[string][]snapshot.Mount{
		"c-rootfs": {{Type: "bind", Source: dir, Options: []string{"rbind", "ro"}}},
	}}
	return fakeClient{"native": sn}, &containers.Container{ID: "c", Snapshotter: "native", SnapshotKey: "c-rootfs"}
}

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
www-data:x:33:33:www:/var/www:/usr/sbin/nologin
broken:x:notanumber:1::/:/bin/false
short:x
+nis

dup:x:1000:5::/:/bin/sh
`

const testGroup = `root:x:0:
wheel:x:10:root,alice
users:x:100:alice,bob
docker:x:999:bob, alice
www-data:x:33:
staff:x:50:
bad:x:nan:alice
`

func TestWithUserResolution(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	client, c := bindRootFS(dir)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		opts     []SpecOpts
		uid, gid uint32
		gids     []uint32
	}{
		{"name", []SpecOpts{WithUser("alice")}, 1000, 1000, []uint32{1000, 10, 100, 999}},
		{"name with primary among groups", []SpecOpts{WithUser("bob")}, 1001, 100, []uint32{100, 999}},
		{"name:group", []SpecOpts{WithUser("alice:www-data")}, 1000, 33, []uint32{33, 10, 100, 999}},
		{"name:gid", []SpecOpts{WithUser("alice:10")}, 1000, 10, []uint32{10, 100, 999}},
		{"uid", []SpecOpts{WithUser("1000")}, 1000, 1000, []uint32{1000, 10, 100, 999}},
		{"uid:group", []SpecOpts{WithUser("1001:staff")}, 1001, 50, []uint32{50, 100, 999}},
		{"uid without entry", []SpecOpts{WithUser("4242")}, 4242, 0, []uint32{0}},
		{"uid:gid without entry", []SpecOpts{WithUser("4242:7")}, 4242, 7, []uint32{7}},
		{"root", []SpecOpts{WithUser("root")}, 0, 0, []uint32{0, 10}},
		{"WithUserID", []SpecOpts{WithUserID(1001)}, 1001, 100, []uint32{100, 999}},
		{"WithUserID without entry", []SpecOpts{WithUserID(77)}, 77, 0, []uint32{0}},
		{"WithUsername", []SpecOpts{WithUsername("www-data")}, 33, 33, []uint32{33}},
		{"WithAdditionalGIDs name", []SpecOpts{WithUIDGID(1000, 1000), WithAdditionalGIDs("alice")}, 1000, 1000, []uint32{1000, 10, 100, 999}},
		{"WithAdditionalGIDs uid", []SpecOpts{WithUIDGID(5, 6), WithAdditionalGIDs("1001")}, 5, 6, []uint32{6, 100, 999}},
		{"WithAdditionalGIDs unknown", []SpecOpts{WithAdditionalGIDs("nobody")}, 0, 0, []uint32{0}},
		{"WithImageConfig user", []SpecOpts{WithImageConfig(fakeImage{config: ocispec.ImageConfig{User: "bob", Cmd: []string{"x"}}})}, 1001, 100, []uint32{100, 999}},
		{"WithImageConfig no user", []SpecOpts{WithImageConfig(fakeImage{config: ocispec.ImageConfig{Cmd: []string{"x"}}})}, 0, 0, []uint32{0, 10}},
		{"WithImageConfig no user keeps earlier user", []SpecOpts{WithUser("alice"), WithImageConfig(fakeImage{})}, 1000, 1000, []uint32{1000, 10, 100, 999}},
		{"WithUIDGID after WithUser", []SpecOpts{WithUser("alice"), WithUIDGID(1, 2)}, 1, 2, []uint32{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := GenerateSpec(ctx, client, c, tc.opts...)
			if err != nil {
				t.Fatalf("GenerateSpec() = %v", err)
			}
			u := s.Process.User
			if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.gids) {
				t.Errorf("user %d:%d %v, want %d:%d %v", u.UID, u.GID, u.AdditionalGids, tc.uid, tc.gid, tc.gids)
			}
		})
	}

	for _, tc := range []struct {
		opt     SpecOpts
		mention string
	}{
		{WithUser("nobody"), `"nobody"`},
		{WithUser("alice:nogroup"), `"nogroup"`},
		{WithUser("4242:nogroup"), `"nogroup"`},
		{WithUsername("broken"), `"broken"`},
		{WithImageConfig(fakeImage{config: ocispec.ImageConfig{User: "ghost"}}), `"ghost"`},
	} {
		_, err := GenerateSpec(ctx, client, c, tc.opt)
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("unknown name: %v, want NotFound naming %s", err, tc.mention)
		}
	}
}

// TestWithUserRootPath reads the root filesystem at the spec's absolute
// root path when the container has no snapshot.
func TestWithUserRootPath(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	s, err := GenerateSpec(context.Background(), nil, &containers.Container{ID: "c"},
		func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
			s.Root.Path = dir
			return nil
		}, WithUser("bob"))
	if err != nil {
		t.Fatalf("GenerateSpec() = %v", err)
	}
	if u := s.Process.User; u.UID != 1001 || u.GID != 100 {
		t.Errorf("user %+v, want 1001:100", u)
	}
}

// TestWithUserHostileRootFS checks that the files are read inside the root
// filesystem only, whatever the image makes of them.
func TestWithUserHostileRootFS(t *testing.T) {
	ctx := context.Background()
	host := t.TempDir()
	hostPasswd := filepath.Join(host, "passwd")
	hostGroup := filepath.Join(host, "group")
	writeFiles(t, host, map[string]string{
		"passwd": "evil:x:666:666::/:/bin/sh\n",
		"group":  "evilgroup:x:667:evil,root\n",
	})

	t.Run("absolute symlinks to host files", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		os.Symlink(hostPasswd, filepath.Join(dir, "etc/passwd"))
		os.Symlink(hostGroup, filepath.Join(dir, "etc/group"))
		client, c := bindRootFS(dir)
		if _, err := GenerateSpec(ctx, client, c, WithUser("evil")); !errdefs.IsNotFound(err) {
			t.Errorf("WithUser(evil) through a symlink to the host = %v, want NotFound", err)
		}
		s, err := GenerateSpec(ctx, client, c, WithUser("666"))
		if err != nil {
			t.Fatalf("WithUser(666) = %v", err)
		}
		if u := s.Process.User; u.GID != 0 || !slices.Equal(u.AdditionalGids, []uint32{0}) {
			t.Errorf("WithUser(666) = %+v: the host's entry was read", u)
		}
		if _, err := GenerateSpec(ctx, client, c, WithUser("root:evilgroup")); !errdefs.IsNotFound(err) {
			t.Errorf("WithUser(root:evilgroup) = %v, want NotFound", err)
		}
	})

	t.Run("absolute symlink resolved inside", func(t *testing.T) {
		dir := t.TempDir()
		// The same absolute path exists on the host and in the image:
		// the image's file is the one read.
		writeFiles(t, dir, map[string]string{hostPasswd: "inside:x:5:6::/:/bin/sh\n"})
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		os.Symlink(hostPasswd, filepath.Join(dir, "etc/passwd"))
		client, c := bindRootFS(dir)
		s, err := GenerateSpec(ctx, client, c, WithUser("inside"))
		if err != nil {
			t.Fatalf("WithUser(inside) = %v", err)
		}
		if u := s.Process.User; u.UID != 5 || u.GID != 6 {
			t.Errorf("user %+v, want 5:6", u)
		}
		if _, err := GenerateSpec(ctx, client, c, WithUser("evil")); !errdefs.IsNotFound(err) {
			t.Errorf("WithUser(evil) = %v, want NotFound", err)
		}
	})

	t.Run("relative symlinks climbing out", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		up := strings.Repeat("../", 40)
		os.Symlink(up+hostPasswd[1:], filepath.Join(dir, "etc/passwd"))
		os.Symlink(up+hostGroup[1:], filepath.Join(dir, "etc/group"))
		client, c := bindRootFS(dir)
		if _, err := GenerateSpec(ctx, client, c, WithUser("evil")); !errdefs.IsNotFound(err) {
			t.Errorf("WithUser(evil) = %v, want NotFound", err)
		}
	})

	t.Run("etc a symlink to the host's directory", func(t *testing.T) {
		dir := t.TempDir()
		os.Symlink(host, filepath.Join(dir, "etc"))
		client, c := bindRootFS(dir)
		if _, err := GenerateSpec(ctx, client, c, WithUser("evil")); !errdefs.IsNotFound(err) {
			t.Errorf("WithUser(evil) = %v, want NotFound", err)
		}
	})

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		check func(error) bool
		want  string
	}{
		{"FIFO", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "etc/passwd"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, errdefs.IsFailedPrecondition, "FailedPrecondition"},
		{"directory", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "etc/passwd"), 0o755)
		}, errdefs.IsFailedPrecondition, "FailedPrecondition"},
		{"symlink loop", func(t *testing.T, dir string) {
			os.Symlink("group", filepath.Join(dir, "etc/passwd"))
			os.Symlink("passwd", filepath.Join(dir, "etc/group"))
		}, func(err error) bool { return err != nil }, "an error"},
		{"too large", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"etc/passwd": strings.Repeat("u:x:1:1::/:/bin/sh\n", maxUserFileSize/19+1)})
		}, errdefs.IsOutOfRange, "OutOfRange"},
		{"line too long", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"etc/group": "g:x:1:" + strings.Repeat("a", maxUserFileLine) + "\n"})
		}, errdefs.IsOutOfRange, "OutOfRange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
			tc.setup(t, dir)
			client, c := bindRootFS(dir)
			_, err := GenerateSpec(ctx, client, c, WithUser("1000"))
			if !tc.check(err) {
				t.Errorf("WithUser(1000) = %v, want %s", err, tc.want)
			}
		})
	}

	for name, files := range map[string]map[string]string{
		"no etc":      {"bin/sh": ""},
		"etc a file":  {"etc": "x"},
		"empty files": {"etc/passwd": "", "etc/group": ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			client, c := bindRootFS(dir)
			s, err := GenerateSpec(ctx, client, c, WithUser("1000:1000"))
			if err != nil || s.Process.User.UID != 1000 || s.Process.User.GID != 1000 {
				t.Errorf("WithUser(1000:1000) = %v, %+v", err, s.Process.User)
			}
			if _, err := GenerateSpec(ctx, client, c, WithUser("alice")); !errdefs.IsNotFound(err) {
				t.Errorf("WithUser(alice) = %v, want NotFound", err)
			}
		})
	}
}

// TestWithUserDevice checks that a device node in place of /etc/passwd is
// refused, never opened.
func TestWithUserDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a device node needs root")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	// /dev/zero would feed a reader forever.
	if err := syscall.Mknod(filepath.Join(dir, "etc/passwd"), syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	client, c := bindRootFS(dir)
	if _, err := GenerateSpec(context.Background(), client, c, WithUser("1")); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("WithUser with a device as /etc/passwd = %v, want FailedPrecondition", err)
	}
}

func TestWithUserSnapshotErrors(t *testing.T) {
	ctx := context.Background()
	client, _ := bindRootFS(t.TempDir())
	for _, tc := range []struct {
		name  string
		c     *containers.Container
		check func(error) bool
	}{
		{"unknown snapshotter", &containers.Container{ID: "c", Snapshotter: "zfs", SnapshotKey: "c-rootfs"}, errdefs.IsNotFound},
		{"unknown snapshot", &containers.Container{ID: "c", Snapshotter: "native", SnapshotKey: "other"}, errdefs.IsNotFound},
	} {
		if _, err := GenerateSpec(ctx, client, tc.c, WithUser("1")); !tc.check(err) {
			t.Errorf("%s: WithUser = %v", tc.name, err)
		}
	}
	empty := fakeClient{"native": fakeSnapshotter{mounts: map[string][]snapshot.Mount{"k": nil}}}
	if _, err := GenerateSpec(ctx, empty, &containers.Container{ID: "c", Snapshotter: "native", SnapshotKey: "k"}, WithUser("1")); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("snapshot without mounts: WithUser = %v, want FailedPrecondition", err)
	}
}

func TestReadOnlyMounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   snapshot.Mount
		want snapshot.Mount
	}{
		{"overlay with upper", snapshot.Mount{Type: "overlay", Source: "overlay",
			Options: []string{"index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs", "rw"}},
			snapshot.Mount{Type: "overlay", Source: "overlay",
				Options: []string{"index=off", "lowerdir=/s/2/fs:/s/1/fs", "ro", "nosuid", "nodev", "noexec"}}},
		{"overlay, upper only", snapshot.Mount{Type: "overlay", Source: "overlay",
			Options: []string{"workdir=/s/2/work", "upperdir=/s/2/fs"}},
			snapshot.Mount{Type: "bind", Source: "/s/2/fs", Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}}},
		{"overlay, one lower", snapshot.Mount{Type: "overlay", Source: "overlay", Target: "sub",
			Options: []string{"lowerdir=/s/a\\:b/fs"}},
			snapshot.Mount{Type: "bind", Source: "/s/a:b/fs", Target: "sub", Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}}},
		{"bind", snapshot.Mount{Type: "bind", Source: "/x", Options: []string{"rbind", "rw"}},
			snapshot.Mount{Type: "bind", Source: "/x", Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}}},
	} {
		in := tc.in
		inOpts := slices.Clone(in.Options)
		got := readOnlyMounts([]snapshot.Mount{in})
		if len(got) != 1 || got[0].Type != tc.want.Type || got[0].Source != tc.want.Source || got[0].Target != tc.want.Target ||
			!slices.Equal(got[0].Options, tc.want.Options) {
			t.Errorf("%s: readOnlyMounts = %+v, want %+v", tc.name, got, tc.want)
		}
		if !slices.Equal(in.Options, inOpts) {
			t.Errorf("%s: input options changed to %v", tc.name, in.Options)
		}
	}
}

func TestParseUserFiles(t *testing.T) {
	p, err := parsePasswd([]byte(testPasswd))
	if err != nil {
		t.Fatal(err)
	}
	want := []passwdEntry{{"root", 0, 0}, {"alice", 1000, 1000}, {"bob", 1001, 100}, {"www-data", 33, 33}, {"dup", 1000, 5}}
	if !slices.Equal(p, want) {
		t.Errorf("parsePasswd = %+v, want %+v", p, want)
	}
	g, err := parseGroup([]byte(testGroup + "crlf:x:7:a\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 7 || !slices.Equal(g[3].members, []string{"bob", "alice"}) || g[5].name != "staff" || !slices.Equal(g[6].members, []string{"a"}) {
		t.Errorf("parseGroup = %+v", g)
	}
}

// TestWithUserOverlay reads a root filesystem that must be mounted: an
// overlay whose upper layer changes /etc/passwd of the lower one.
func TestWithUserOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	base := t.TempDir()
	lower1, lower2 := filepath.Join(base, "l1"), filepath.Join(base, "l2")
	upper, work := filepath.Join(base, "upper"), filepath.Join(base, "work")
	writeFiles(t, lower1, map[string]string{"etc/passwd": "alice:x:1000:1000::/:/bin/sh\n", "etc/group": "g:x:7:alice\n"})
	writeFiles(t, lower2, map[string]string{"bin/sh": ""})
	writeFiles(t, upper, map[string]string{"etc/passwd": "alice:x:2000:2000::/:/bin/sh\n"})
	os.Mkdir(work, 0o700)
	sn := fakeSnapshotter{mounts: map[string][]snapshot.Mount{"k": {{
		Type: "overlay", Source: "overlay",
		Options: []string{"workdir=" + work, "upperdir=" + upper, "lowerdir=" + lower2 + ":" + lower1},
	}}}}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	s, err := GenerateSpec(context.Background(), fakeClient{"overlayfs": sn},
		&containers.Container{ID: "c", Snapshotter: "overlayfs", SnapshotKey: "k"}, WithUser("alice"))
	if err != nil {
		t.Fatalf("WithUser(alice) on an overlay = %v", err)
	}
	if u := s.Process.User; u.UID != 2000 || u.GID != 2000 || !slices.Equal(u.AdditionalGids, []uint32{2000, 7}) {
		t.Errorf("user %+v, want 2000:2000 [2000 7] from the upper layer", u)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	info, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(info), tmp) {
		t.Errorf("a mount below %s is left", tmp)
	}
	// The upper and work directories were not used by the read-only mount.
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("work directory used: %v", ents)
	}
}

// TestWithUserNewSnapshot reads a new container's snapshot: an overlay
// whose upper directory is still empty. On one layer, the layer's
// directory is read as it is, with nothing mounted (so without root);
// on two, the nearer layer wins, as in the mount.
func TestWithUserNewSnapshot(t *testing.T) {
	base := t.TempDir()
	lower1, lower2 := filepath.Join(base, "l1"), filepath.Join(base, "l2")
	upper, work := filepath.Join(base, "upper"), filepath.Join(base, "work")
	writeFiles(t, lower1, map[string]string{"etc/passwd": "alice:x:1000:1000::/:/bin/sh\n", "etc/group": "g:x:7:alice\n"})
	writeFiles(t, lower2, map[string]string{"etc/passwd": "alice:x:2000:2000::/:/bin/sh\n"})
	os.Mkdir(upper, 0o755)
	os.Mkdir(work, 0o700)
	tmp := t.TempDir()
	for _, tc := range []struct {
		name    string
		lowers  string
		uid     uint32
		mounted bool
	}{
		{"one layer", lower1, 1000, false},
		{"two layers", lower2 + ":" + lower1, 2000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mounted && os.Geteuid() != 0 {
				t.Skip("mounting an overlay needs root")
			}
			t.Setenv("TMPDIR", tmp)
			if !tc.mounted {
				// Where nothing is mounted, no directory to mount on
				// is made.
				t.Setenv("TMPDIR", filepath.Join(tmp, "missing"))
			}
			opts := []string{"index=off", "workdir=" + work, "upperdir=" + upper, "lowerdir=" + tc.lowers}
			m := snapshot.Mount{Type: "overlay", Source: "overlay", Options: slices.Clone(opts)}
			sn := fakeSnapshotter{mounts: map[string][]snapshot.Mount{"k": {m}}}
			s, err := GenerateSpec(context.Background(), fakeClient{"overlayfs": sn},
				&containers.Container{ID: "c", Snapshotter: "overlayfs", SnapshotKey: "k"}, WithUser("alice"))
			if err != nil {
				t.Fatalf("WithUser(alice) = %v", err)
			}
			if u := s.Process.User; u.UID != tc.uid || u.GID != tc.uid {
				t.Errorf("user %+v, want %d:%d", u, tc.uid, tc.uid)
			}
			if !slices.Equal(m.Options, opts) {
				t.Errorf("the snapshot's mount options changed to %v", m.Options)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left behind in TMPDIR: %v", left)
			}
		})
	}
	// Not once the container has written to its upper directory.
	writeFiles(t, upper, map[string]string{"x": ""})
	if got := withoutEmptyUpper([]snapshot.Mount{{Type: "overlay", Options: []string{"upperdir=" + upper, "workdir=" + work, "lowerdir=" + lower1}}}); len(got[0].Options) != 3 {
		t.Errorf("withoutEmptyUpper with files in the upper directory = %+v", got)
	}
}
