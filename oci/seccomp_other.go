//go:build !linux

package oci

// ptraceKernel reports false off Linux: the kernel the spec runs on is not
// known.
func ptraceKernel() bool { return false }
