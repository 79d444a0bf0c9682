package oci

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
)

// invalid returns an InvalidArgument error for option opt.
func invalid(opt, format string, args ...any) error {
	return fmt.Errorf("oci: %s: %s: %w", opt, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
}

// checkCwd refuses a working directory in /proc or /sys: a directory
// there (/proc/self/fd/N above all) can lead out of the container's root
// while the runtime sets the process up.
func checkCwd(cwd string) error {
	clean := path.Clean(cwd)
	for _, p := range []string{"/proc", "/sys"} {
		if clean == p || strings.HasPrefix(clean, p+"/") {
			return fmt.Errorf("a working directory in %s is refused", p)
		}
	}
	return nil
}

// WithProcessArgs sets the process's command line: args[0] is the program,
// looked up in the process's PATH by the runtime when it has no slash. It
// replaces any args set before, also those of WithImageConfig. Default: no
// args. No args, an empty program or a NUL byte is an InvalidArgument error.
func WithProcessArgs(args ...string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if len(args) == 0 || args[0] == "" {
			return invalid("WithProcessArgs", "no program")
		}
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				return invalid("WithProcessArgs", "argument %q contains NUL", a)
			}
		}
		setProcess(s)
		s.Process.Args = slices.Clone(args)
		return nil
	}
}

// WithProcessCwd sets the process's working directory, an absolute path in
// the container. Default: "/". A relative path, or one in /proc or /sys
// (such as /proc/self/fd/N), is an InvalidArgument error.
func WithProcessCwd(cwd string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if !path.IsAbs(cwd) || strings.IndexByte(cwd, 0) >= 0 {
			return invalid("WithProcessCwd", "%q is not an absolute path", cwd)
		}
		if err := checkCwd(cwd); err != nil {
			return invalid("WithProcessCwd", "%q: %v", cwd, err)
		}
		setProcess(s)
		s.Process.Cwd = cwd
		return nil
	}
}

// WithEnv sets environment variables of the process: each "KEY=value"
// replaces the variable KEY or is appended, and a bare "KEY" removes KEY.
// Default env: DefaultPathEnv only. An empty key, a key holding "=" or a
// NUL byte is an InvalidArgument error.
func WithEnv(env []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		for _, e := range env {
			key, _, _ := strings.Cut(e, "=")
			if key == "" || strings.IndexByte(e, 0) >= 0 {
				return invalid("WithEnv", "bad variable %q", e)
			}
		}
		setProcess(s)
		s.Process.Env = mergeEnv(s.Process.Env, env)
		return nil
	}
}

// mergeEnv returns base with the variables of over replacing those of the
// same name or appended in order; a bare "KEY" in over removes KEY.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, e := range over {
		key, _, set := strings.Cut(e, "=")
		i := slices.IndexFunc(out, func(o string) bool {
			k, _, _ := strings.Cut(o, "=")
			return k == key
		})
		switch {
		case !set && i >= 0:
			out = slices.Delete(out, i, i+1)
		case !set:
		case i >= 0:
			out[i] = e
		default:
			out = append(out, e)
		}
	}
	return out
}

// hasEnv reports whether env sets key.
func hasEnv(env []string, key string) bool {
	return slices.ContainsFunc(env, func(e string) bool {
		return strings.HasPrefix(e, key+"=")
	})
}

// WithTTY gives the process a terminal, and sets TERM=xterm unless TERM is
// set already. Default: no terminal.
func WithTTY(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setProcess(s)
	s.Process.Terminal = true
	if !hasEnv(s.Process.Env, "TERM") {
		s.Process.Env = append(s.Process.Env, "TERM=xterm")
	}
	return nil
}

// maxHostname is the longest host name Linux takes (HOST_NAME_MAX).
const maxHostname = 64

// WithHostname sets the container's host name, in its own UTS namespace.
// Default: none (the runtime leaves the namespace's name, the host's). A
// name longer than 64 bytes or holding a NUL byte or a slash is an
// InvalidArgument error.
func WithHostname(name string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if len(name) > maxHostname || strings.ContainsAny(name, "\x00/") {
			return invalid("WithHostname", "bad host name %q", name)
		}
		s.Hostname = name
		return nil
	}
}

