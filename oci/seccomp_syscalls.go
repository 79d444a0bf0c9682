package oci

// The default seccomp profile's syscall lists, as data. The profile denies
// every syscall with EPERM but those allowed here; DefaultSeccompProfile
// assembles them.
//
// The lists were made from the kernel's syscall tables (as golang.org/x/sys
// mirrors them) by asking of each syscall whether an ordinary program in a
// container, running as root with the default capabilities, needs it, and
// whether the kernel confines its effect to the container's namespaces and
// cgroups. They aim at the effect of Docker's and containerd's default
// profiles: same allowed set, same capability conditions.

// syscallGroup is a set of syscalls the profile treats alike.
type syscallGroup struct {
	// about says what the syscalls are for, or why they are treated so.
	about string
	// names are the syscalls, as libseccomp spells them.
	names []string
	// arches, when set, are the GOARCH values whose profile holds the
	// group; the names exist on those architectures only.
	arches []string
	// caps, when set, make the group allowed only when the spec's
	// bounding set holds one of them.
	caps []string
}

// allowedSyscalls returns the groups of syscalls every container may make.
// Names of one architecture only are fine here: a runtime ignores the names
// its architecture lacks.
func allowedSyscalls() []syscallGroup {
	return []syscallGroup{
		{about: "files: open, read, write, seek, sync, stat, copy", names: []string{
			"access", "cachestat", "close", "close_range", "copy_file_range", "creat",
			"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate",
			"fcntl", "fdatasync", "flock", "fstat", "fstatfs", "fsync", "ftruncate",
			"lseek", "lstat", "newfstatat", "open", "openat", "openat2", "pipe", "pipe2",
			"pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
			"readahead", "readv", "sendfile", "splice", "stat", "statfs", "statx", "sync",
			"sync_file_range", "syncfs", "tee", "truncate", "vmsplice", "write", "writev",
		}},
		{about: "directories, links, names and file metadata", names: []string{
			"chdir", "chmod", "chown", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown",
			"fchownat", "file_getattr", "file_setattr", "futimesat", "getcwd", "getdents", "getdents64", "lchown", "link",
			"linkat", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "readlink",
			"readlinkat", "rename", "renameat", "renameat2", "rmdir", "symlink", "symlinkat",
			"umask", "unlink", "unlinkat", "utime", "utimensat", "utimes",
		}},
		{about: "extended attributes (the kernel checks the namespace's rights)", names: []string{
			"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat",
			"lgetxattr", "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr",
			"removexattr", "removexattrat", "setxattr", "setxattrat",
		}},
		{about: "waiting on many descriptors, notifications (fanotify_init needs CAP_SYS_ADMIN)", names: []string{
			"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
			"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
			"fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1",
			"inotify_rm_watch", "poll", "ppoll", "pselect6", "select", "signalfd", "signalfd4",
		}},
		{about: "device control and asynchronous I/O; not io_uring, whose rings bypass this filter", names: []string{
			"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
			"ioctl", "ioprio_get", "ioprio_set",
		}},
		{about: "memory (NUMA policy needs CAP_SYS_NICE)", names: []string{
			"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
			"mincore", "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mremap", "mseal",
			"msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
			"pkey_mprotect", "remap_file_pages",
		}},
		{about: "processes and threads (clone is filtered by its flags; see cloneRules)", names: []string{
			"execve", "execveat", "exit", "exit_group", "fork", "get_robust_list", "getcpu",
			"getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrlimit", "getrusage",
			"getsid", "gettid", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
			"process_mrelease", "rseq", "rseq_slice_yield", "set_robust_list", "set_tid_address", "setpgid",
			"setpriority", "setrlimit", "setsid", "sysinfo", "times", "uname", "vfork",
			"wait4", "waitid",
		}},
		{about: "scheduling (the kernel checks CAP_SYS_NICE for real-time classes)", names: []string{
			"sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
			"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
			"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
			"sched_yield",
		}},
		{about: "credentials and self-confinement", names: []string{
			"capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getresgid",
			"getresuid", "getuid", "landlock_add_rule", "landlock_create_ruleset",
			"landlock_restrict_self", "seccomp", "setfsgid", "setfsuid", "setgid", "setgroups",
			"setregid", "setresgid", "setresuid", "setreuid", "setuid",
		}},
		{about: "signals", names: []string{
			"kill", "pause", "restart_syscall", "rt_sigaction", "rt_sigpending",
			"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
			"rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack", "tgkill", "tkill",
		}},
		{about: "clocks, timers and sleeping (adjtimex and clock_adjtime change the clock only with CAP_SYS_TIME)", names: []string{
			"adjtimex", "alarm", "clock_adjtime", "clock_getres", "clock_gettime",
			"clock_nanosleep", "getitimer", "gettimeofday", "nanosleep", "setitimer", "time",
			"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
			"timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
		}},
		{about: "sockets (socket itself is filtered by family; see socketRules)", names: []string{
			"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
			"listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto",
			"setsockopt", "shutdown", "socketpair",
		}},
		{about: "System V and POSIX IPC, confined by the IPC namespace", names: []string{
			"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend",
			"mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
			"semtimedop", "shmat", "shmctl", "shmdt", "shmget",
		}},
		{about: "futexes and randomness", names: []string{
			"futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "getrandom",
		}},
		{about: "mount information of the container's own mount namespace", names: []string{
			"listmount", "statmount",
		}},
		{about: "calls from the uprobe trampolines a tracer on the host planted; only those trampolines can make them", names: []string{
			"uprobe", "uretprobe",
		}},
		{about: "32-bit ABIs (x86 on amd64, arm on arm64): the old and 64-bit-time forms of the above", names: []string{
			"_llseek", "_newselect", "chown32", "clock_adjtime64", "clock_getres_time64",
			"clock_gettime64", "clock_nanosleep_time64", "fadvise64_64", "fchown32", "fcntl64",
			"fstat64", "fstatat64", "fstatfs64", "ftruncate64", "futex_time64", "getegid32",
			"geteuid32", "getgid32", "getgroups32", "getresgid32", "getresuid32", "getuid32",
			"io_pgetevents_time64", "ipc", "lchown32", "lstat64", "mmap2",
			"mq_timedreceive_time64", "mq_timedsend_time64", "ppoll_time64", "pselect6_time64",
			"recv", "recvmmsg_time64", "rt_sigtimedwait_time64", "sched_rr_get_interval_time64",
			"semtimedop_time64", "send", "sendfile64", "setfsgid32", "setfsuid32", "setgid32",
			"setgroups32", "setregid32", "setresgid32", "setresuid32", "setreuid32", "setuid32",
			"sigprocmask", "sigreturn", "socketcall", "stat64", "statfs64", "timer_gettime64",
			"timer_settime64", "timerfd_gettime64", "timerfd_settime64", "truncate64",
			"ugetrlimit", "utimensat_time64", "waitpid",
		}},
	}
}

