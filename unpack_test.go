package containerd_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/snapshot"
)

// threeLayers is an image whose layers add, change and delete files:
// what a rootfs unpacked from it holds is known.
func threeLayers(t *testing.T) testutil.Image {
	return testutil.LayerImage(t,
		[]testutil.Entry{
			testutil.Dir("etc/", 0o755),
			testutil.File("etc/os-release", 0o644, "ID=test\n"),
			testutil.File("etc/gone", 0o644, "deleted by layer 2\n"),
			testutil.Dir("opt/", 0o755),
			testutil.Dir("opt/old/", 0o755),
			testutil.File("opt/old/a", 0o644, "hidden by an opaque dir\n"),
			testutil.Symlink("etc/link", "os-release"),
		},
		[]testutil.Entry{
			testutil.Dir("etc/", 0o755),
			{Header: tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.gone", Mode: 0o644}},
			testutil.Dir("opt/old/", 0o755),
			{Header: tar.Header{Typeflag: tar.TypeReg, Name: "opt/old/.wh..wh..opq", Mode: 0o644}},
			testutil.File("opt/old/b", 0o644, "new in layer 2\n"),
			testutil.File("bin-sh", 0o4755, "#!setuid\n"),
		},
		[]testutil.Entry{
			testutil.Dir("srv/", 0o700),
			testutil.File("srv/data", 0o600, "layer 3\n"),
			testutil.Hardlink("srv/data-link", "srv/data"),
		},
	)
}

// wantTree is what a rootfs of threeLayers holds.
var wantTree = map[string]string{
	"etc/os-release": "ID=test\n",
	"opt/old/b":      "new in layer 2\n",
	"bin-sh":         "#!setuid\n",
	"srv/data":       "layer 3\n",
	"srv/data-link":  "layer 3\n",
}

// pullUnpacked pulls img from a fresh registry with WithPullUnpack.
func pullUnpacked(t *testing.T, c *containerd.Client, img testutil.Image, opts ...containerd.RemoteOpt) (containerd.Image, error) {
	t.Helper()
	reg := testutil.NewRegistry(t)
	img.Push(t, reg.Host(), "test/unpack", "v1")
	return c.Pull(context.Background(), reg.Host()+"/test/unpack:v1", append([]containerd.RemoteOpt{resolver(), containerd.WithPullUnpack}, opts...)...)
}

// viewTop views the top snapshot of diffIDs under key and calls check with
// the directory holding its files: mounted as root; without root, the
// native snapshot's directory. The view is removed after.
func viewTop(t *testing.T, sn snapshot.Snapshotter, diffIDs []digest.Digest, key string, check func(dir string)) {
	t.Helper()
	ctx := context.Background()
	mounts, err := sn.View(ctx, key, images.ChainID(diffIDs).String())
	if err != nil {
		t.Fatalf("View(top) = %v", err)
	}
	defer sn.Remove(ctx, key)
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if err := snapshot.MountAll(mounts, dir); err != nil {
			t.Fatalf("MountAll(%v) = %v", mounts, err)
		}
		defer snapshot.UnmountAll(dir)
	} else {
		dir = mounts[0].Source
	}
	check(dir)
}

// checkRootFS views the top snapshot of diffIDs and compares its files
// with wantTree (see viewTop).
func checkRootFS(t *testing.T, sn snapshot.Snapshotter, diffIDs []digest.Digest) {
	t.Helper()
	viewTop(t, sn, diffIDs, "check-"+t.Name(), func(dir string) { checkTree(t, dir) })
}

// checkTree compares the files under dir with wantTree.
func checkTree(t *testing.T, dir string) {
	t.Helper()
	for name, body := range wantTree {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", name, b, err, body)
		}
	}
	for _, gone := range []string{"etc/gone", "opt/old/a"} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s: deleted by a whiteout, Lstat = %v", gone, err)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dir, "bin-sh")); err != nil || fi.Mode()&os.ModeSetuid == 0 {
		t.Errorf("bin-sh: setuid lost: %v %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "etc/link")); err != nil || target != "os-release" {
		t.Errorf("etc/link -> %q, %v", target, err)
	}
	a, _ := os.Stat(filepath.Join(dir, "srv/data"))
	b, _ := os.Stat(filepath.Join(dir, "srv/data-link"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Errorf("srv/data-link is not a hard link of srv/data")
	}
}

