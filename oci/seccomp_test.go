package oci

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

//go:generate go run gen_syscall_names.go

// armPrivate are arm's private syscalls (__ARM_NR_*), which libseccomp
// knows but golang.org/x/sys does not number, and sync_file_range2, arm's
// name for what x/sys calls arm_sync_file_range.
var armPrivate = []string{"breakpoint", "cacheflush", "set_tls", "sync_file_range2"}

// specialSyscalls are the syscalls the profile allows by rules of their
// own rather than by group.
var specialSyscalls = []string{"clone", "clone3", "personality", "process_vm_readv", "process_vm_writev", "ptrace", "socket"}

// groupArches returns the GOARCHes whose syscall tables a group's names are
// checked against.
func groupArches(g syscallGroup) []string {
	if len(g.arches) > 0 {
		return g.arches
	}
	return []string{"amd64", "arm64", "386", "arm"}
}

func allGroups() []syscallGroup {
	return slices.Concat(allowedSyscalls(), archSyscalls(), capSyscalls())
}

func TestSeccompGroupsKnownSyscalls(t *testing.T) {
	tables := syscallNames()
	known := func(arches []string, name string) bool {
		for _, a := range arches {
			if slices.Contains(tables[a], name) || (a == "arm" || a == "arm64") && slices.Contains(armPrivate, name) {
				return true
			}
		}
		return false
	}
	for _, g := range allGroups() {
		if g.about == "" || len(g.names) == 0 {
			t.Errorf("group %+v: no description or no names", g)
		}
		for _, n := range g.names {
			if !known(groupArches(g), n) {
				t.Errorf("group %q: %q is not a syscall of %v", g.about, n, groupArches(g))
			}
		}
	}
	for _, n := range blockedSyscalls() {
		if !known([]string{"amd64", "arm64", "386", "arm"}, n) {
			t.Errorf("blocked %q is not a syscall", n)
		}
	}
	for _, n := range specialSyscalls {
		if !known([]string{"amd64"}, n) {
			t.Errorf("special %q is not an amd64 syscall", n)
		}
	}
}

func TestSeccompGroupsNoDuplicates(t *testing.T) {
	for goarch := range syscallNames() {
		seen := map[string]string{}
		for _, g := range allGroups() {
			if len(g.arches) > 0 && !slices.Contains(g.arches, goarch) {
				continue
			}
			for _, n := range g.names {
				if prev, ok := seen[n]; ok {
					t.Errorf("%s: %q in group %q and in group %q", goarch, n, prev, g.about)
				}
				seen[n] = g.about
			}
		}
		for _, n := range slices.Concat(blockedSyscalls(), specialSyscalls) {
			if prev, ok := seen[n]; ok && !(n == "clone3" || slices.Contains([]string{"ptrace", "process_vm_readv", "process_vm_writev"}, n)) {
				t.Errorf("%s: %q is blocked or special but in group %q", goarch, n, prev)
			}
		}
	}
	blocked := blockedSyscalls()
	if len(slices.Compact(slices.Sorted(slices.Values(blocked)))) != len(blocked) {
		t.Errorf("blockedSyscalls has duplicates")
	}
}

// TestSeccompEverySyscallDecided checks that each syscall of amd64 and
// arm64 is allowed, allowed with a capability, handled by a rule of its
// own, or blocked on purpose: a syscall new in x/sys fails here until it
// is put in a list.
func TestSeccompEverySyscallDecided(t *testing.T) {
	decided := slices.Concat(blockedSyscalls(), specialSyscalls, []string{"arch_specific_syscall"})
	for _, g := range allGroups() {
		decided = append(decided, g.names...)
	}
	for _, goarch := range []string{"amd64", "arm64"} {
		for _, n := range syscallNames()[goarch] {
			if !slices.Contains(decided, n) {
				t.Errorf("%s syscall %q is in no list of seccomp_syscalls.go", goarch, n)
			}
		}
	}
}

