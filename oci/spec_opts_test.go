package oci

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
)

// fakeImage is an Image with a fixed config.
type fakeImage struct {
	config ocispec.ImageConfig
	err    error
}

func (i fakeImage) Config(context.Context) (ocispec.Image, error) {
	return ocispec.Image{Config: i.config}, i.err
}

func mountOn(s *Spec, dst string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func hasNamespace(s *Spec, t specs.LinuxNamespaceType) bool {
	return slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == t })
}

func TestSpecOpts(t *testing.T) {
	img := fakeImage{config: ocispec.ImageConfig{
		Entrypoint: []string{"/entry", "-x"},
		Cmd:        []string{"serve", "--port=80"},
		Env:        []string{"PATH=/app/bin:/usr/bin", "LANG=C.UTF-8", "BARE", "=nokey"},
		WorkingDir: "/srv",
		User:       "1000:1000",
		StopSignal: "SIGQUIT",
		Labels:     map[string]string{"l": "v"},
	}}
	for _, tc := range []struct {
		name  string
		opts  []SpecOpts
		check func(t *testing.T, s *Spec)
	}{
		{"WithProcessArgs", []SpecOpts{WithProcessArgs("sh", "-c", "true")}, func(t *testing.T, s *Spec) {
			if !slices.Equal(s.Process.Args, []string{"sh", "-c", "true"}) {
				t.Errorf("Args = %q", s.Process.Args)
			}
		}},
		{"WithProcessCwd", []SpecOpts{WithProcessCwd("/work")}, func(t *testing.T, s *Spec) {
			if s.Process.Cwd != "/work" {
				t.Errorf("Cwd = %q", s.Process.Cwd)
			}
		}},
		{"WithEnv", []SpecOpts{WithEnv([]string{"A=1", "PATH=/bin", "B=2"}), WithEnv([]string{"A=3", "B", "C="})}, func(t *testing.T, s *Spec) {
			if want := []string{"PATH=/bin", "A=3", "C="}; !slices.Equal(s.Process.Env, want) {
				t.Errorf("Env = %q, want %q", s.Process.Env, want)
			}
		}},
		{"WithTTY", []SpecOpts{WithTTY}, func(t *testing.T, s *Spec) {
			if !s.Process.Terminal || !slices.Contains(s.Process.Env, "TERM=xterm") {
				t.Errorf("Terminal %v, Env %q", s.Process.Terminal, s.Process.Env)
			}
		}},
		{"WithTTY keeps TERM", []SpecOpts{WithEnv([]string{"TERM=vt100"}), WithTTY}, func(t *testing.T, s *Spec) {
			if slices.Contains(s.Process.Env, "TERM=xterm") || !slices.Contains(s.Process.Env, "TERM=vt100") {
				t.Errorf("Env %q", s.Process.Env)
			}
		}},
		{"WithHostname", []SpecOpts{WithHostname("web-1")}, func(t *testing.T, s *Spec) {
			if s.Hostname != "web-1" {
				t.Errorf("Hostname = %q", s.Hostname)
			}
		}},
		{"WithMounts", []SpecOpts{WithMounts([]specs.Mount{
			{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "rw"}},
			{Destination: "/dev/shm/", Type: "tmpfs", Source: "shm", Options: []string{"size=1g"}},
		})}, func(t *testing.T, s *Spec) {
			if m := mountOn(s, "/data"); m == nil || m.Source != "/srv/data" || s.Mounts[len(s.Mounts)-1].Destination != "/data" {
				t.Errorf("/data mount %+v, not appended", m)
			}
			if len(s.Mounts) != len(DefaultMounts())+1 || s.Mounts[3].Destination != "/dev/shm/" || s.Mounts[3].Options[0] != "size=1g" {
				t.Errorf("/dev/shm not replaced in place: %+v", s.Mounts)
			}
		}},
		{"WithHostResolvconf WithHostHostsFile", []SpecOpts{WithHostResolvconf, WithHostHostsFile, WithHostResolvconf}, func(t *testing.T, s *Spec) {
			for _, p := range []string{"/etc/resolv.conf", "/etc/hosts"} {
				m := mountOn(s, p)
				if m == nil || m.Type != "bind" || m.Source != p || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rbind") {
					t.Errorf("mount on %s = %+v", p, m)
				}
			}
			if len(s.Mounts) != len(DefaultMounts())+2 {
				t.Errorf("%d mounts, want the defaults and 2", len(s.Mounts))
			}
		}},
		{"WithHostNamespace network", []SpecOpts{WithHostNamespace(specs.NetworkNamespace)}, func(t *testing.T, s *Spec) {
			if hasNamespace(s, specs.NetworkNamespace) || !hasNamespace(s, specs.PIDNamespace) || len(s.Linux.Namespaces) != 4 {
				t.Errorf("namespaces %+v", s.Linux.Namespaces)
			}
		}},
		{"WithLinuxNamespace", []SpecOpts{
			WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/x"}),
			WithLinuxNamespace(specs.LinuxNamespace{Type: specs.CgroupNamespace}),
		}, func(t *testing.T, s *Spec) {
			ns := s.Linux.Namespaces
			if len(ns) != 6 || ns[4] != (specs.LinuxNamespace{Type: "network", Path: "/run/netns/x"}) || ns[5].Type != "cgroup" {
				t.Errorf("namespaces %+v", ns)
			}
		}},
		{"WithRootFSReadonly", []SpecOpts{WithRootFSReadonly()}, func(t *testing.T, s *Spec) {
			if !s.Root.Readonly || s.Root.Path != "rootfs" {
				t.Errorf("Root = %+v", s.Root)
			}
		}},
		{"WithNewPrivileges", []SpecOpts{WithNewPrivileges}, func(t *testing.T, s *Spec) {
			if s.Process.NoNewPrivileges {
				t.Errorf("NoNewPrivileges still set")
			}
		}},
		{"WithNoNewPrivileges", []SpecOpts{WithNewPrivileges, WithNoNewPrivileges}, func(t *testing.T, s *Spec) {
			if !s.Process.NoNewPrivileges {
				t.Errorf("NoNewPrivileges not set")
			}
		}},
		{"WithMemoryLimit", []SpecOpts{WithMemoryLimit(256 << 20)}, func(t *testing.T, s *Spec) {
			if m := s.Linux.Resources.Memory; m == nil || *m.Limit != 256<<20 {
				t.Errorf("Memory = %+v", m)
			}
		}},
		{"WithCPUs", []SpecOpts{WithCPUs(1.5)}, func(t *testing.T, s *Spec) {
			c := s.Linux.Resources.CPU
			if *c.Quota != 150000 || *c.Period != 100000 {
				t.Errorf("CPU quota %d period %d", *c.Quota, *c.Period)
			}
		}},
		{"WithCPUShares WithCPUSet", []SpecOpts{WithCPUShares(512), WithCPUSet("0-1,3"), WithCPUs(0.25)}, func(t *testing.T, s *Spec) {
			c := s.Linux.Resources.CPU
			if *c.Shares != 512 || c.Cpus != "0-1,3" || *c.Quota != 25000 {
				t.Errorf("CPU = %+v", c)
			}
		}},
		{"WithPidsLimit", []SpecOpts{WithPidsLimit(100)}, func(t *testing.T, s *Spec) {
			if p := s.Linux.Resources.Pids; p == nil || *p.Limit != 100 {
				t.Errorf("Pids = %+v", p)
			}
		}},
		{"WithRlimit", []SpecOpts{
			WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 4096, Hard: 8192}),
			WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NPROC", Soft: 10, Hard: 10}),
		}, func(t *testing.T, s *Spec) {
			want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 4096, Hard: 8192}, {Type: "RLIMIT_NPROC", Soft: 10, Hard: 10}}
			if !slices.Equal(s.Process.Rlimits, want) {
				t.Errorf("Rlimits = %+v", s.Process.Rlimits)
			}
		}},
		{"WithAnnotations", []SpecOpts{WithAnnotations(map[string]string{"a": "1", "b": "2"}), WithAnnotations(map[string]string{"a": "3"})}, func(t *testing.T, s *Spec) {
			if len(s.Annotations) != 2 || s.Annotations["a"] != "3" || s.Annotations["b"] != "2" {
				t.Errorf("Annotations = %v", s.Annotations)
			}
		}},
		{"WithCapabilities", []SpecOpts{WithAmbientCapabilities([]string{"CAP_KILL", "CAP_CHOWN"}), WithCapabilities([]string{"net_admin", "CAP_KILL", "SYS_TIME", "kill"})}, func(t *testing.T, s *Spec) {
			c := s.Process.Capabilities
			want := []string{"CAP_NET_ADMIN", "CAP_KILL", "CAP_SYS_TIME"}
			if !slices.Equal(c.Bounding, want) || !slices.Equal(c.Permitted, want) || !slices.Equal(c.Effective, want) {
				t.Errorf("capabilities %+v, want %v", c, want)
			}
			if !slices.Equal(c.Ambient, []string{"CAP_KILL"}) || !slices.Equal(c.Inheritable, []string{"CAP_KILL"}) {
				t.Errorf("ambient %v, inheritable %v: want CAP_KILL", c.Ambient, c.Inheritable)
			}
		}},
		{"WithAddedCapabilities", []SpecOpts{WithAddedCapabilities([]string{"CAP_SYS_ADMIN", "CAP_KILL"})}, func(t *testing.T, s *Spec) {
			c := s.Process.Capabilities
			for _, set := range [][]string{c.Bounding, c.Permitted, c.Effective} {
				if len(set) != len(DefaultCapabilities())+1 || set[len(set)-1] != "CAP_SYS_ADMIN" {
					t.Errorf("set %v", set)
				}
			}
		}},
		{"WithDroppedCapabilities", []SpecOpts{WithAmbientCapabilities([]string{"CAP_NET_RAW"}), WithDroppedCapabilities([]string{"NET_RAW", "CAP_MKNOD"})}, func(t *testing.T, s *Spec) {
			c := s.Process.Capabilities
			for _, set := range [][]string{c.Bounding, c.Permitted, c.Effective, c.Ambient, c.Inheritable} {
				if slices.Contains(set, "CAP_NET_RAW") || slices.Contains(set, "CAP_MKNOD") {
					t.Errorf("set %v still holds a dropped capability", set)
				}
			}
			if len(c.Bounding) != len(DefaultCapabilities())-2 {
				t.Errorf("bounding %v", c.Bounding)
			}
		}},
		{"WithDroppedCapabilities ALL then added", []SpecOpts{WithDroppedCapabilities([]string{"ALL"}), WithAddedCapabilities([]string{"CAP_CHOWN"})}, func(t *testing.T, s *Spec) {
			if !slices.Equal(s.Process.Capabilities.Effective, []string{"CAP_CHOWN"}) {
				t.Errorf("effective %v", s.Process.Capabilities.Effective)
			}
		}},
		{"WithPrivileged", []SpecOpts{WithDefaultSeccompProfile, WithPrivileged}, func(t *testing.T, s *Spec) {
			c := s.Process.Capabilities
			if !slices.Equal(c.Bounding, CurrentCapabilities()) || !slices.Equal(c.Effective, CurrentCapabilities()) || len(c.Bounding) == 0 {
				t.Errorf("bounding %v, want the process's %v", c.Bounding, CurrentCapabilities())
			}
			if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil || s.Linux.Seccomp != nil {
				t.Errorf("masked %v, readonly %v, seccomp %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths, s.Linux.Seccomp != nil)
			}
			if slices.Contains(mountOn(s, "/sys").Options, "ro") || slices.Contains(mountOn(s, "/sys/fs/cgroup").Options, "ro") {
				t.Errorf("/sys or /sys/fs/cgroup read-only")
			}
			if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" {
				t.Errorf("devices %+v", d)
			}
			if !slices.Equal(mountOn(s, "/proc").Options, []string{"nosuid", "noexec", "nodev"}) {
				t.Errorf("/proc options changed")
			}
		}},
		{"WithPrivileged then seccomp", []SpecOpts{WithPrivileged, WithDefaultSeccompProfile}, func(t *testing.T, s *Spec) {
			if s.Linux.Seccomp == nil || !slices.Contains(allowedNames(s.Linux.Seccomp), "mount") {
				t.Errorf("seccomp after WithPrivileged does not allow mount")
			}
		}},
		{"WithDefaultSeccompProfile", []SpecOpts{WithDefaultSeccompProfile}, func(t *testing.T, s *Spec) {
			sc := s.Linux.Seccomp
			if sc == nil || sc.DefaultAction != specs.ActErrno || !slices.Contains(allowedNames(sc), "read") || slices.Contains(allowedNames(sc), "mount") {
				t.Errorf("Seccomp = %+v", sc)
			}
		}},
		{"WithDefaultSeccompProfile with CAP_SYS_ADMIN", []SpecOpts{WithAddedCapabilities([]string{"CAP_SYS_ADMIN"}), WithDefaultSeccompProfile}, func(t *testing.T, s *Spec) {
			if !slices.Contains(allowedNames(s.Linux.Seccomp), "mount") {
				t.Errorf("mount not allowed with CAP_SYS_ADMIN")
			}
		}},
		{"WithSeccompUnconfined", []SpecOpts{WithDefaultSeccompProfile, WithSeccompUnconfined}, func(t *testing.T, s *Spec) {
			if s.Linux.Seccomp != nil {
				t.Errorf("Seccomp still set")
			}
		}},
		{"WithMaskedPaths WithReadonlyPaths", []SpecOpts{WithMaskedPaths([]string{"/proc/x"}), WithReadonlyPaths(nil)}, func(t *testing.T, s *Spec) {
			if !slices.Equal(s.Linux.MaskedPaths, []string{"/proc/x"}) || s.Linux.ReadonlyPaths != nil {
				t.Errorf("masked %v, readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
			}
		}},
		{"WithUIDGID", []SpecOpts{WithUIDGID(1000, 100)}, func(t *testing.T, s *Spec) {
			if u := s.Process.User; u.UID != 1000 || u.GID != 100 || !slices.Equal(u.AdditionalGids, []uint32{100}) {
				t.Errorf("User = %+v", u)
			}
		}},
		{"WithUser numeric without rootfs", []SpecOpts{WithUser("1000:50")}, func(t *testing.T, s *Spec) {
			if u := s.Process.User; u.UID != 1000 || u.GID != 50 || !slices.Equal(u.AdditionalGids, []uint32{50}) {
				t.Errorf("User = %+v", u)
			}
		}},
		{"WithUserID without rootfs", []SpecOpts{WithUserID(33)}, func(t *testing.T, s *Spec) {
			if u := s.Process.User; u.UID != 33 || u.GID != 0 {
				t.Errorf("User = %+v", u)
			}
		}},
		{"WithImageConfig", []SpecOpts{WithImageConfig(img)}, func(t *testing.T, s *Spec) {
			p := s.Process
			if !slices.Equal(p.Args, []string{"/entry", "-x", "serve", "--port=80"}) {
				t.Errorf("Args = %q", p.Args)
			}
			if !slices.Equal(p.Env, []string{"PATH=/app/bin:/usr/bin", "LANG=C.UTF-8"}) {
				t.Errorf("Env = %q", p.Env)
			}
			if p.Cwd != "/srv" || p.User.UID != 1000 || p.User.GID != 1000 {
				t.Errorf("Cwd %q, User %+v", p.Cwd, p.User)
			}
			if s.Annotations[AnnotationStopSignal] != "SIGQUIT" || len(s.Annotations) != 1 {
				t.Errorf("Annotations = %v", s.Annotations)
			}
		}},
		{"WithImageConfig then caller options", []SpecOpts{WithEnv([]string{"LANG=fr", "X=1"}), WithImageConfig(img), WithProcessArgs("sh"), WithEnv([]string{"LANG=de"}), WithProcessCwd("/tmp"), WithUIDGID(5, 5)}, func(t *testing.T, s *Spec) {
			p := s.Process
			if !slices.Equal(p.Args, []string{"sh"}) || p.Cwd != "/tmp" || p.User.UID != 5 {
				t.Errorf("Args %q, Cwd %q, User %+v", p.Args, p.Cwd, p.User)
			}
			if !slices.Equal(p.Env, []string{"PATH=/app/bin:/usr/bin", "LANG=de", "X=1"}) {
				t.Errorf("Env = %q", p.Env)
			}
		}},
		{"WithImageConfigArgs", []SpecOpts{WithImageConfigArgs(img, []string{"debug"})}, func(t *testing.T, s *Spec) {
			if !slices.Equal(s.Process.Args, []string{"/entry", "-x", "debug"}) {
				t.Errorf("Args = %q", s.Process.Args)
			}
		}},
		{"WithImageConfig minimal image", []SpecOpts{WithProcessCwd("/x"), WithImageConfig(fakeImage{config: ocispec.ImageConfig{Cmd: []string{"sh"}, WorkingDir: "rel/dir"}})}, func(t *testing.T, s *Spec) {
			p := s.Process
			if !slices.Equal(p.Args, []string{"sh"}) || p.Cwd != "/rel/dir" || !slices.Equal(p.Env, []string{DefaultPathEnv}) || p.User.UID != 0 {
				t.Errorf("Process = %+v", p)
			}
			if s.Annotations != nil {
				t.Errorf("Annotations = %v, want none", s.Annotations)
			}
		}},
		{"WithImageConfig adds PATH", []SpecOpts{WithEnv([]string{"PATH"}), WithImageConfig(fakeImage{config: ocispec.ImageConfig{Env: []string{"A=b"}}})}, func(t *testing.T, s *Spec) {
			if !slices.Equal(s.Process.Env, []string{DefaultPathEnv, "A=b"}) {
				t.Errorf("Env = %q", s.Process.Env)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := GenerateSpec(context.Background(), nil, &containers.Container{ID: "c"}, tc.opts...)
			if err != nil {
				t.Fatalf("GenerateSpec() = %v", err)
			}
			tc.check(t, s)
		})
	}
}

func TestSpecOptsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  SpecOpts
	}{
		{"WithProcessArgs", WithProcessArgs()},
		{"WithProcessArgs", WithProcessArgs("")},
		{"WithProcessArgs", WithProcessArgs("sh", "a\x00b")},
		{"WithProcessCwd", WithProcessCwd("relative")},
		{"WithProcessCwd", WithProcessCwd("")},
		{"WithProcessCwd", WithProcessCwd("/proc/self/fd/3")},
		{"WithProcessCwd", WithProcessCwd("/sys/../proc/1/cwd")},
		{"WithEnv", WithEnv([]string{"=x"})},
		{"WithEnv", WithEnv([]string{""})},
		{"WithEnv", WithEnv([]string{"A=\x00"})},
		{"WithHostname", WithHostname(strings.Repeat("h", 65))},
		{"WithHostname", WithHostname("a/b")},
		{"WithMounts", WithMounts([]specs.Mount{{Destination: "rel", Type: "bind"}})},
		{"WithMounts", WithMounts([]specs.Mount{{Destination: "/x"}})},
		{"WithHostNamespace", WithHostNamespace("bogus")},
		{"WithLinuxNamespace", WithLinuxNamespace(specs.LinuxNamespace{Type: "bogus"})},
		{"WithLinuxNamespace", WithLinuxNamespace(specs.LinuxNamespace{Type: "network", Path: "netns"})},
		{"WithMemoryLimit", WithMemoryLimit(0)},
		{"WithMemoryLimit", WithMemoryLimit(math.MaxUint64)},
		{"WithCPUs", WithCPUs(0)},
		{"WithCPUs", WithCPUs(-1)},
		{"WithCPUs", WithCPUs(0.001)},
		{"WithCPUs", WithCPUs(math.NaN())},
		{"WithCPUs", WithCPUs(math.Inf(1))},
		{"WithCPUShares", WithCPUShares(1)},
		{"WithCPUShares", WithCPUShares(262145)},
		{"WithCPUSet", WithCPUSet("")},
		{"WithCPUSet", WithCPUSet("0-1;2")},
		{"WithPidsLimit", WithPidsLimit(0)},
		{"WithPidsLimit", WithPidsLimit(-1)},
		{"WithRlimit", WithRlimit(nil)},
		{"WithRlimit", WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_BOGUS"})},
		{"WithRlimit", WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1})},
		{"WithAnnotations", WithAnnotations(map[string]string{"": "x"})},
		{"WithCapabilities", WithCapabilities([]string{"CAP_FLY"})},
		{"WithAddedCapabilities", WithAddedCapabilities([]string{"CAP_KILL", "bogus"})},
		{"WithDroppedCapabilities", WithDroppedCapabilities([]string{""})},
		{"WithAmbientCapabilities", WithAmbientCapabilities([]string{"CAP_"})},
		{"WithUser", WithUser("")},
		{"WithUser", WithUser(":1")},
		{"WithUser", WithUser("1:")},
		{"WithUser", WithUser("4294967296")},
		{"WithUser", WithUser("2147483648")},
		{"WithUser", WithUser("1:99999999999")},
		{"WithUser", WithUser("a\x00b")},
		{"WithUserID", WithUserID(math.MaxUint32)},
		{"WithUsername", WithUsername("1000")},
		{"WithUIDGID", WithUIDGID(1, 1<<31)},
		{"WithAdditionalGIDs", WithAdditionalGIDs("")},
		{"WithAdditionalGIDs", WithAdditionalGIDs("a:b")},
		{"WithImageConfig", WithImageConfig(nil)},
		{"WithImageConfigArgs", WithImageConfigArgs(nil, []string{"x"})},
	} {
		s, _ := GenerateSpec(context.Background(), nil, nil)
		err := tc.opt(context.Background(), nil, nil, s)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %v, want InvalidArgument naming the option", tc.name, err)
		}
	}
}

