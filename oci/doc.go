// Package oci provides the OCI runtime specs containers run with:
// GenerateSpec makes containerd's default spec and applies options
// (SpecOpts) to it, as containerd's oci package does for its users.
//
// It makes specs only. Running them is the runtime's job, storing them the
// container store's; the package never changes a container record.
//
// # Defaults
//
// The default spec (see GenerateSpec) is containerd's: a process running
// as root with the 14 capabilities containerd and Docker grant
// (DefaultCapabilities) and no_new_privs set, RLIMIT_NOFILE 1024:1024,
// new pid, ipc, uts, mount and network namespaces (the runtime brings up
// only loopback in the network one), /proc, /dev, /dev/pts, /dev/shm,
// /dev/mqueue, /sys (read-only), /run and /sys/fs/cgroup (read-only)
// mounted (DefaultMounts), the kernel's host-wide files under /proc and
// /sys masked or read-only, every device denied but the runtime's
// standard ones. It sets no args: WithImageConfig or WithProcessArgs must.
// It sets no seccomp profile, as containerd; WithDefaultSeccompProfile adds
// one with the effect of Docker's default profile.
//
// # Options
//
// Options are applied in order, and a later option wins where two set the
// same field: apply WithImageConfig first and the caller's own options
// (WithProcessArgs, WithEnv, WithUser, ...) after it, and
// WithDefaultSeccompProfile after the options that change capabilities,
// since the profile allows some syscalls only with them. Each option
// checks its arguments and fails with an errdefs InvalidArgument error
// naming the option and the bad value; an option that fails may have
// changed the spec already, so discard it.
//
// # Reading the root filesystem
//
// WithUser, WithUserID, WithUsername, WithAdditionalGIDs and
// WithImageConfig look user and group names up in /etc/passwd and
// /etc/group of the container's root filesystem. That is the image's, so
// untrusted: a hostile image can make /etc/passwd a symbolic link to the
// host's /etc/shadow, a device or a FIFO, or make it huge. The package
// therefore
//
//   - finds the root filesystem from the container's snapshot, through the
//     Client's snapshotter: a single bind mount (the native snapshotter) is
//     read in place, any other mounts (overlay) are mounted read-only,
//     nosuid, nodev and noexec on a temporary directory, which needs the
//     privilege to mount, and unmounted afterwards. A container without a
//     snapshot is read at the spec's root path when it is absolute;
//   - resolves every path inside that root, as the container itself would
//     (openat2 with RESOLVE_IN_ROOT): "..", and symbolic links, absolute
//     ones too, never leave it;
//   - opens only regular files for reading (a path is opened O_PATH and
//     checked first, so no device is ever opened), reads at most 1 MiB of
//     each and rejects lines over 64 KiB.
//
// A missing file is as good as an empty one: a numeric user needs no entry
// (its gid is then 0), while a name must have one (NotFound otherwise).
// Options given only numbers (WithUser("1000:1000"), WithUIDGID) read
// nothing when there is no root filesystem.
package oci
