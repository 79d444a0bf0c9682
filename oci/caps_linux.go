package oci

import "golang.org/x/sys/unix"

// CurrentCapabilities returns the capabilities of AllCapabilities the
// calling process has in its effective set: all a container it starts can
// be given (WithPrivileged gives these). It returns AllCapabilities if the
// set cannot be read.
func CurrentCapabilities() []string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return AllCapabilities()
	}
	var out []string
	for i, name := range AllCapabilities() {
		if data[i/32].Effective&(1<<(uint(i)%32)) != 0 {
			out = append(out, name)
		}
	}
	return out
}