func TestSpecOptsNeedRootFS(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []SpecOpts{
		WithUser("nginx"),
		WithUser("1000:www"),
		WithUsername("nginx"),
		WithAdditionalGIDs("nginx"),
		WithImageConfig(fakeImage{config: ocispec.ImageConfig{User: "nginx"}}),
	} {
		_, err := GenerateSpec(ctx, nil, &containers.Container{ID: "c"}, opt)
		if !errdefs.IsFailedPrecondition(err) {
			t.Errorf("option needing a root filesystem without one: %v, want FailedPrecondition", err)
		}
	}
	// A snapshot without a client to read it with.
	_, err := GenerateSpec(ctx, nil, &containers.Container{ID: "c", SnapshotKey: "k"}, WithUser("1"))
	if !errdefs.IsFailedPrecondition(err) {
		t.Errorf("WithUser with a snapshot and no client: %v, want FailedPrecondition", err)
	}
}

func TestWithImageConfigError(t *testing.T) {
	_, err := GenerateSpec(context.Background(), nil, nil, WithImageConfig(fakeImage{err: errdefs.ErrNotFound}))
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("WithImageConfig(image whose config fails) = %v, want its error", err)
	}
}

func TestWithImageConfigWorkdirInProc(t *testing.T) {
	for _, wd := range []string{"/proc/self/fd/7", "proc/1/cwd", "/sys/fs", "/x/../proc"} {
		_, err := GenerateSpec(context.Background(), nil, nil, WithImageConfig(fakeImage{config: ocispec.ImageConfig{Cmd: []string{"sh"}, WorkingDir: wd}}))
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "WorkingDir") {
			t.Errorf("WithImageConfig(WorkingDir %q) = %v, want InvalidArgument naming WorkingDir", wd, err)
		}
	}
	s, err := GenerateSpec(context.Background(), nil, nil, WithImageConfig(fakeImage{config: ocispec.ImageConfig{Cmd: []string{"sh"}, WorkingDir: "/processes"}}))
	if err != nil || s.Process.Cwd != "/processes" {
		t.Errorf("WithImageConfig(WorkingDir /processes) = %v, %v", s, err)
	}
}

func TestCurrentCapabilities(t *testing.T) {
	cur := CurrentCapabilities()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	var eff uint64
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	var want []string
	for i, name := range AllCapabilities() {
		if eff&(1<<i) != 0 {
			want = append(want, name)
		}
	}
	if !slices.Equal(cur, want) {
		t.Errorf("CurrentCapabilities() = %v, want %v (CapEff %#x)", cur, want, eff)
	}
}
