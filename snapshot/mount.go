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
	return hasAny(m.Options, "ro")
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

// MountCommand returns a shell command line that mounts mounts on target
// as MountAll would, for a user to run by hand: one mount(8) call per
// mount, joined by &&, with paths quoted for a POSIX shell.
func MountCommand(mounts []Mount, target string) string {
	cmds := make([]string, 0, len(mounts))
	for _, m := range mounts {
		dst := target
		if m.Target != "" {
			dst = strings.TrimSuffix(target, "/") + "/" + m.Target
		}
		args := []string{"mount"}
		opts := m.Options
		if m.Type == "bind" {
			if !hasAny(opts, "bind", "rbind") {
				opts = append([]string{"bind"}, opts...)
			}
		} else {
			args = append(args, "-t", shellQuote(m.Type), shellQuote(m.Source))
		}
		if len(opts) > 0 {
			args = append(args, "-o", shellQuote(strings.Join(opts, ",")))
		}
		if m.Type == "bind" {
			args = append(args, shellQuote(m.Source))
		}
		cmds = append(cmds, strings.Join(append(args, shellQuote(dst)), " "))
	}
	return strings.Join(cmds, " && ")
}

func hasAny(opts []string, names ...string) bool {
	for _, o := range opts {
		for _, n := range names {
			if o == n {
				return true
			}
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that need no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
