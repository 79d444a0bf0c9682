package oci

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release string
		want    bool
	}{
		{"4.8.0", true},
		{"4.7.10", false},
		{"3.19.0-generic", false},
		{"6.1.0-18-amd64", true},
		{"5.4", true},
		{"10.0-rc1", true},
		{"4", false},
		{"", false},
		{"garbage", false},
	} {
		if got := kernelAtLeast(tc.release, 4, 8); got != tc.want {
			t.Errorf("kernelAtLeast(%q, 4, 8) = %v, want %v", tc.release, got, tc.want)
		}
	}
}

// TestSeccompConstants checks the profile's numbers against the kernel's.
func TestSeccompConstants(t *testing.T) {
	if afALG != unix.AF_ALG || afVSOCK != unix.AF_VSOCK || afVSOCK-afALG != 2 {
		t.Errorf("afALG %d, afVSOCK %d; kernel %d, %d", afALG, afVSOCK, unix.AF_ALG, unix.AF_VSOCK)
	}
	ns := unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
		unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET
	if cloneNamespaceFlags != ns {
		t.Errorf("cloneNamespaceFlags %#x, want %#x", cloneNamespaceFlags, ns)
	}
	if errnoEPERM != int(unix.EPERM) {
		t.Errorf("errnoEPERM %d, want %d", errnoEPERM, unix.EPERM)
	}
	want := errnoENOSYS
	switch runtime.GOARCH {
	case "mips", "mipsle", "mips64", "mips64le":
		want = errnoENOSYSMips
	}
	if want != int(unix.ENOSYS) {
		t.Errorf("ENOSYS %d, want %d", want, unix.ENOSYS)
	}
	if !ptraceKernel() {
		t.Logf("kernel older than 4.8: ptrace needs CAP_SYS_PTRACE")
	}
}