// WithMounts adds mounts to the spec. A mount whose destination is mounted
// already replaces that mount in place; the others are appended in order.
// Default mounts: DefaultMounts. A destination that is not an absolute path,
// or a mount without a type, is an InvalidArgument error.
func WithMounts(mounts []specs.Mount) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		for _, m := range mounts {
			if !path.IsAbs(m.Destination) {
				return invalid("WithMounts", "destination %q is not an absolute path", m.Destination)
			}
			if m.Type == "" {
				return invalid("WithMounts", "mount on %s has no type", m.Destination)
			}
		}
		for _, m := range mounts {
			m.Options = slices.Clone(m.Options)
			setMount(s, m)
		}
		return nil
	}
}

// setMount replaces the mount on m.Destination or appends m.
func setMount(s *Spec, m specs.Mount) {
	dst := path.Clean(m.Destination)
	for i := range s.Mounts {
		if path.Clean(s.Mounts[i].Destination) == dst {
			s.Mounts[i] = m
			return
		}
	}
	s.Mounts = append(s.Mounts, m)
}

// hostFileMount is a read-only bind mount of the host's file p on the same
// path in the container.
func hostFileMount(p string) specs.Mount {
	return specs.Mount{Destination: p, Type: "bind", Source: p, Options: []string{"rbind", "ro"}}
}

// WithHostResolvconf bind-mounts the host's /etc/resolv.conf read-only on
// the container's. Default: the image's own file. With the default network
// namespace, which has only a loopback interface, the host's name servers
// are reachable only if they listen on loopback in the container too; use it
// with WithHostNamespace(specs.NetworkNamespace).
func WithHostResolvconf(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setMount(s, hostFileMount("/etc/resolv.conf"))
	return nil
}

// WithHostHostsFile bind-mounts the host's /etc/hosts read-only on the
// container's. Default: the image's own file.
func WithHostHostsFile(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setMount(s, hostFileMount("/etc/hosts"))
	return nil
}

// knownNamespace reports whether t is a namespace type of the runtime spec.
func knownNamespace(t specs.LinuxNamespaceType) bool {
	switch t {
	case specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace:
		return true
	}
	return false
}

// WithHostNamespace makes the container share the host's namespace of type
// t, by removing it from the spec: WithHostNamespace(specs.NetworkNamespace)
// gives the container the host's network. Default namespaces: pid, ipc,
// uts, mount, network. An unknown type is an InvalidArgument error.
func WithHostNamespace(t specs.LinuxNamespaceType) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if !knownNamespace(t) {
			return invalid("WithHostNamespace", "unknown namespace type %q", t)
		}
		if s.Linux == nil {
			return nil
		}
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == t
		})
		return nil
	}
}

// WithLinuxNamespace sets the container's namespace of ns.Type: a new one,
// or, with ns.Path, the one at that path (/proc/PID/ns/net, a bind mount of
// it). It replaces the namespace of that type in the spec or adds it. An
// unknown type or a relative path is an InvalidArgument error.
func WithLinuxNamespace(ns specs.LinuxNamespace) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if !knownNamespace(ns.Type) {
			return invalid("WithLinuxNamespace", "unknown namespace type %q", ns.Type)
		}
		if ns.Path != "" && !path.IsAbs(ns.Path) {
			return invalid("WithLinuxNamespace", "%s namespace path %q is not absolute", ns.Type, ns.Path)
		}
		setLinux(s)
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == ns.Type {
				s.Linux.Namespaces[i] = ns
				return nil
			}
		}
		s.Linux.Namespaces = append(s.Linux.Namespaces, ns)
		return nil
	}
}

// WithRootFSReadonly makes the container's root filesystem read-only.
// Default: writable.
func WithRootFSReadonly() SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		setRoot(s)
		s.Root.Readonly = true
		return nil
	}
}

