//go:build !linux

package oci

// CurrentCapabilities returns AllCapabilities: where the process's
// capabilities cannot be read, a privileged spec asks for all of them.
func CurrentCapabilities() []string { return AllCapabilities() }
