package oci

import (
	"context"
	"slices"
	"strings"

	"github.com/daemonless/containerd/containers"
)

// AllCapabilities returns the name of every Linux capability this package
// knows, in the kernel's order (CAP_CHOWN is 0, CAP_CHECKPOINT_RESTORE 40).
// A runtime skips those its kernel does not have.
func AllCapabilities() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_DAC_READ_SEARCH",
		"CAP_FOWNER",
		"CAP_FSETID",
		"CAP_KILL",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETPCAP",
		"CAP_LINUX_IMMUTABLE",
		"CAP_NET_BIND_SERVICE",
		"CAP_NET_BROADCAST",
		"CAP_NET_ADMIN",
		"CAP_NET_RAW",
		"CAP_IPC_LOCK",
		"CAP_IPC_OWNER",
		"CAP_SYS_MODULE",
		"CAP_SYS_RAWIO",
		"CAP_SYS_CHROOT",
		"CAP_SYS_PTRACE",
		"CAP_SYS_PACCT",
		"CAP_SYS_ADMIN",
		"CAP_SYS_BOOT",
		"CAP_SYS_NICE",
		"CAP_SYS_RESOURCE",
		"CAP_SYS_TIME",
		"CAP_SYS_TTY_CONFIG",
		"CAP_MKNOD",
		"CAP_LEASE",
		"CAP_AUDIT_WRITE",
		"CAP_AUDIT_CONTROL",
		"CAP_SETFCAP",
		"CAP_MAC_OVERRIDE",
		"CAP_MAC_ADMIN",
		"CAP_SYSLOG",
		"CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND",
		"CAP_AUDIT_READ",
		"CAP_PERFMON",
		"CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	}
}

// DefaultCapabilities returns the capabilities of the default spec, those
// containerd and Docker give a container: what a root process needs to set
// up its own files, users and ports, nothing that reaches the host.
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

// normalizeCaps returns caps spelt as the kernel does ("net_admin" and
// "NET_ADMIN" become "CAP_NET_ADMIN"), without duplicates, "ALL" standing
// for AllCapabilities. An unknown name is an InvalidArgument error of opt.
func normalizeCaps(opt string, caps []string) ([]string, error) {
	all := AllCapabilities()
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		n := strings.ToUpper(strings.TrimSpace(c))
		if n == "ALL" {
			for _, a := range all {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
			continue
		}
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if !slices.Contains(all, n) {
			return nil, invalid(opt, "unknown capability %q", c)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// WithCapabilities sets the process's bounding, permitted and effective
// capability sets to caps, and drops from its inheritable and ambient sets
// what caps lacks. Names are taken with or without "CAP_", in any case;
// "ALL" stands for AllCapabilities. Default: DefaultCapabilities. An
// unknown name is an InvalidArgument error.
func WithCapabilities(caps []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		norm, err := normalizeCaps("WithCapabilities", caps)
		if err != nil {
			return err
		}
		setCapabilities(s)
		pc := s.Process.Capabilities
		pc.Bounding = slices.Clone(norm)
		pc.Permitted = slices.Clone(norm)
		pc.Effective = slices.Clone(norm)
		notIn := func(c string) bool { return !slices.Contains(norm, c) }
		pc.Inheritable = slices.DeleteFunc(pc.Inheritable, notIn)
		pc.Ambient = slices.DeleteFunc(pc.Ambient, notIn)
		return nil
	}
}

// WithAddedCapabilities adds caps to the process's bounding, permitted and
// effective sets. Names are taken as by WithCapabilities.
func WithAddedCapabilities(caps []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		norm, err := normalizeCaps("WithAddedCapabilities", caps)
		if err != nil {
			return err
		}
		setCapabilities(s)
		pc := s.Process.Capabilities
		for _, set := range []*[]string{&pc.Bounding, &pc.Permitted, &pc.Effective} {
			for _, c := range norm {
				if !slices.Contains(*set, c) {
					*set = append(*set, c)
				}
			}
		}
		return nil
	}
}

// WithDroppedCapabilities removes caps from every capability set of the
// process. Names are taken as by WithCapabilities; "ALL" drops them all.
func WithDroppedCapabilities(caps []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		norm, err := normalizeCaps("WithDroppedCapabilities", caps)
		if err != nil {
			return err
		}
		setCapabilities(s)
		pc := s.Process.Capabilities
		in := func(c string) bool { return slices.Contains(norm, c) }
		for _, set := range []*[]string{&pc.Bounding, &pc.Permitted, &pc.Effective, &pc.Inheritable, &pc.Ambient} {
			*set = slices.DeleteFunc(*set, in)
		}
		return nil
	}
}

// WithAmbientCapabilities sets the process's inheritable and ambient sets
// to caps, so that a process running as a user other than root keeps them
// across execve. They must also be in the bounding and permitted sets
// (WithAddedCapabilities). Default: none. Names are taken as by
// WithCapabilities.
func WithAmbientCapabilities(caps []string) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		norm, err := normalizeCaps("WithAmbientCapabilities", caps)
		if err != nil {
			return err
		}
		setCapabilities(s)
		s.Process.Capabilities.Inheritable = slices.Clone(norm)
		s.Process.Capabilities.Ambient = slices.Clone(norm)
		return nil
	}
}