// WithNoNewPrivileges sets the process's no_new_privs bit: neither setuid
// programs nor file capabilities give it privileges it does not have. This
// is the default, as in containerd; WithNewPrivileges clears it.
func WithNoNewPrivileges(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setProcess(s)
	s.Process.NoNewPrivileges = true
	return nil
}

// WithNewPrivileges clears the process's no_new_privs bit, so that setuid
// programs (sudo, ping on some images) work as on a host. Default: set.
func WithNewPrivileges(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setProcess(s)
	s.Process.NoNewPrivileges = false
	return nil
}

// WithMemoryLimit limits the container's memory to limit bytes (the memory
// cgroup's limit). Default: no limit. 0 or more than math.MaxInt64 is an
// InvalidArgument error.
func WithMemoryLimit(limit uint64) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if limit == 0 || limit > math.MaxInt64 {
			return invalid("WithMemoryLimit", "limit %d out of range", limit)
		}
		setResources(s)
		if s.Linux.Resources.Memory == nil {
			s.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		l := int64(limit)
		s.Linux.Resources.Memory.Limit = &l
		return nil
	}
}

// DefaultCPUPeriod is the CFS period WithCPUs sets, in microseconds.
const DefaultCPUPeriod = 100000

// Bounds of the CFS quota the kernel takes, in microseconds.
const (
	minCPUQuota = 1000
	maxCPUQuota = 1 << 40
)

// WithCPUs limits the container to cpus CPUs' worth of time (1.5 is one
// and a half CPUs), as a CFS quota over a period of DefaultCPUPeriod
// microseconds. Default: no limit. A value that is not a number, or that
// gives a quota below 1ms or above the kernel's bound, is an
// InvalidArgument error.
//
// Unlike containerd's WithCPUs, which sets the cpuset, this is docker run's
// --cpus; WithCPUSet pins the container to CPUs.
func WithCPUs(cpus float64) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		q := cpus * DefaultCPUPeriod
		if math.IsNaN(q) || q < minCPUQuota || q > maxCPUQuota {
			return invalid("WithCPUs", "%v CPUs out of range", cpus)
		}
		setCPU(s)
		quota, period := int64(math.Round(q)), uint64(DefaultCPUPeriod)
		s.Linux.Resources.CPU.Quota = &quota
		s.Linux.Resources.CPU.Period = &period
		return nil
	}
}

// Bounds of the CPU shares (cgroup v1 cpu.shares; the runtime converts them
// to a cgroup v2 weight).
const (
	minCPUShares = 2
	maxCPUShares = 262144
)

// WithCPUShares sets the container's relative CPU weight against other
// cgroups, 1024 being the kernel's default. Default: unset (1024). A value
// outside 2..262144 is an InvalidArgument error.
func WithCPUShares(shares uint64) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if shares < minCPUShares || shares > maxCPUShares {
			return invalid("WithCPUShares", "%d shares out of range %d..%d", shares, minCPUShares, maxCPUShares)
		}
		setCPU(s)
		s.Linux.Resources.CPU.Shares = &shares
		return nil
	}
}

// WithCPUSet pins the container to the CPUs listed in cpus, in the kernel's
// list format ("0-3", "0,2"). Default: any CPU. An empty list or one with
// characters other than digits, commas and dashes is an InvalidArgument
// error.
func WithCPUSet(cpus string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if cpus == "" || strings.Trim(cpus, "0123456789,-") != "" {
			return invalid("WithCPUSet", "bad CPU list %q", cpus)
		}
		setCPU(s)
		s.Linux.Resources.CPU.Cpus = cpus
		return nil
	}
}

// WithPidsLimit limits the number of processes and threads in the
// container (the pids cgroup). Default: no limit. A limit below 1 is an
// InvalidArgument error.
func WithPidsLimit(limit int64) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if limit < 1 {
			return invalid("WithPidsLimit", "limit %d below 1", limit)
		}
		setResources(s)
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &limit}
		return nil
	}
}

// knownRlimit reports whether t names a resource limit of setrlimit(2).
func knownRlimit(t string) bool {
	switch t {
	case "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
		"RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
		"RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
		"RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK":
		return true
	}
	return false
}