// archSyscalls returns the groups of architecture-private syscalls every
// container on those architectures may make.
func archSyscalls() []syscallGroup {
	return []syscallGroup{
		{about: "x86 thread-local storage", arches: []string{"amd64", "386"}, names: []string{
			"get_thread_area", "set_thread_area",
		}},
		{about: "x86-64 thread state (FS/GS base)", arches: []string{"amd64"}, names: []string{
			"arch_prctl",
		}},
		{about: "x86 local descriptor table, which Wine and old threading libraries use", arches: []string{"amd64", "386"}, names: []string{
			"modify_ldt",
		}},
		{about: "arm private calls: cache flush, TLS, the argument orders of fadvise and sync_file_range", arches: []string{"arm", "arm64"}, names: []string{
			"arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
			"sync_file_range2",
		}},
		{about: "powerpc private calls", arches: []string{"ppc64le"}, names: []string{
			"swapcontext", "sync_file_range2",
		}},
		{about: "s390 private calls", arches: []string{"s390x"}, names: []string{
			"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",
		}},
		{about: "riscv private calls", arches: []string{"riscv64"}, names: []string{
			"riscv_flush_icache", "riscv_hwprobe",
		}},
	}
}

// capSyscalls returns the groups of syscalls allowed only to a container
// holding one of the capabilities: the kernel checks the capability too,
// but against the initial namespaces for most, so without it the syscall is
// pure attack surface.
func capSyscalls() []syscallGroup {
	return []syscallGroup{
		{about: "mounts, namespaces, quotas, host and domain names, fanotify", caps: []string{"CAP_SYS_ADMIN"}, names: []string{
			"clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
			"listns", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
			"lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
			"open_tree_attr", "quotactl", "quotactl_fd",
			"setdomainname", "sethostname", "setns", "umount", "umount2", "unshare",
		}},
		{about: "BPF programs and maps", caps: []string{"CAP_SYS_ADMIN", "CAP_BPF"}, names: []string{
			"bpf",
		}},
		{about: "performance counters", caps: []string{"CAP_SYS_ADMIN", "CAP_PERFMON"}, names: []string{
			"perf_event_open",
		}},
		{about: "the kernel log", caps: []string{"CAP_SYS_ADMIN", "CAP_SYSLOG"}, names: []string{
			"syslog",
		}},
		{about: "opening files by handle, which walks past the container's root", caps: []string{"CAP_DAC_READ_SEARCH"}, names: []string{
			"open_by_handle_at",
		}},
		{about: "rebooting (in a pid namespace, it ends the container)", caps: []string{"CAP_SYS_BOOT"}, names: []string{
			"reboot",
		}},
		{about: "changing root", caps: []string{"CAP_SYS_CHROOT"}, names: []string{
			"chroot",
		}},
		{about: "kernel modules", caps: []string{"CAP_SYS_MODULE"}, names: []string{
			"delete_module", "finit_module", "init_module",
		}},
		{about: "process accounting", caps: []string{"CAP_SYS_PACCT"}, names: []string{
			"acct",
		}},
		{about: "inspecting other processes (ptrace and process_vm_* are also allowed without it; see ptraceKernel)", caps: []string{"CAP_SYS_PTRACE"}, names: []string{
			"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
			"ptrace",
		}},
		{about: "I/O port access", caps: []string{"CAP_SYS_RAWIO"}, arches: []string{"amd64", "386"}, names: []string{
			"ioperm", "iopl",
		}},
		{about: "setting the clock, which is not namespaced", caps: []string{"CAP_SYS_TIME"}, names: []string{
			"clock_settime", "clock_settime64", "settimeofday", "stime",
		}},
		{about: "hanging up the terminal", caps: []string{"CAP_SYS_TTY_CONFIG"}, names: []string{
			"vhangup",
		}},
		{about: "NUMA memory policy", caps: []string{"CAP_SYS_NICE"}, names: []string{
			"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node",
		}},
	}
}

// blockedSyscalls returns syscalls the profile never allows, whatever the
// capabilities: kernel-wide state no container should touch, obsolete calls,
// and interfaces that bypass this filter or have been a steady source of
// kernel exploits. They are listed to be tested, not used: the profile
// denies what it does not allow.
func blockedSyscalls() []string {
	return []string{
		// Kernel keyrings are not namespaced.
		"add_key", "keyctl", "request_key",
		// io_uring executes operations the filter never sees.
		"io_uring_enter", "io_uring_register", "io_uring_setup",
		// Loading a new kernel.
		"kexec_file_load", "kexec_load",
		// Obsolete module and system calls.
		"afs_syscall", "bdflush", "create_module", "get_kernel_syms", "getpmsg",
		"nfsservctl", "putpmsg", "query_module", "security", "sysfs", "tuxcall", "uselib",
		"ustat", "vserver", "_sysctl",
		// Swap and mount-root changes are host-wide.
		"pivot_root", "swapoff", "swapon",
		// Page-fault handling in user space, a favourite of exploits.
		"userfaultfd",
		// Virtual 8086 mode.
		"vm86", "vm86old",
		// Memory migration between NUMA nodes of other processes.
		"migrate_pages", "move_pages",
	}
}