// allowedNames returns the syscalls the profile allows unconditionally.
func allowedNames(p *specs.LinuxSeccomp) []string {
	var out []string
	for _, s := range p.Syscalls {
		if s.Action == specs.ActAllow && len(s.Args) == 0 {
			out = append(out, s.Names...)
		}
	}
	return out
}

// rulesOf returns the rules naming syscall name.
func rulesOf(p *specs.LinuxSeccomp, name string) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, s := range p.Syscalls {
		if slices.Contains(s.Names, name) {
			out = append(out, s)
		}
	}
	return out
}

func TestDefaultSeccompProfileShape(t *testing.T) {
	p := defaultSeccompProfile(DefaultCapabilities(), "amd64", true)
	if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
		t.Errorf("default action %s errno %v, want SCMP_ACT_ERRNO EPERM", p.DefaultAction, p.DefaultErrnoRet)
	}
	if want := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}; !slices.Equal(p.Architectures, want) {
		t.Errorf("architectures %v, want %v", p.Architectures, want)
	}
	names := allowedNames(p)
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("allowed names not sorted and unique")
	}
	for _, n := range []string{"read", "openat", "execve", "epoll_wait", "futex", "mmap", "rt_sigaction",
		"clock_gettime", "bind", "shmget", "arch_prctl", "chroot", "ptrace", "fstat64", "socketcall", "capset"} {
		if !slices.Contains(names, n) {
			t.Errorf("%q not allowed by the default profile", n)
		}
	}
	for _, n := range slices.Concat(blockedSyscalls(), []string{"mount", "umount2", "unshare", "setns", "bpf",
		"perf_event_open", "kcmp", "init_module", "reboot", "settimeofday", "iopl", "syslog", "open_by_handle_at",
		"mbind", "acct", "vhangup", "clone", "clone3", "socket", "personality", "set_tls"}) {
		if slices.Contains(names, n) {
			t.Errorf("%q allowed without condition by the default profile", n)
		}
	}
	if r := rulesOf(p, "socket"); len(r) != 3 {
		t.Errorf("socket rules %+v, want 3", r)
	}
	var pers []uint64
	for _, r := range rulesOf(p, "personality") {
		if r.Action != specs.ActAllow || len(r.Args) != 1 || r.Args[0].Op != specs.OpEqualTo {
			t.Errorf("personality rule %+v", r)
			continue
		}
		pers = append(pers, r.Args[0].Value)
	}
	if !slices.Equal(pers, []uint64{0, 8, 0x20000, 0x20008, 0xffffffff}) {
		t.Errorf("personality values %#x", pers)
	}
	clone := rulesOf(p, "clone")
	if len(clone) != 1 || len(clone[0].Args) != 1 || clone[0].Args[0] != (specs.LinuxSeccompArg{Index: 0, Value: 0x7E020000, Op: specs.OpMaskedEqual}) {
		t.Errorf("clone rules %+v, want one masked with 0x7E020000", clone)
	}
	clone3 := rulesOf(p, "clone3")
	if len(clone3) != 1 || clone3[0].Action != specs.ActErrno || clone3[0].ErrnoRet == nil || *clone3[0].ErrnoRet != 38 {
		t.Errorf("clone3 rules %+v, want ENOSYS", clone3)
	}
	t.Logf("amd64, default capabilities: %d syscalls allowed, %d rules", len(names), len(p.Syscalls))
}

