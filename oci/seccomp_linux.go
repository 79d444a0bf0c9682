package oci

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ptraceKernel reports whether the running kernel is Linux 4.8 or later,
// where a traced process can no longer get around its seccomp filter, so
// that the default profile can allow ptrace without CAP_SYS_PTRACE.
func ptraceKernel() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 4, 8)
}

// kernelAtLeast reports whether the kernel release ("6.1.0-18-amd64") is
// major.minor or later; an unparsable release is not.
func kernelAtLeast(release string, major, minor int) bool {
	f := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
