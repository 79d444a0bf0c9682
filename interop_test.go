package containerd_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/snapshot"
)

// interopImage has, over three layers, every kind of entry and every kind
// of change a layer can make.
func interopImage(t *testing.T) testutil.Image {
	owned := func(e testutil.Entry, uid, gid int) testutil.Entry {
		e.Header.Uid, e.Header.Gid = uid, gid
		return e
	}
	mtime := time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)
	xattr := testutil.File("etc/xattr", 0o644, "has an xattr\n")
	xattr.Header.PAXRecords = map[string]string{"SCHILY.xattr.user.test": "value"}
	timed := testutil.File("etc/timed", 0o644, "old\n")
	timed.Header.ModTime = mtime
	return testutil.LayerImage(t,
		[]testutil.Entry{
			testutil.Dir("etc/", 0o755),
			testutil.File("etc/passwd", 0o644, "root:x:0:0::/root:/bin/sh\n"),
			xattr, timed,
			testutil.File("etc/empty", 0o600, ""),
			testutil.Dir("tmp/", 0o1777),
			testutil.Dir("shared/", 0o2775),
			owned(testutil.File("home/user/own", 0o640, "user's\n"), 1000, 1000),
			testutil.Dir("dev/", 0o755),
			{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
			{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/fifo", Mode: 0o600}},
			testutil.File("usr/bin/su", 0o4755, "setuid\n"),
			testutil.File("usr/bin/tool", 0o755, "tool v1\n"),
			testutil.Hardlink("usr/bin/tool-alias", "usr/bin/tool"),
			testutil.Symlink("usr/bin/sh", "/bin/busybox"),
			testutil.Dir("var/lib/old/", 0o755),
			testutil.File("var/lib/old/1", 0o644, "1\n"),
			testutil.File("var/lib/old/2", 0o644, "2\n"),
			testutil.File("becomes-dir", 0o644, "a file first\n"),
			testutil.Dir("becomes-file/", 0o755),
			testutil.File("becomes-file/x", 0o644, "x\n"),
			testutil.Symlink("link-becomes-file", "etc/passwd"),
			testutil.Dir("usr/lib/", 0o755),
			testutil.Symlink("lib", "usr/lib"),
		},
		[]testutil.Entry{
			{Header: tar.Header{Typeflag: tar.TypeReg, Name: "usr/bin/.wh.su"}},
			testutil.File("usr/bin/tool", 0o755, "tool v2\n"),
			{Header: tar.Header{Typeflag: tar.TypeReg, Name: "var/lib/old/.wh..wh..opq"}},
			testutil.File("var/lib/old/3", 0o644, "3\n"),
			testutil.Dir("becomes-dir/", 0o750),
			testutil.File("becomes-dir/y", 0o644, "y\n"),
			testutil.File("becomes-file", 0o644, "a file now\n"),
			testutil.File("link-becomes-file", 0o644, "no longer a link\n"),
		},
		[]testutil.Entry{
			{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.empty"}},
			owned(testutil.Dir("home/user/", 0o700), 1000, 1000),
			testutil.File("usr/bin/new", 0o755, "new\n"),
			// No entry for lib/: it is layer 1's symlink to usr/lib,
			// and the file lands in usr/lib (usrmerge).
			testutil.File("lib/libnew.so", 0o644, "lib\n"),
		},
	)
}

// writeLayout writes img as an OCI image layout tagged "latest".
func writeLayout(t *testing.T, img testutil.Image, dir string) {
	os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
	for d, b := range img.Blobs {
		if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", d.Encoded()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := img.Manifest
	m.Annotations = map[string]string{ocispec.AnnotationRefName: "latest"}
	index, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{m}})
	os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// treeOf describes every entry below root, one line each: path, type
// and mode, owner, size, content hash or link target, device, user
// xattrs, and mtime for files and links. Link counts are left out: a
// file of a lower overlay layer keeps the count it had there.
func treeOf(t *testing.T, root string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		fi, _ := d.Info()
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(path)
			desc += fmt.Sprintf(" %d %x", len(b), sha256.Sum256(b))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			desc += " -> " + target
		case fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			desc += fmt.Sprintf(" dev=%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
		}
		if !fi.IsDir() {
			desc += " mtime=" + time.Unix(st.Mtim.Unix()).UTC().Format(time.RFC3339)
		}
		if v, err := getxattr(path, "user.test"); err == nil {
			desc += " user.test=" + v
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func getxattr(path, name string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// TestUnpackMatchesUmoci unpacks the same image with dctr (overlay and
// native) and with umoci, and compares the two root filesystems entry by
// entry.
func TestUnpackMatchesUmoci(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("umoci"); err != nil {
		t.Skip("needs umoci (apt-get install umoci)")
	}
	syscall.Umask(0o022)
	img := interopImage(t)
	layout := t.TempDir()
	writeLayout(t, img, layout)
	bundle := filepath.Join(t.TempDir(), "bundle")
	if out, err := exec.Command("umoci", "unpack", "--image", layout+":latest", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	want := treeOf(t, filepath.Join(bundle, "rootfs"))
	if len(want) < 20 {
		t.Fatalf("umoci's rootfs has %d entries; the image has more", len(want))
	}
	for _, name := range []string{containerd.SnapshotterOverlay, containerd.SnapshotterNative} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newClient(t)
			got, err := pullUnpacked(t, c, img, containerd.WithPullSnapshotter(name))
			if err != nil {
				t.Fatalf("Pull = %v", err)
			}
			diffIDs, _ := got.RootFS(ctx)
			sn := c.SnapshotService(name)
			mounts, err := sn.View(ctx, "interop", images.ChainID(diffIDs).String())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := snapshot.MountAll(mounts, dir); err != nil {
				t.Fatal(err)
			}
			defer snapshot.UnmountAll(dir)
			have := treeOf(t, dir)
			var diffs []string
			for p, w := range want {
				if h, ok := have[p]; !ok {
					diffs = append(diffs, fmt.Sprintf("missing %s (umoci: %s)", p, w))
				} else if h != w {
					diffs = append(diffs, fmt.Sprintf("%s:\n\tdctr:  %s\n\tumoci: %s", p, h, w))
				}
			}
			for p, h := range have {
				if _, ok := want[p]; !ok {
					diffs = append(diffs, fmt.Sprintf("extra %s (%s)", p, h))
				}
			}
			sort.Strings(diffs)
			if len(diffs) > 0 {
				t.Errorf("rootfs differs from umoci's in %d entries:\n%s", len(diffs), strings.Join(diffs, "\n"))
			}
			if _, ok := have["usr/lib/libnew.so"]; !ok || !strings.Contains(have["lib"], "-> usr/lib") {
				t.Errorf("lib/libnew.so did not go through the lib -> usr/lib symlink: lib %q, usr/lib/libnew.so %q", have["lib"], have["usr/lib/libnew.so"])
			}
			if !bytes.Contains([]byte(have["usr/bin/tool"]), []byte(fmt.Sprintf("%x", sha256.Sum256([]byte("tool v2\n"))))) {
				t.Errorf("usr/bin/tool is not layer 2's: %s", have["usr/bin/tool"])
			}
		})
	}
}
