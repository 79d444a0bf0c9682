//go:build cgo

package runtime

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// checkSpec checks what Create needs of a spec before anything is made.
func checkSpec(spec *specs.Spec) error {
	switch {
	case spec == nil:
		return fmt.Errorf("no spec: %w", errdefs.ErrInvalidArgument)
	case spec.Root == nil || !filepath.IsAbs(spec.Root.Path):
		return fmt.Errorf("spec root path must be an absolute directory: %w", errdefs.ErrInvalidArgument)
	case spec.Process == nil || len(spec.Process.Args) == 0:
		return fmt.Errorf("spec has no process args: %w", errdefs.ErrInvalidArgument)
	case spec.Process.User.Username != "":
		return fmt.Errorf("user name %q: the spec must give numeric ids: %w", spec.Process.User.Username, errdefs.ErrInvalidArgument)
	}
	for _, m := range spec.Mounts {
		// libcontainer would take a relative source against the
		// process's working directory, a runc bundle's.
		if isBind(m) && !filepath.IsAbs(m.Source) {
			return fmt.Errorf("bind mount on %s: source %q is not absolute: %w", m.Destination, m.Source, errdefs.ErrInvalidArgument)
		}
	}
	if sc := spec.Linux; sc != nil && sc.Seccomp != nil && !seccomp.Enabled &&
		(sc.Seccomp.DefaultAction != "" || len(sc.Seccomp.Syscalls) > 0) {
		return fmt.Errorf("spec has a seccomp profile, but this program was built without seccomp support (needs cgo, libseccomp and the build tag %q): %w",
			"seccomp", errdefs.ErrNotImplemented)
	}
	return nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// newConfig converts spec into libcontainer's configuration of container
// id, with its cgroup at <cgroupParent>/<id> unless the spec names one.
// spec is not changed.
func newConfig(id string, spec *specs.Spec, cgroupParent string) (*configs.Config, error) {
	s := *spec
	if s.Linux != nil {
		l := *s.Linux
		s.Linux = &l
	} else {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.CgroupsPath == "" {
		s.Linux.CgroupsPath = path.Join(cgroupParent, id)
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: id,
		Spec:       &s,
	})
	if err != nil {
		return nil, fmt.Errorf("spec: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	// specconv leaves the process's own settings to the caller: runc sets
	// them on the process, this package on the container.
	for _, rl := range spec.Process.Rlimits {
		n, ok := rlimitNumber(rl.Type)
		if !ok {
			return nil, fmt.Errorf("spec: unknown rlimit %q: %w", rl.Type, errdefs.ErrInvalidArgument)
		}
		cfg.Rlimits = append(cfg.Rlimits, configs.Rlimit{Type: n, Hard: rl.Hard, Soft: rl.Soft})
	}
	cfg.AppArmorProfile = spec.Process.ApparmorProfile
	return cfg, nil
}

// newProcess returns the init process of spec, with streams.
func newProcess(spec *specs.Spec, streams *stdio, c IO) *libcontainer.Process {
	lp := execProcess(spec.Process, streams, c)
	lp.Init = true
	return lp
}

// execProcess returns the libcontainer process of p, with streams. The
// container's settings apply to what p does not set.
func execProcess(p *specs.Process, streams *stdio, c IO) *libcontainer.Process {
	lp := &libcontainer.Process{
		Args: p.Args,
		Env:  p.Env,
		Cwd:  p.Cwd,
		UID:  int(p.User.UID),
		GID:  int(p.User.GID),
	}
	if streams.terminal {
		lp.ConsoleSocket = streams.consoleChild
		w, h := c.ConsoleWidth, c.ConsoleHeight
		if (w == 0 || h == 0) && p.ConsoleSize != nil {
			w, h = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
		}
		if w != 0 && h != 0 {
			lp.ConsoleWidth, lp.ConsoleHeight = w, h
		}
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	// Set only the streams there are: a nil *os.File in an interface
	// would be taken for a file.
	if streams.in != nil {
		lp.Stdin = streams.in
	}
	if streams.out != nil {
		lp.Stdout = streams.out
	}
	if streams.err != nil {
		lp.Stderr = streams.err
	}
	return lp
}

// rlimitNumber returns the kernel's number of the spec's rlimit name.
func rlimitNumber(name string) (int, bool) {
	switch name {
	case "RLIMIT_AS":
		return unix.RLIMIT_AS, true
	case "RLIMIT_CORE":
		return unix.RLIMIT_CORE, true
	case "RLIMIT_CPU":
		return unix.RLIMIT_CPU, true
	case "RLIMIT_DATA":
		return unix.RLIMIT_DATA, true
	case "RLIMIT_FSIZE":
		return unix.RLIMIT_FSIZE, true
	case "RLIMIT_LOCKS":
		return unix.RLIMIT_LOCKS, true
	case "RLIMIT_MEMLOCK":
		return unix.RLIMIT_MEMLOCK, true
	case "RLIMIT_MSGQUEUE":
		return unix.RLIMIT_MSGQUEUE, true
	case "RLIMIT_NICE":
		return unix.RLIMIT_NICE, true
	case "RLIMIT_NOFILE":
		return unix.RLIMIT_NOFILE, true
	case "RLIMIT_NPROC":
		return unix.RLIMIT_NPROC, true
	case "RLIMIT_RSS":
		return unix.RLIMIT_RSS, true
	case "RLIMIT_RTPRIO":
		return unix.RLIMIT_RTPRIO, true
	case "RLIMIT_RTTIME":
		return unix.RLIMIT_RTTIME, true
	case "RLIMIT_SIGPENDING":
		return unix.RLIMIT_SIGPENDING, true
	case "RLIMIT_STACK":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}
