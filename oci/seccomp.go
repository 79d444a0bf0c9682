package oci

import (
	"context"
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
)

// WithDefaultSeccompProfile confines the process with DefaultSeccompProfile
// of the spec as it is then: apply it after the options that change
// capabilities, as the profile allows some syscalls only with them.
// Default: no seccomp profile (as containerd; Docker sets this one).
func WithDefaultSeccompProfile(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	setLinux(s)
	s.Linux.Seccomp = DefaultSeccompProfile(s)
	return nil
}

// WithSeccompUnconfined removes the spec's seccomp profile. Default: none.
func WithSeccompUnconfined(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
	if s.Linux != nil {
		s.Linux.Seccomp = nil
	}
	return nil
}

// DefaultSeccompProfile returns a seccomp profile with the effect of
// Docker's and containerd's default ones, for the host's architecture (and
// its 32-bit companions: x86 and x32 on amd64, arm on arm64) and the
// capabilities of s's bounding set. s is not changed.
//
// Every syscall fails with EPERM but:
//
//   - the several hundred an ordinary program uses: files, memory,
//     processes, signals, time, sockets, IPC, epoll (not io_uring);
//   - socket, for every address family but AF_VSOCK, which reaches the
//     hypervisor whatever the network namespace, and AF_ALG, the kernel's
//     crypto interface;
//   - personality, for the Linux personas only (no turning off address
//     space randomisation);
//   - clone, without the flags making new namespaces unless the spec has
//     CAP_SYS_ADMIN; clone3, whose flags a filter cannot see, fails with
//     ENOSYS instead unless the spec has CAP_SYS_ADMIN, so that the C
//     library falls back to clone;
//   - ptrace and process_vm_readv/writev, on Linux 4.8 and later, where
//     ptrace can no longer get around the filter;
//   - syscalls allowed only with a capability in the bounding set:
//     CAP_SYS_ADMIN (mount, umount2, unshare, setns, sethostname, bpf,
//     perf_event_open, ...), CAP_SYS_PTRACE (kcmp, pidfd_getfd,
//     process_madvise), CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_NICE (NUMA
//     policy), CAP_SYS_BOOT, CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PACCT,
//     CAP_SYS_TTY_CONFIG, CAP_SYSLOG, CAP_BPF, CAP_PERFMON,
//     CAP_DAC_READ_SEARCH (open_by_handle_at).
//
// Never allowed: the keyring calls, io_uring, kexec, userfaultfd,
// pivot_root, swapon/swapoff, vm86 and obsolete calls (nfsservctl, uselib,
// _sysctl, ...).
func DefaultSeccompProfile(s *Spec) *specs.LinuxSeccomp {
	var caps []string
	if s != nil && s.Process != nil && s.Process.Capabilities != nil {
		caps = s.Process.Capabilities.Bounding
	}
	return defaultSeccompProfile(caps, runtime.GOARCH, ptraceKernel())
}

// Numbers the profile uses, the same on every architecture it supports
// but mips, where ENOSYS is 89.
const (
	errnoEPERM      = 1
	errnoENOSYS     = 38
	errnoENOSYSMips = 89

	// afALG and afVSOCK are the socket families denied; the rules rely on
	// AF_NFC (39) being the only family between them.
	afALG   = 38
	afVSOCK = 40

	// cloneNamespaceFlags are clone's flags that make namespaces:
	// CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	// CLONE_NEWUSER, CLONE_NEWPID and CLONE_NEWNET.
	cloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 |
		0x10000000 | 0x20000000 | 0x40000000
)

// personalities are the personality(2) arguments allowed: PER_LINUX,
// PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff, which only
// queries.
func personalities() []uint64 {
	return []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}
}

// seccompArches returns the seccomp architectures of a GOARCH: the native
// one and those of the 32-bit programs it runs.
func seccompArches(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	case "ppc64le":
		return []specs.Arch{specs.ArchPPC64LE}
	case "s390x":
		return []specs.Arch{specs.ArchS390X, specs.ArchS390}
	case "riscv64":
		return []specs.Arch{specs.ArchRISCV64}
	case "loong64":
		return []specs.Arch{specs.ArchLOONGARCH64}
	case "mips64le":
		return []specs.Arch{specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchMIPSEL}
	case "mips64":
		return []specs.Arch{specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPS}
	case "mipsle":
		return []specs.Arch{specs.ArchMIPSEL}
	case "mips":
		return []specs.Arch{specs.ArchMIPS}
	}
	return nil
}

// applies reports whether a group is in the profile of goarch with caps.
func (g syscallGroup) applies(goarch string, caps []string) bool {
	if len(g.arches) > 0 && !slices.Contains(g.arches, goarch) {
		return false
	}
	if len(g.caps) > 0 && !slices.ContainsFunc(g.caps, func(c string) bool { return slices.Contains(caps, c) }) {
		return false
	}
	return true
}

// defaultSeccompProfile builds the default profile for goarch, with the
// capabilities caps, on a kernel where ptrace is safe or not.
func defaultSeccompProfile(caps []string, goarch string, ptraceSafe bool) *specs.LinuxSeccomp {
	sysAdmin := slices.Contains(caps, "CAP_SYS_ADMIN")
	var names []string
	for _, list := range [][]syscallGroup{allowedSyscalls(), archSyscalls(), capSyscalls()} {
		for _, g := range list {
			if g.applies(goarch, caps) {
				names = append(names, g.names...)
			}
		}
	}
	if ptraceSafe {
		names = append(names, "ptrace", "process_vm_readv", "process_vm_writev")
	}
	if sysAdmin {
		names = append(names, "clone")
	}
	slices.Sort(names)
	names = slices.Compact(names)

	eperm := uint(errnoEPERM)
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   seccompArches(goarch),
		Syscalls:        []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	allowIf := func(name string, args ...specs.LinuxSeccompArg) {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: args})
	}

	// socket: every family below AF_ALG, AF_NFC between, every one above
	// AF_VSOCK. The rules of one syscall are alternatives.
	allowIf("socket", specs.LinuxSeccompArg{Index: 0, Value: afALG, Op: specs.OpLessThan})
	allowIf("socket", specs.LinuxSeccompArg{Index: 0, Value: afALG + 1, Op: specs.OpEqualTo})
	allowIf("socket", specs.LinuxSeccompArg{Index: 0, Value: afVSOCK, Op: specs.OpGreaterThan})

	for _, v := range personalities() {
		allowIf("personality", specs.LinuxSeccompArg{Index: 0, Value: v, Op: specs.OpEqualTo})
	}

	if !sysAdmin {
		// clone's flags are its first argument, but its second on s390.
		idx := uint(0)
		if goarch == "s390x" {
			idx = 1
		}
		allowIf("clone", specs.LinuxSeccompArg{Index: idx, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual})
		enosys := uint(errnoENOSYS)
		switch goarch {
		case "mips", "mipsle", "mips64", "mips64le":
			enosys = errnoENOSYSMips
		}
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys})
	}
	return p
}