func TestPullUnpack(t *testing.T) {
	for _, name := range []string{containerd.SnapshotterOverlay, containerd.SnapshotterNative} {
		t.Run(name, func(t *testing.T) {
			if name == containerd.SnapshotterOverlay {
				testutil.RequiresRoot(t)
			}
			ctx := context.Background()
			c := newClient(t)
			img := threeLayers(t)
			got, err := pullUnpacked(t, c, img, containerd.WithPullSnapshotter(name))
			if err != nil {
				t.Fatalf("Pull(WithPullUnpack) = %v", err)
			}
			if ok, err := got.IsUnpacked(ctx, name); !ok || err != nil {
				t.Fatalf("IsUnpacked(%s) = %v, %v", name, ok, err)
			}
			diffIDs, _ := got.RootFS(ctx)
			chain := images.ChainIDs(diffIDs)
			sn := c.SnapshotService(name)
			var names []string
			sn.Walk(ctx, func(_ context.Context, info snapshot.Info) error {
				if info.Kind != snapshot.KindCommitted {
					t.Errorf("snapshot %s is %s: an unpack leaves only committed snapshots", info.Name, info.Kind)
				}
				names = append(names, info.Name)
				return nil
			})
			if len(names) != 3 {
				t.Fatalf("snapshots = %v, want the 3 ChainIDs %v", names, chain)
			}
			for i, id := range chain {
				info, err := sn.Stat(ctx, id.String())
				if err != nil || info.Labels[snapshot.LabelUncompressed] != diffIDs[i].String() {
					t.Fatalf("Stat(chain[%d]) = %+v, %v", i, info, err)
				}
				if i > 0 && info.Parent != chain[i-1].String() {
					t.Errorf("chain[%d] parent = %q, want %s", i, info.Parent, chain[i-1])
				}
			}
			cinfo, err := c.ContentStore().Info(ctx, img.Config.Digest)
			if err != nil || cinfo.Labels[containerd.LabelSnapshotRefPrefix+name] != chain[2].String() {
				t.Fatalf("config labels = %v, %v; want the top snapshot for GC", cinfo.Labels, err)
			}
			checkRootFS(t, sn, diffIDs)

			// A second unpack finds everything there.
			if err := got.Unpack(ctx, name); err != nil {
				t.Fatalf("Unpack again = %v", err)
			}
		})
	}
}

func TestUnpackWrongDiffID(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	good := threeLayers(t)
	diffIDs := configDiffIDs(t, good)
	diffIDs[1] = digest.FromString("not the second layer")
	bad := good.WithDiffIDs(t, diffIDs...)
	_, err := pullUnpacked(t, c, bad)
	if err == nil || !errdefs.IsDataLoss(err) || !strings.Contains(err.Error(), bad.Layers[1].Digest.String()) {
		t.Fatalf("Pull of a lying config = %v; want a DataLoss error naming layer %s", err, bad.Layers[1].Digest)
	}
	if imgs, _ := c.ListImages(ctx); len(imgs) != 0 {
		t.Errorf("a failed unpack stored an image record")
	}
	chain := images.ChainIDs(diffIDs)
	c.SnapshotService("").Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		if info.Kind != snapshot.KindCommitted || info.Name != chain[0].String() {
			t.Errorf("left behind: %s snapshot %s", info.Kind, info.Name)
		}
		return nil
	})
}

// configDiffIDs returns the diffIDs img's config lists.
func configDiffIDs(t *testing.T, img testutil.Image) []digest.Digest {
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Blobs[img.Config.Digest], &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs
}

func TestConcurrentUnpacksOneProcess(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	img := threeLayers(t)
	reg := testutil.NewRegistry(t)
	img.Push(t, reg.Host(), "test/unpack", "v1")
	ref := reg.Host() + "/test/unpack:v1"
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Pull(ctx, ref, resolver(), containerd.WithPullUnpack)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Pull %d = %v", i, err)
		}
	}
	n := 0
	c.SnapshotService("").Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		n++
		return nil
	})
	if n != 3 {
		t.Fatalf("%d snapshots after 4 concurrent unpacks, want 3", n)
	}
}

func TestUnpackSharedAcrossNamespaces(t *testing.T) {
	c := newClient(t)
	img := threeLayers(t)
	reg := testutil.NewRegistry(t)
	img.Push(t, reg.Host(), "test/unpack", "v1")
	ref := reg.Host() + "/test/unpack:v1"
	for _, ns := range []string{"a", "b"} {
		ctx := namespaces.WithNamespace(context.Background(), ns)
		if _, err := c.Pull(ctx, ref, resolver(), containerd.WithPullUnpack); err != nil {
			t.Fatalf("Pull in %s = %v", ns, err)
		}
	}
	name := c.DefaultSnapshotter()
	dirs, err := os.ReadDir(filepath.Join(c.Root(), "snapshots", name, "snapshots"))
	if err != nil || len(dirs) != 3 {
		t.Fatalf("%d snapshot directories on disk (%v) for one image in two namespaces, want 3", len(dirs), err)
	}
	// Each namespace sees its own records; removing them in one keeps the other's.
	a := namespaces.WithNamespace(context.Background(), "a")
	b := namespaces.WithNamespace(context.Background(), "b")
	sn := c.SnapshotService("")
	diffIDs := configDiffIDs(t, img)
	chain := images.ChainIDs(diffIDs)
	for i := len(chain) - 1; i >= 0; i-- {
		if err := sn.Remove(a, chain[i].String()); err != nil {
			t.Fatalf("Remove in a = %v", err)
		}
	}
	if _, err := sn.Stat(a, chain[0].String()); !errdefs.IsNotFound(err) {
		t.Fatalf("Stat in a after Remove = %v", err)
	}
	checkRootFS(t, nsSnapshotter{sn, b}, diffIDs)
}

// nsSnapshotter calls a snapshotter with a namespace's context whatever
// context it is given.
type nsSnapshotter struct {
	snapshot.Snapshotter
	ctx context.Context
}

func (s nsSnapshotter) View(_ context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.Snapshotter.View(s.ctx, key, parent, opts...)
}
func (s nsSnapshotter) Remove(_ context.Context, key string) error {
	return s.Snapshotter.Remove(s.ctx, key)
}
