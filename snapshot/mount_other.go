//go:build !linux

package snapshot

import (
	"fmt"

	"github.com/containerd/errdefs"
)

// Mount mounts m on target. Mounting is implemented on Linux only.
func (m Mount) Mount(target string) error {
	return fmt.Errorf("mount %s %s on %s: %w", m.Type, m.Source, target, errdefs.ErrNotImplemented)
}

// MountAll mounts mounts in order on target. Mounting is implemented on
// Linux only.
func MountAll(mounts []Mount, target string) error {
	return fmt.Errorf("mount on %s: %w", target, errdefs.ErrNotImplemented)
}

// UnmountAll unmounts every mount at or below target. Mounting is
// implemented on Linux only.
func UnmountAll(target string) error {
	return fmt.Errorf("unmount %s: %w", target, errdefs.ErrNotImplemented)
}
