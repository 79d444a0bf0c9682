package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/snapshot"
)

// hasRootFS reports whether options can read the container's root
// filesystem: it has a snapshot, or the spec's root is an absolute path.
func hasRootFS(c *containers.Container, s *Spec) bool {
	return (c != nil && c.SnapshotKey != "") || (s.Root != nil && filepath.IsAbs(s.Root.Path))
}

// withRootFS calls fn with a host directory holding the container's root
// filesystem, read-only as far as fn is concerned:
//
//   - with a snapshot whose mounts are a single bind mount, the mount's
//     source directory; likewise with an overlay of one layer whose upper
//     directory is empty (a new container's snapshot), that layer's
//     directory;
//   - with any other snapshot, a temporary directory the mounts are mounted
//     on read-only (and nosuid, nodev, noexec), unmounted and removed when
//     fn returns; this needs the privileges to mount;
//   - without a snapshot, the spec's root path when it is absolute.
//
// Without either it is a FailedPrecondition error. The directory is the
// image's, so untrusted: fn must resolve paths in it with readRootFile.
func withRootFS(ctx context.Context, client Client, c *containers.Container, s *Spec, fn func(root string) error) error {
	if c == nil || c.SnapshotKey == "" {
		if s.Root != nil && filepath.IsAbs(s.Root.Path) {
			return fn(s.Root.Path)
		}
		return fmt.Errorf("oci: the container has no snapshot and the spec's root %q is not an absolute path: no root filesystem to read: %w",
			rootPath(s), errdefs.ErrFailedPrecondition)
	}
	if client == nil {
		return fmt.Errorf("oci: container %s: no client to read snapshot %q with: %w", c.ID, c.SnapshotKey, errdefs.ErrFailedPrecondition)
	}
	sn := client.SnapshotService(c.Snapshotter)
	if sn == nil {
		return fmt.Errorf("oci: container %s: snapshotter %q: %w", c.ID, c.Snapshotter, errdefs.ErrNotFound)
	}
	mounts, err := sn.Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return fmt.Errorf("oci: container %s: mounts of snapshot %q: %w", c.ID, c.SnapshotKey, err)
	}
	if len(mounts) == 0 {
		return fmt.Errorf("oci: container %s: snapshot %q has no mounts: %w", c.ID, c.SnapshotKey, errdefs.ErrFailedPrecondition)
	}
	ro := readOnlyMounts(withoutEmptyUpper(mounts))
	if len(ro) == 1 && isBind(ro[0]) && ro[0].Target == "" {
		return fn(ro[0].Source)
	}
	dir, err := os.MkdirTemp("", "dctr-rootfs-")
	if err != nil {
		return fmt.Errorf("oci: container %s: %w", c.ID, err)
	}
	if err := snapshot.MountAll(ro, dir); err != nil {
		os.Remove(dir)
		return fmt.Errorf("oci: container %s: read snapshot %q: %w", c.ID, c.SnapshotKey, err)
	}
	ferr := fn(dir)
	uerr := snapshot.UnmountAll(dir)
	if uerr == nil {
		uerr = os.Remove(dir)
	}
	if uerr != nil {
		uerr = fmt.Errorf("oci: container %s: release snapshot %q: %w", c.ID, c.SnapshotKey, uerr)
	}
	return errors.Join(ferr, uerr)
}

func rootPath(s *Spec) string {
	if s.Root == nil {
		return ""
	}
	return s.Root.Path
}

func isBind(m snapshot.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// withoutEmptyUpper returns mounts with the upper and work directories of
// an overlay whose upper directory is empty left out: a new container's
// snapshot, which adds nothing to its layers yet. Read-only, such an
// overlay of one layer is that layer's directory, read without mounting
// anything.
func withoutEmptyUpper(mounts []snapshot.Mount) []snapshot.Mount {
	out := make([]snapshot.Mount, len(mounts))
	for i, m := range mounts {
		out[i] = m
		upper, hasUpper := m.Option("upperdir")
		if _, hasLower := m.Option("lowerdir"); m.Type == "overlay" && hasUpper && hasLower && emptyDir(upper) {
			out[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool {
				return strings.HasPrefix(o, "upperdir=") || strings.HasPrefix(o, "workdir=")
			})
		}
	}
	return out
}

// emptyDir reports whether dir is a directory with nothing in it.
func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// readOnlyMounts returns mounts changed to mount read-only, nosuid, nodev
// and noexec. An overlay loses its upper and work directories, the upper
// one becoming the top lower layer, so that it never shares them with the
// container's own mount; an overlay left with one layer becomes a bind
// mount of it.
func readOnlyMounts(mounts []snapshot.Mount) []snapshot.Mount {
	out := make([]snapshot.Mount, 0, len(mounts))
	for _, m := range mounts {
		if m.Type == "overlay" {
			upper, hasUpper := m.Option("upperdir")
			lower, _ := m.Option("lowerdir")
			if hasUpper {
				if lower == "" {
					lower = upper
				} else {
					lower = upper + ":" + lower
				}
			}
			opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool {
				return strings.HasPrefix(o, "upperdir=") || strings.HasPrefix(o, "workdir=") ||
					strings.HasPrefix(o, "lowerdir=")
			})
			if !strings.Contains(strings.ReplaceAll(lower, `\:`, ""), ":") {
				m = snapshot.Mount{Type: "bind", Source: strings.ReplaceAll(lower, `\:`, ":"), Target: m.Target, Options: []string{"rbind"}}
			} else {
				m.Options = append(opts, "lowerdir="+lower)
			}
		} else {
			m.Options = slices.Clone(m.Options)
		}
		m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "rw" })
		for _, o := range []string{"ro", "nosuid", "nodev", "noexec"} {
			if !slices.Contains(m.Options, o) {
				m.Options = append(m.Options, o)
			}
		}
		out = append(out, m)
	}
	return out
}

// readRootFile returns the contents of the regular file name below root,
// name being resolved as if root were "/": ".." stops at root and symbolic
// links, absolute ones too, are followed inside root, never to the host.
// A file that does not exist (or below something that is not a directory)
// is an error wrapping fs.ErrNotExist; anything but a regular file is a
// FailedPrecondition error, and one larger than limit an OutOfRange error.
// Devices, FIFOs and sockets are never opened for reading.
func readRootFile(root, name string, limit int64) ([]byte, error) {
	f, err := openInRoot(root, name)
	if err != nil {
		return nil, fmt.Errorf("oci: %s in the container: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("oci: %s in the container: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("oci: %s in the container: larger than %d bytes: %w", name, limit, errdefs.ErrOutOfRange)
	}
	return data, nil
}

// notRegular is the error of a path in the root that is not a regular
// file.
func notRegular(mode fs.FileMode) error {
	return fmt.Errorf("not a regular file (%v): %w", mode.Type(), errdefs.ErrFailedPrecondition)
}

// readUserFiles reads and parses /etc/passwd and /etc/group below root; a
// missing file reads as empty.
func readUserFiles(root string) (userFiles, error) {
	var f userFiles
	for _, file := range []struct {
		name  string
		parse func([]byte) error
	}{
		{"/etc/passwd", func(b []byte) (err error) { f.passwd, err = parsePasswd(b); return err }},
		{"/etc/group", func(b []byte) (err error) { f.group, err = parseGroup(b); return err }},
	} {
		data, err := readRootFile(root, file.name, maxUserFileSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return userFiles{}, err
		}
		if err := file.parse(data); err != nil {
			return userFiles{}, err
		}
	}
	return f, nil
}