// TestDefaultSeccompProfileCapabilities checks that each capability group
// is allowed with one of its capabilities and only then.
func TestDefaultSeccompProfileCapabilities(t *testing.T) {
	base := allowedNames(defaultSeccompProfile(nil, "amd64", false))
	for _, g := range capSyscalls() {
		for _, n := range g.names {
			if slices.Contains(base, n) {
				t.Errorf("%q (%v) allowed without capabilities", n, g.caps)
			}
		}
		for _, c := range g.caps {
			names := allowedNames(defaultSeccompProfile([]string{c}, "amd64", false))
			for _, n := range g.names {
				if !slices.Contains(names, n) {
					t.Errorf("%q not allowed with %s", n, c)
				}
			}
		}
	}
	all := defaultSeccompProfile(AllCapabilities(), "amd64", false)
	names := allowedNames(all)
	for _, n := range []string{"clone", "clone3", "mount", "bpf", "ptrace", "kcmp", "iopl"} {
		if !slices.Contains(names, n) {
			t.Errorf("%q not allowed with every capability", n)
		}
	}
	for _, n := range blockedSyscalls() {
		if slices.Contains(names, n) {
			t.Errorf("blocked %q allowed with every capability", n)
		}
	}
	if r := rulesOf(all, "clone3"); len(r) != 1 || r[0].Action != specs.ActAllow {
		t.Errorf("clone3 with CAP_SYS_ADMIN: %+v, want one allow rule", r)
	}
	if r := rulesOf(all, "clone"); len(r) != 1 || len(r[0].Args) != 0 {
		t.Errorf("clone with CAP_SYS_ADMIN: %+v, want one unconditional rule", r)
	}
	t.Logf("amd64, every capability: %d syscalls allowed", len(names))
}

func TestDefaultSeccompProfileArches(t *testing.T) {
	for _, tc := range []struct {
		goarch  string
		arches  []specs.Arch
		has     []string
		hasNot  []string
		cloneAt uint
		enosys  uint
	}{
		{"amd64", []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, []string{"arch_prctl", "modify_ldt", "set_thread_area"}, []string{"set_tls", "riscv_hwprobe"}, 0, 38},
		{"arm64", []specs.Arch{specs.ArchAARCH64, specs.ArchARM}, []string{"set_tls", "cacheflush", "sync_file_range2"}, []string{"arch_prctl", "modify_ldt"}, 0, 38},
		{"s390x", []specs.Arch{specs.ArchS390X, specs.ArchS390}, []string{"s390_runtime_instr"}, []string{"arch_prctl"}, 1, 38},
		{"riscv64", []specs.Arch{specs.ArchRISCV64}, []string{"riscv_hwprobe"}, nil, 0, 38},
		{"mips64le", []specs.Arch{specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchMIPSEL}, nil, nil, 0, 89},
		{"wasm", nil, nil, []string{"arch_prctl"}, 0, 38},
	} {
		p := defaultSeccompProfile(DefaultCapabilities(), tc.goarch, true)
		if !slices.Equal(p.Architectures, tc.arches) {
			t.Errorf("%s: architectures %v, want %v", tc.goarch, p.Architectures, tc.arches)
		}
		names := allowedNames(p)
		for _, n := range tc.has {
			if !slices.Contains(names, n) {
				t.Errorf("%s: %q not allowed", tc.goarch, n)
			}
		}
		for _, n := range tc.hasNot {
			if slices.Contains(names, n) {
				t.Errorf("%s: %q allowed", tc.goarch, n)
			}
		}
		if c := rulesOf(p, "clone"); len(c) != 1 || c[0].Args[0].Index != tc.cloneAt {
			t.Errorf("%s: clone rules %+v, want flags at argument %d", tc.goarch, c, tc.cloneAt)
		}
		if c := rulesOf(p, "clone3"); len(c) != 1 || *c[0].ErrnoRet != tc.enosys {
			t.Errorf("%s: clone3 rules %+v, want errno %d", tc.goarch, c, tc.enosys)
		}
	}
}

func TestDefaultSeccompProfilePtraceKernel(t *testing.T) {
	for _, safe := range []bool{false, true} {
		names := allowedNames(defaultSeccompProfile(DefaultCapabilities(), "amd64", safe))
		for _, n := range []string{"ptrace", "process_vm_readv", "process_vm_writev"} {
			if slices.Contains(names, n) != safe {
				t.Errorf("ptrace-safe kernel %v: %q allowed = %v", safe, n, !safe)
			}
		}
		if slices.Contains(names, "kcmp") {
			t.Errorf("kcmp allowed without CAP_SYS_PTRACE")
		}
	}
}
