package oci

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
)

func TestGenerateSpecDefaults(t *testing.T) {
	s, err := GenerateSpec(context.Background(), nil, &containers.Container{ID: "c1"})
	if err != nil {
		t.Fatalf("GenerateSpec() = %v", err)
	}
	if s.Version != specs.Version {
		t.Errorf("Version = %q, want %q", s.Version, specs.Version)
	}
	if s.Root == nil || s.Root.Path != "rootfs" || s.Root.Readonly {
		t.Errorf("Root = %+v, want writable rootfs", s.Root)
	}
	if s.Hostname != "" || s.Annotations != nil {
		t.Errorf("Hostname %q, Annotations %v: want none", s.Hostname, s.Annotations)
	}
	p := s.Process
	if len(p.Args) != 0 || p.Cwd != "/" || p.Terminal || !p.NoNewPrivileges || p.OOMScoreAdj != nil {
		t.Errorf("Process = %+v", p)
	}
	if !slices.Equal(p.Env, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}) {
		t.Errorf("Env = %q", p.Env)
	}
	if p.User.UID != 0 || p.User.GID != 0 || len(p.User.AdditionalGids) != 0 {
		t.Errorf("User = %+v, want 0:0", p.User)
	}
	wantCaps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
		"CAP_KILL", "CAP_AUDIT_WRITE"}
	c := p.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "permitted": c.Permitted, "effective": c.Effective} {
		if !slices.Equal(set, wantCaps) {
			t.Errorf("%s capabilities = %v, want %v", name, set, wantCaps)
		}
	}
	if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Errorf("inheritable %v, ambient %v: want none", c.Inheritable, c.Ambient)
	}
	if !slices.Equal(p.Rlimits, []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}) {
		t.Errorf("Rlimits = %+v", p.Rlimits)
	}

	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		if n.Path != "" {
			t.Errorf("namespace %s has path %q", n.Type, n.Path)
		}
		ns = append(ns, n.Type)
	}
	if want := []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "network"}; !slices.Equal(ns, want) {
		t.Errorf("namespaces %v, want %v", ns, want)
	}

	wantMounts := map[string]struct {
		typ, src string
		opts     []string
	}{
		"/proc":          {"proc", "proc", []string{"nosuid", "noexec", "nodev"}},
		"/dev":           {"tmpfs", "tmpfs", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		"/dev/pts":       {"devpts", "devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		"/dev/shm":       {"tmpfs", "shm", []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		"/dev/mqueue":    {"mqueue", "mqueue", []string{"nosuid", "noexec", "nodev"}},
		"/sys":           {"sysfs", "sysfs", []string{"nosuid", "noexec", "nodev", "ro"}},
		"/run":           {"tmpfs", "tmpfs", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		"/sys/fs/cgroup": {"cgroup", "cgroup", []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
	if len(s.Mounts) != len(wantMounts) {
		t.Errorf("%d mounts, want %d", len(s.Mounts), len(wantMounts))
	}
	for i, m := range s.Mounts {
		w, ok := wantMounts[m.Destination]
		if !ok || m.Type != w.typ || m.Source != w.src || !slices.Equal(m.Options, w.opts) {
			t.Errorf("mount %d = %+v, want %+v", i, m, w)
		}
		for _, earlier := range s.Mounts[:i] {
			if strings.HasPrefix(earlier.Destination, m.Destination+"/") {
				t.Errorf("%s mounted after %s, below it", m.Destination, earlier.Destination)
			}
		}
	}

	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.MaskedPaths, "/sys/firmware") ||
		!slices.Contains(s.Linux.MaskedPaths, "/proc/keys") || len(s.Linux.MaskedPaths) != 11 {
		t.Errorf("MaskedPaths = %v", s.Linux.MaskedPaths)
	}
	if !slices.Equal(s.Linux.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
		t.Errorf("ReadonlyPaths = %v", s.Linux.ReadonlyPaths)
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device cgroup = %+v, want deny all", d)
	}
	r := s.Linux.Resources
	if r.Memory != nil || r.CPU != nil || r.Pids != nil {
		t.Errorf("resources %+v, want no limits", r)
	}
	if s.Linux.CgroupsPath != "" || s.Linux.Seccomp != nil {
		t.Errorf("CgroupsPath %q, Seccomp %v: want none", s.Linux.CgroupsPath, s.Linux.Seccomp)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("json.Marshal(spec) = %v", err)
	}
}

// TestGenerateSpecFresh checks that specs share no slices: changing one
// leaves the next as it was.
func TestGenerateSpecFresh(t *testing.T) {
	ctx := context.Background()
	a, _ := GenerateSpec(ctx, nil, nil)
	a.Mounts[0].Options[0] = "changed"
	a.Process.Capabilities.Bounding[0] = "changed"
	a.Linux.MaskedPaths[0] = "changed"
	b, _ := GenerateSpec(ctx, nil, nil)
	if b.Mounts[0].Options[0] == "changed" || b.Process.Capabilities.Bounding[0] == "changed" || b.Linux.MaskedPaths[0] == "changed" {
		t.Fatalf("a second spec shares state with the first")
	}
}

func TestApplyOptsAndCompose(t *testing.T) {
	ctx := context.Background()
	var order []string
	mark := func(name string) SpecOpts {
		return func(context.Context, Client, *containers.Container, *Spec) error {
			order = append(order, name)
			return nil
		}
	}
	fail := func(context.Context, Client, *containers.Container, *Spec) error {
		return errdefs.ErrAborted
	}
	s, err := GenerateSpec(ctx, nil, nil, mark("a"), Compose(mark("b"), mark("c")), nil, mark("d"))
	if err != nil || s == nil {
		t.Fatalf("GenerateSpec() = %v, %v", s, err)
	}
	if !slices.Equal(order, []string{"a", "b", "c", "d"}) {
		t.Errorf("options ran in order %v", order)
	}
	order = nil
	if _, err := GenerateSpec(ctx, nil, nil, mark("a"), Compose(fail, mark("b")), mark("c")); !errdefs.IsAborted(err) {
		t.Errorf("GenerateSpec(failing option) = %v, want its error", err)
	}
	if !slices.Equal(order, []string{"a"}) {
		t.Errorf("after a failure, options ran %v", order)
	}
	if err := ApplyOpts(ctx, nil, nil, nil, mark("x")); !errdefs.IsInvalidArgument(err) {
		t.Errorf("ApplyOpts(nil spec) = %v, want InvalidArgument", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := GenerateSpec(cctx, nil, nil, mark("y")); err == nil {
		t.Errorf("GenerateSpec(cancelled context) = nil error")
	}
	// Options work on a spec not made by GenerateSpec.
	var empty Spec
	if err := ApplyOpts(ctx, nil, nil, &empty, WithProcessArgs("sh"), WithMemoryLimit(1<<20), WithCPUs(1),
		WithPidsLimit(5), WithAddedCapabilities([]string{"CAP_KILL"}), WithLinuxNamespace(specs.LinuxNamespace{Type: "pid"}),
		WithRootFSReadonly(), WithTTY, WithDefaultSeccompProfile, WithUIDGID(1, 2)); err != nil {
		t.Errorf("options on an empty spec: %v", err)
	}
}
