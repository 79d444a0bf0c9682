package oci

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/snapshot"
)

// Spec is the OCI runtime specification a container's tasks run with. It is
// an alias, so that options written against runtime-spec's type work here.
type Spec = specs.Spec

// Client is what spec options need of the client: its snapshotters, to read
// a container's root filesystem (WithUser, WithAdditionalGIDs,
// WithImageConfig). The library's *containerd.Client implements it; options
// that read nothing accept a nil Client.
type Client interface {
	// SnapshotService returns the snapshotter called snapshotterName (""
	// for the default one), or nil if there is none.
	SnapshotService(snapshotterName string) snapshot.Snapshotter
}

// Image is what WithImageConfig needs of an image: its configuration.
// The library's containerd.Image implements it.
type Image interface {
	// Config decodes the image configuration.
	Config(ctx context.Context) (ocispec.Image, error)
}

// SpecOpts changes a spec. Options run in the order given, each seeing the
// changes of those before it, so a later option wins where two set the same
// field. c is the container the spec is for; options read its snapshot
// (c.Snapshotter, c.SnapshotKey) but never change it.
type SpecOpts func(ctx context.Context, client Client, c *containers.Container, s *Spec) error

// Defaults of the generated spec.
const (
	// DefaultRootfsPath is the spec's Root.Path: relative, for the runtime
	// to replace with the real root of the container.
	DefaultRootfsPath = "rootfs"
	// DefaultPathEnv is the PATH a process gets when nothing else sets one.
	DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// DefaultNofile is the soft and hard RLIMIT_NOFILE of a process.
	DefaultNofile = 1024
	// DefaultTmpfsSize is the size of the tmpfs mounted on /dev, /dev/shm
	// and /run.
	DefaultTmpfsSize = "65536k"
	// AnnotationStopSignal is the spec annotation WithImageConfig records
	// the image's StopSignal under ("SIGQUIT", "15", ...), for the task
	// code to send on a graceful stop.
	AnnotationStopSignal = "io.containerd.image.config.stop-signal"
)

// GenerateSpec returns the default spec for container c with opts applied
// in order. c may be nil when no option reads its snapshot; client may be
// nil when no option reads a root filesystem.
//
// The default spec, as containerd's:
//
//   - process: no args (an option must set them), cwd "/", env holding only
//     DefaultPathEnv, user 0:0, no terminal, NoNewPrivileges set, the
//     default capabilities (DefaultCapabilities) as the bounding, permitted
//     and effective sets, RLIMIT_NOFILE 1024:1024, no OOM score adjustment;
//   - root: path "rootfs" (the runtime sets the real one), writable;
//   - no hostname;
//   - namespaces pid, ipc, uts, mount and network: the network namespace is
//     new, and the runtime brings up only its loopback interface;
//   - mounts (DefaultMounts): /proc, /dev (tmpfs), /dev/pts, /dev/shm,
//     /dev/mqueue, /sys (read-only), /run (tmpfs) and /sys/fs/cgroup
//     (read-only);
//   - masked paths (DefaultMaskedPaths) and read-only paths
//     (DefaultReadonlyPaths) below /proc and /sys;
//   - device cgroup: every device denied (the runtime allows its standard
//     /dev nodes);
//   - no cgroups path (the runtime sets one per namespace and container),
//     no resource limits, no seccomp profile (WithDefaultSeccompProfile),
//     no annotations.
func GenerateSpec(ctx context.Context, client Client, c *containers.Container, opts ...SpecOpts) (*Spec, error) {
	s := defaultSpec()
	if err := ApplyOpts(ctx, client, c, s, opts...); err != nil {
		return nil, err
	}
	return s, nil
}

// ApplyOpts applies opts to s in order, skipping nil ones, and stops at the
// first error, which it returns, or when ctx is done. s is changed in place,
// also by the options before a failing one. A nil s is an InvalidArgument
// error.
func ApplyOpts(ctx context.Context, client Client, c *containers.Container, s *Spec, opts ...SpecOpts) error {
	if s == nil {
		return fmt.Errorf("oci: nil spec: %w", errdefs.ErrInvalidArgument)
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := o(ctx, client, c, s); err != nil {
			return err
		}
	}
	return nil
}

// Compose returns one option applying opts in order.
func Compose(opts ...SpecOpts) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		return ApplyOpts(ctx, client, c, s, opts...)
	}
}

func defaultSpec() *Spec {
	return &Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: DefaultRootfsPath},
		Process: &specs.Process{
			Cwd:             "/",
			Env:             []string{DefaultPathEnv},
			NoNewPrivileges: true,
			User:            specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  DefaultCapabilities(),
				Permitted: DefaultCapabilities(),
				Effective: DefaultCapabilities(),
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: DefaultNofile, Hard: DefaultNofile},
			},
		},
		Mounts: DefaultMounts(),
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.NetworkNamespace},
			},
			MaskedPaths:   DefaultMaskedPaths(),
			ReadonlyPaths: DefaultReadonlyPaths(),
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
	}
}

// DefaultMounts returns the mounts of the default spec, in the order they
// are mounted:
//
//	/proc           proc    nosuid,noexec,nodev
//	/dev            tmpfs   nosuid,strictatime,mode=755,size=65536k
//	/dev/pts        devpts  nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5
//	/dev/shm        tmpfs   nosuid,noexec,nodev,mode=1777,size=65536k
//	/dev/mqueue     mqueue  nosuid,noexec,nodev
//	/sys            sysfs   nosuid,noexec,nodev,ro
//	/run            tmpfs   nosuid,strictatime,mode=755,size=65536k
//	/sys/fs/cgroup  cgroup  nosuid,noexec,nodev,relatime,ro
func DefaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc",
			Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "strictatime", "mode=755", "size=" + DefaultTmpfsSize}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + DefaultTmpfsSize}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
			Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs",
			Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "strictatime", "mode=755", "size=" + DefaultTmpfsSize}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// DefaultMaskedPaths returns the paths the default spec hides from the
// container (the runtime mounts /dev/null or an empty read-only tmpfs on
// them): kernel state that is not namespaced or leaks the host's.
func DefaultMaskedPaths() []string {
	return []string{
		"/proc/acpi",
		"/proc/asound",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/proc/scsi",
		"/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
}

// DefaultReadonlyPaths returns the paths the default spec makes read-only:
// host-wide kernel settings under /proc.
func DefaultReadonlyPaths() []string {
	return []string{
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	}
}

// The set* helpers make sure the part of the spec an option changes exists,
// so that options also work on a spec not made by GenerateSpec.

func setProcess(s *Spec) {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
}

func setRoot(s *Spec) {
	if s.Root == nil {
		s.Root = &specs.Root{}
	}
}

func setLinux(s *Spec) {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
}

func setResources(s *Spec) {
	setLinux(s)
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
}

func setCPU(s *Spec) {
	setResources(s)
	if s.Linux.Resources.CPU == nil {
		s.Linux.Resources.CPU = &specs.LinuxCPU{}
	}
}

func setCapabilities(s *Spec) {
	setProcess(s)
	if s.Process.Capabilities == nil {
		s.Process.Capabilities = &specs.LinuxCapabilities{}
	}
}
