package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/daemonless/containerd/internal/testutil"
)

// TestApply: "dctr apply DIR < layer" with a gzip layer, then a hostile
// one that is refused without touching anything outside DIR.
func TestApply(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	tarball := testutil.Tar(t, testutil.Dir("etc/", 0o755), testutil.File("etc/hello", 0o644, "hi\n"), testutil.Symlink("etc/link", "hello"))
	out := c.ok(bytes.NewReader(testutil.Gzip(t, tarball)), "apply", dir)
	if want := digest.FromBytes(tarball).String() + " " + dir + " (gzip,"; !strings.HasPrefix(out, want) {
		t.Errorf("dctr apply printed %q, want it to start with %q", out, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "etc/hello")); err != nil || string(b) != "hi\n" {
		t.Fatalf("etc/hello = %q, %v", b, err)
	}
	outside := filepath.Join(filepath.Dir(dir), "outside")
	evil := testutil.Tar(t, testutil.Symlink("escape", "../"), testutil.File("escape/outside", 0o644, "owned\n"), testutil.File("../outside", 0o644, "owned\n"))
	r := c.run(bytes.NewReader(evil), "apply", dir)
	if _, err := os.Lstat(outside); !os.IsNotExist(err) {
		t.Fatalf("a hostile layer wrote %s: %v (%v)", outside, err, r)
	}
	if r.code == 0 {
		// Sanitized rather than refused: what it wrote stayed inside.
		if _, err := os.Stat(filepath.Join(dir, "outside")); err != nil {
			t.Errorf("%v: exit 0 but escape/outside is not inside DIR: %v", r, err)
		}
	} else {
		checkFailure(t, r, 1, "..")
	}
	checkFailure(t, c.run(strings.NewReader("not a layer at all, just text"), "apply", dir), 1)
	checkFailure(t, c.run(nil, "apply"), 2, "DIR")
}

// TestSnapshotsVerbs: pull unpacks; ls shows the ChainIDs; prepare, view,
// mounts, commit, usage, tree, label, info, rm.
func TestSnapshotsVerbs(t *testing.T) {
	for _, sn := range []string{"overlay", "native"} {
		t.Run(sn, func(t *testing.T) {
			if sn == "overlay" {
				testutil.RequiresRoot(t)
			}
			reg := testutil.NewRegistry(t)
			img := testutil.RandomImage(t, 2, 10_000)
			img.Push(t, reg.Host(), "team/app", "v1")
			c := newRemoteCLI(t)
			ref := reg.Host() + "/team/app:v1"
			out := c.ok(nil, "images", "pull", "--snapshotter", sn, ref)
			if !strings.Contains(out, "unpacked into "+sn+": sha256:") {
				t.Fatalf("pull did not say it unpacked:\n%s", out)
			}
			s := []string{"snapshots", "--snapshotter", sn}
			keys := lines(c.ok(nil, append(s, "ls", "-q")...))
			if len(keys) != 2 || !strings.HasPrefix(keys[0], "sha256:") {
				t.Fatalf("snapshots ls -q = %q, want the 2 ChainIDs", keys)
			}
			rows := lines(c.ok(nil, append(s, "ls")...))
			if len(rows) != 3 || !strings.Contains(strings.Join(rows, "\n"), "committed") {
				t.Fatalf("snapshots ls:\n%s", strings.Join(rows, "\n"))
			}
			tree := c.ok(nil, append(s, "tree")...)
			top := strings.TrimSpace(lines(tree)[1])
			if !strings.HasPrefix(lines(tree)[1], "  sha256:") {
				t.Fatalf("snapshots tree:\n%s", tree)
			}
			target := t.TempDir()
			cmdline := c.ok(nil, append(s, "prepare", "--target", target, "rw", top)...)
			if !strings.HasPrefix(cmdline, "mount ") || !strings.Contains(cmdline, target) {
				t.Fatalf("prepare --target printed %q", cmdline)
			}
			if got := c.ok(nil, append(s, "mounts", target, "rw")...); got != cmdline {
				t.Errorf("mounts = %q, prepare printed %q", got, cmdline)
			}
			if os.Geteuid() == 0 {
				// The printed command really mounts it.
				if out, err := exec.Command("sh", "-c", strings.TrimSpace(cmdline)).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", cmdline, err, out)
				}
				b, err := os.ReadFile(filepath.Join(target, "layer1", "hello.txt"))
				exec.Command("umount", "-R", target).Run()
				if err != nil || string(b) != "hello from layer 1\n" {
					t.Fatalf("layer1/hello.txt through the printed mount = %q, %v", b, err)
				}
			}
			c.ok(nil, append(s, "view", "ro", top)...)
			c.ok(nil, append(s, "commit", "mine", "rw")...)
			if got := c.ok(nil, append(s, "label", "mine", "team=a")...); !strings.Contains(got, "team=a") {
				t.Errorf("label printed %q", got)
			}
			info := c.ok(nil, append(s, "info", "mine")...)
			if !strings.Contains(info, `"kind": "committed"`) || !strings.Contains(info, `"parent": "`+top+`"`) || !strings.Contains(info, `"team": "a"`) {
				t.Errorf("info mine:\n%s", info)
			}
			usage := lines(c.ok(nil, append(s, "usage", "-b")...))
			if len(usage) != 6 || !strings.HasPrefix(usage[len(usage)-1], "total") {
				t.Errorf("usage:\n%s", strings.Join(usage, "\n"))
			}
			checkFailure(t, c.run(nil, append(s, "rm", top)...), 1, "children")
			if got := c.ok(nil, append(s, "rm", "ro", "mine")...); got != "ro\nmine\n" {
				t.Errorf("rm printed %q", got)
			}
			checkFailure(t, c.run(nil, append(s, "info", "nope")...), 1, "not found")
		})
	}
}
