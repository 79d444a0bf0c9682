package snapshot

import (
	"strings"
)

// Mount says how to mount one filesystem, in the terms of mount(8):
// mount -t Type -o Options Source TARGET.
type Mount struct {
	// Type is the filesystem type: "overlay", "bind", ...
	Type string
	// Source is the device or directory mounted; "overlay" for overlays.
	Source string
	// Target, when set, is a path below the target the mounts are
	// mounted into; empty for the target itself.
	Target string
	// Options are mount options: "ro", "rbind", "lowerdir=...", ...
	Options []string
}

// ReadOnly reports whether the mount is read-only.
func (m Mount) ReadOnly() bool {
	for _, o := range m.Options {
		if o == "ro" {
			return true
		}
	}
	return false
}

// Option returns the value of the option "name=value" and whether it is
// there.
func (m Mount) Option(name string) (string, bool) {
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, name+"="); ok {
			return v, true
		}
	}
	return "", false
}