// WithRlimit sets a resource limit of the process, replacing the one of the
// same type. Default: RLIMIT_NOFILE 1024:1024 only. A nil limit, an unknown
// type or a soft limit above the hard one is an InvalidArgument error.
func WithRlimit(rlimit *specs.POSIXRlimit) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if rlimit == nil {
			return invalid("WithRlimit", "nil limit")
		}
		if !knownRlimit(rlimit.Type) {
			return invalid("WithRlimit", "unknown type %q", rlimit.Type)
		}
		if rlimit.Soft > rlimit.Hard {
			return invalid("WithRlimit", "%s soft limit %d above hard limit %d", rlimit.Type, rlimit.Soft, rlimit.Hard)
		}
		setProcess(s)
		for i := range s.Process.Rlimits {
			if s.Process.Rlimits[i].Type == rlimit.Type {
				s.Process.Rlimits[i] = *rlimit
				return nil
			}
		}
		s.Process.Rlimits = append(s.Process.Rlimits, *rlimit)
		return nil
	}
}

// WithAnnotations adds annotations to the spec, replacing those of the same
// keys. Default: none. An empty key is an InvalidArgument error.
func WithAnnotations(annotations map[string]string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if _, ok := annotations[""]; ok {
			return invalid("WithAnnotations", "empty key")
		}
		if len(annotations) == 0 {
			return nil
		}
		if s.Annotations == nil {
			s.Annotations = make(map[string]string, len(annotations))
		}
		maps.Copy(s.Annotations, annotations)
		return nil
	}
}

// WithMaskedPaths sets the paths hidden from the container, replacing the
// list. Default: DefaultMaskedPaths.
func WithMaskedPaths(paths []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		setLinux(s)
		s.Linux.MaskedPaths = slices.Clone(paths)
		return nil
	}
}

// WithReadonlyPaths sets the paths made read-only in the container,
// replacing the list. Default: DefaultReadonlyPaths.
func WithReadonlyPaths(paths []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		setLinux(s)
		s.Linux.ReadonlyPaths = slices.Clone(paths)
		return nil
	}
}

// WithWritableSysfs mounts /sys read-write. Default: read-only.
func WithWritableSysfs(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	dropMountOption(s, "sysfs", "ro")
	return nil
}

// WithWritableCgroupfs mounts /sys/fs/cgroup read-write. Default:
// read-only.
func WithWritableCgroupfs(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	dropMountOption(s, "cgroup", "ro")
	dropMountOption(s, "cgroup2", "ro")
	return nil
}

// dropMountOption removes opt from the mounts of type typ.
func dropMountOption(s *Spec, typ, opt string) {
	for i := range s.Mounts {
		if s.Mounts[i].Type == typ {
			s.Mounts[i].Options = slices.DeleteFunc(slices.Clone(s.Mounts[i].Options), func(o string) bool {
				return o == opt
			})
		}
	}
}

// WithAllDevicesAllowed lets the container use every device node it has,
// in the device cgroup. Default: only the runtime's standard /dev nodes.
func WithAllDevicesAllowed(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setResources(s)
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	return nil
}

// WithPrivileged gives the container what docker run --privileged does,
// but for host devices: every capability the calling process has
// (CurrentCapabilities; a process cannot give more) in the bounding,
// permitted and effective sets, no masked or read-only paths,
// no seccomp profile, no AppArmor profile or SELinux label, /sys and
// /sys/fs/cgroup writable, and every device allowed in the device cgroup.
// Options after it can take some of that back. Default: unprivileged.
func WithPrivileged(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
	return Compose(
		WithCapabilities(CurrentCapabilities()),
		WithMaskedPaths(nil),
		WithReadonlyPaths(nil),
		WithSeccompUnconfined,
		WithWritableSysfs,
		WithWritableCgroupfs,
		WithAllDevicesAllowed,
		func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
			s.Process.ApparmorProfile = ""
			s.Process.SelinuxLabel = ""
			return nil
		},
	)(ctx, client, c, s)
}
