package testsuite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/snapshot"
)

// NewSnapshotter opens the snapshotter under test at root. The suite
// closes what it returns when the test ends.
type NewSnapshotter func(t *testing.T, root string) snapshot.Snapshotter

// Option adjusts the suite to the implementation.
type Option func(*config)

type config struct{ leftovers []string }

// WithLeftovers names paths, relative to the root, where a crash can
// leave directories that Cleanup must remove (for overlay and native,
// "snapshots/999999" is a snapshot directory no record names). The
// Cleanup case plants a directory at each and checks that it is gone and
// that every known snapshot is intact. Without it, the case checks only
// the latter.
func WithLeftovers(paths ...string) Option {
	return func(c *config) { c.leftovers = append(c.leftovers, paths...) }
}

// fixture is one case's snapshotter.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	sn   snapshot.Snapshotter
	root string
	open NewSnapshotter
	cfg  config
}

// Run runs the whole suite against snapshotters made by newSnapshotter.
func Run(t *testing.T, newSnapshotter NewSnapshotter, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(*fixture)
	}{
		{"LayerChain", testLayerChain},
		{"ViewReadOnly", testViewReadOnly},
		{"CommitNameInUse", testCommitNameInUse},
		{"PrepareErrors", testPrepareErrors},
		{"Remove", testRemove},
		{"StatUpdate", testStatUpdate},
		{"Walk", testWalk},
		{"Usage", testUsage},
		{"Chain60", testChain60},
		{"Cleanup", testCleanup},
		{"Concurrent", testConcurrent},
		{"SharedRoot", testSharedRoot},
		{"Reopen", testReopen},
		{"Rebase", testRebase},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixture{t: t, ctx: context.Background(), root: t.TempDir(), open: newSnapshotter, cfg: cfg}
			f.sn = f.reopen()
			tc.fn(f)
		})
	}
}

// reopen opens another snapshotter on the fixture's root, closed when the
// test ends.
func (f *fixture) reopen() snapshot.Snapshotter {
	sn := f.open(f.t, f.root)
	f.t.Cleanup(func() { sn.Close() })
	return sn
}

func (f *fixture) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s = %v", what, err)
	}
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s = %v, want an error of kind %v", what, err, kind)
	}
}

func (f *fixture) prepare(key, parent string, opts ...snapshot.Opt) []snapshot.Mount {
	f.t.Helper()
	m, err := f.sn.Prepare(f.ctx, key, parent, opts...)
	f.must(fmt.Sprintf("Prepare(%q, %q)", key, parent), err)
	return m
}

func (f *fixture) view(key, parent string) []snapshot.Mount {
	f.t.Helper()
	m, err := f.sn.View(f.ctx, key, parent)
	f.must(fmt.Sprintf("View(%q, %q)", key, parent), err)
	return m
}

func (f *fixture) commit(name, key string, opts ...snapshot.Opt) {
	f.t.Helper()
	f.must(fmt.Sprintf("Commit(%q, %q)", name, key), f.sn.Commit(f.ctx, name, key, opts...))
}

func (f *fixture) stat(key string) snapshot.Info {
	f.t.Helper()
	info, err := f.sn.Stat(f.ctx, key)
	f.must(fmt.Sprintf("Stat(%q)", key), err)
	return info
}

// layer prepares key on parent, applies change to its tree and commits
// it as name.
func (f *fixture) layer(name, key, parent string, change func(dir string)) {
	f.t.Helper()
	dir, done := f.mount(f.prepare(key, parent))
	change(dir)
	done()
	f.commit(name, key)
}

// mount shows mounts in a directory: mounted on a temporary target when
// running as root, else the source of a lone bind mount (its read-only
// flag then unenforced). Other mounts without root skip the test. done
// unmounts; it runs at the end of the test too.
func (f *fixture) mount(mounts []snapshot.Mount) (dir string, done func()) {
	f.t.Helper()
	if os.Geteuid() != 0 {
		if len(mounts) == 1 && mounts[0].Type == "bind" && mounts[0].Target == "" {
			return mounts[0].Source, func() {}
		}
		f.t.Skipf("needs root to mount %v: run as root (CI does)", mounts)
	}
	target := f.t.TempDir()
	f.must("MountAll", snapshot.MountAll(mounts, target))
	done = func() {
		f.t.Helper()
		f.must("UnmountAll", snapshot.UnmountAll(target))
	}
	f.t.Cleanup(done)
	return target, done
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to %s: run as root (CI does)", why)
	}
}

// writeFiles writes files (path: content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns the files of the tree at dir: path: content for
// regular files, "-> target" for symbolic links.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch d.Type() {
		case 0:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		case fs.ModeSymlink:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		}
		out[rel] = "? " + d.Type().String()
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

func checkTree(t *testing.T, what, dir string, want map[string]string) {
	t.Helper()
	if got := readTree(t, dir); !maps.Equal(got, want) {
		t.Fatalf("%s shows\n%v\nwant\n%v", what, got, want)
	}
}

// testLayerChain writes three layers through their mounts, with a file
// changed, a file deleted and a directory replaced, and reads the chain
// back through views.
func testLayerChain(f *fixture) {
	t := f.t
	base := map[string]string{"etc/hosts": "127.0.0.1", "bin/sh": "#!", "gone": "x", "dir/old": "o", "dir/sub/deep": "d"}
	f.layer("a", "a-active", "", func(dir string) {
		writeFiles(t, dir, base)
		f.must("symlink", os.Symlink("bin/sh", filepath.Join(dir, "sh")))
	})
	f.layer("b", "b-active", "a", func(dir string) {
		checkTree(t, "child of a", dir, map[string]string{"etc/hosts": "127.0.0.1", "bin/sh": "#!", "gone": "x", "dir/old": "o", "dir/sub/deep": "d", "sh": "-> bin/sh"})
		f.must("remove", os.Remove(filepath.Join(dir, "gone")))
		f.must("remove dir", os.RemoveAll(filepath.Join(dir, "dir")))
		writeFiles(t, dir, map[string]string{"etc/hosts": "::1", "dir/new": "n", "b": "b"})
	})
	f.layer("c", "c-active", "b", func(dir string) {
		writeFiles(t, dir, map[string]string{"c": "c"})
	})
	want := map[string]string{"etc/hosts": "::1", "bin/sh": "#!", "sh": "-> bin/sh", "dir/new": "n", "b": "b", "c": "c"}
	dir, _ := f.mount(f.view("view-c", "c"))
	checkTree(t, "view of c", dir, want)
	delete(want, "c")
	dir, _ = f.mount(f.view("view-b", "b"))
	checkTree(t, "view of b", dir, want)
	dir, _ = f.mount(f.view("view-a", "a"))
	checkTree(t, "view of a", dir, map[string]string{"etc/hosts": "127.0.0.1", "bin/sh": "#!", "gone": "x", "dir/old": "o", "dir/sub/deep": "d", "sh": "-> bin/sh"})

	for key, want := range map[string]snapshot.Info{
		"a":      {Kind: snapshot.KindCommitted, Name: "a"},
		"c":      {Kind: snapshot.KindCommitted, Name: "c", Parent: "b"},
		"view-b": {Kind: snapshot.KindView, Name: "view-b", Parent: "b"},
	} {
		got := f.stat(key)
		if got.Kind != want.Kind || got.Name != want.Name || got.Parent != want.Parent || got.Created.IsZero() {
			t.Errorf("Stat(%q) = %+v, want %v %q on %q", key, got, want.Kind, want.Name, want.Parent)
		}
	}
	for _, key := range []string{"a-active", "b-active"} {
		_, err := f.sn.Stat(f.ctx, key)
		wantKind(t, fmt.Sprintf("Stat(%q) after its commit", key), err, errdefs.ErrNotFound)
	}
}

func testViewReadOnly(f *fixture) {
	t := f.t
	f.layer("a", "a-active", "", func(dir string) { writeFiles(t, dir, map[string]string{"f": "f"}) })
	f.layer("b", "b-active", "a", func(dir string) { writeFiles(t, dir, map[string]string{"g": "g"}) })
	for _, parent := range []string{"", "a", "b"} {
		key := "view-of-" + parent
		mounts := f.view(key, parent)
		for _, m := range mounts {
			if !m.ReadOnly() {
				t.Errorf("View(%q) mount %+v is not read-only", parent, m)
			}
		}
		got, err := f.sn.Mounts(f.ctx, key)
		f.must("Mounts", err)
		if !reflect.DeepEqual(got, mounts) {
			t.Errorf("Mounts(%q) = %+v, View returned %+v", key, got, mounts)
		}
		wantKind(t, fmt.Sprintf("Commit of view %q", key), f.sn.Commit(f.ctx, "c", key), errdefs.ErrFailedPrecondition)
		if info := f.stat(key); info.Kind != snapshot.KindView {
			t.Errorf("after a refused Commit, Stat(%q) = %+v", key, info)
		}
		if os.Geteuid() == 0 {
			dir, _ := f.mount(mounts)
			if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
				t.Errorf("write into view of %q = %v, want EROFS", parent, err)
			}
		}
	}
	_, err := f.sn.Mounts(f.ctx, "a")
	wantKind(t, "Mounts of a committed snapshot", err, errdefs.ErrFailedPrecondition)
	_, err = f.sn.Mounts(f.ctx, "missing")
	wantKind(t, "Mounts(missing)", err, errdefs.ErrNotFound)
}

func testCommitNameInUse(f *fixture) {
	t := f.t
	f.prepare("one", "")
	f.commit("x", "one")
	dir, done := f.mount(f.prepare("two", ""))
	writeFiles(t, dir, map[string]string{"two": "2"})
	done()
	wantKind(t, "Commit to a name in use", f.sn.Commit(f.ctx, "x", "two"), errdefs.ErrAlreadyExists)
	wantKind(t, "Commit to its own key", f.sn.Commit(f.ctx, "two", "two"), errdefs.ErrAlreadyExists)
	if info := f.stat("two"); info.Kind != snapshot.KindActive {
		t.Fatalf("after a refused Commit, Stat(two) = %+v", info)
	}
	mounts, err := f.sn.Mounts(f.ctx, "two")
	f.must("Mounts(two)", err)
	dir, done = f.mount(mounts)
	checkTree(t, "active two after a refused commit", dir, map[string]string{"two": "2"})
	done()
	f.commit("y", "two")
	wantKind(t, "Commit of a committed snapshot", f.sn.Commit(f.ctx, "z", "y"), errdefs.ErrFailedPrecondition)
	wantKind(t, "Commit(missing)", f.sn.Commit(f.ctx, "z", "missing"), errdefs.ErrNotFound)
	wantKind(t, "Commit to an empty name", f.sn.Commit(f.ctx, "", "y"), errdefs.ErrInvalidArgument)
}

func testPrepareErrors(f *fixture) {
	t := f.t
	_, err := f.sn.Prepare(f.ctx, "k", "missing")
	wantKind(t, "Prepare on a missing parent", err, errdefs.ErrNotFound)
	_, err = f.sn.View(f.ctx, "k", "missing")
	wantKind(t, "View of a missing parent", err, errdefs.ErrNotFound)
	f.prepare("active", "")
	_, err = f.sn.Prepare(f.ctx, "k", "active")
	wantKind(t, "Prepare on an active parent", err, errdefs.ErrFailedPrecondition)
	_, err = f.sn.Prepare(f.ctx, "active", "")
	wantKind(t, "Prepare of a key in use", err, errdefs.ErrAlreadyExists)
	_, err = f.sn.View(f.ctx, "active", "")
	wantKind(t, "View of a key in use", err, errdefs.ErrAlreadyExists)
	_, err = f.sn.Prepare(f.ctx, "", "")
	wantKind(t, "Prepare of an empty key", err, errdefs.ErrInvalidArgument)
	_, err = f.sn.Prepare(f.ctx, "k", "", snapshot.WithParent("active"))
	wantKind(t, "Prepare with WithParent", err, errdefs.ErrInvalidArgument)

	f.commit("chain", "active")
	_, err = f.sn.Prepare(f.ctx, "k", "", snapshot.WithLabels(map[string]string{snapshot.LabelSnapshotRef: "chain"}))
	wantKind(t, "Prepare with a ref label naming a committed snapshot", err, errdefs.ErrAlreadyExists)
	f.prepare("k", "chain", snapshot.WithLabels(map[string]string{snapshot.LabelSnapshotRef: "chain2"}))

	var keys []string
	f.must("Walk", f.sn.Walk(f.ctx, func(_ context.Context, info snapshot.Info) error {
		keys = append(keys, info.Name)
		return nil
	}))
	if !slices.Equal(keys, []string{"chain", "k"}) {
		t.Fatalf("after refused calls, Walk finds %q, want [chain k]", keys)
	}
}

func testRemove(f *fixture) {
	t := f.t
	f.prepare("a-active", "")
	f.commit("a", "a-active")
	f.prepare("b-active", "a")
	f.commit("b", "b-active")
	f.prepare("c", "b")
	f.view("v", "a")
	for _, key := range []string{"a", "b"} {
		wantKind(t, fmt.Sprintf("Remove(%q) with children", key), f.sn.Remove(f.ctx, key), errdefs.ErrFailedPrecondition)
		f.stat(key)
	}
	for _, key := range []string{"c", "b", "v", "a"} {
		f.must(fmt.Sprintf("Remove(%q)", key), f.sn.Remove(f.ctx, key))
		_, err := f.sn.Stat(f.ctx, key)
		wantKind(t, fmt.Sprintf("Stat(%q) after Remove", key), err, errdefs.ErrNotFound)
	}
	wantKind(t, "Remove(missing)", f.sn.Remove(f.ctx, "a"), errdefs.ErrNotFound)
	// The names are free again.
	f.prepare("a", "")
}

func testStatUpdate(f *fixture) {
	t := f.t
	f.prepare("k", "", snapshot.WithLabels(map[string]string{"a": "1", "b": "2"}))
	info := f.stat("k")
	if info.Kind != snapshot.KindActive || info.Name != "k" || info.Parent != "" || !maps.Equal(info.Labels, map[string]string{"a": "1", "b": "2"}) || info.Created.IsZero() || info.Updated.Before(info.Created) {
		t.Fatalf("Stat(k) = %+v", info)
	}
	check := func(what string, got snapshot.Info, err error, want map[string]string) {
		t.Helper()
		f.must(what, err)
		if stat := f.stat("k"); !maps.Equal(got.Labels, want) || !maps.Equal(stat.Labels, want) {
			t.Fatalf("%s: returned labels %v, Stat has %v, want %v", what, got.Labels, stat.Labels, want)
		}
		if got.Updated.Before(info.Updated) || !got.Created.Equal(info.Created) {
			t.Fatalf("%s: times %v/%v, were %v/%v", what, got.Created, got.Updated, info.Created, info.Updated)
		}
	}
	upd := snapshot.Info{Name: "k", Labels: map[string]string{"a": "9", "c": "3"}}
	got, err := f.sn.Update(f.ctx, upd, "labels.a")
	check("Update labels.a", got, err, map[string]string{"a": "9", "b": "2"})
	got, err = f.sn.Update(f.ctx, upd, "labels.b", "labels.c")
	check("Update labels.b (absent: removed), labels.c", got, err, map[string]string{"a": "9", "c": "3"})
	got, err = f.sn.Update(f.ctx, snapshot.Info{Name: "k", Labels: map[string]string{"z": "1"}})
	check("Update with no fieldpaths", got, err, map[string]string{"z": "1"})
	got, err = f.sn.Update(f.ctx, snapshot.Info{Name: "k", Labels: map[string]string{"y": "2"}}, "labels")
	check("Update labels", got, err, map[string]string{"y": "2"})

	_, err = f.sn.Update(f.ctx, snapshot.Info{Name: "k", Parent: "x"}, "parent")
	wantKind(t, "Update parent", err, errdefs.ErrInvalidArgument)
	_, err = f.sn.Update(f.ctx, snapshot.Info{Name: "k", Labels: map[string]string{"big": strings.Repeat("x", snapshot.MaxLabelsLen)}}, "labels.big")
	wantKind(t, "Update with labels too big", err, errdefs.ErrInvalidArgument)
	_, err = f.sn.Update(f.ctx, snapshot.Info{Name: "missing"})
	wantKind(t, "Update(missing)", err, errdefs.ErrNotFound)
	_, err = f.sn.Stat(f.ctx, "missing")
	wantKind(t, "Stat(missing)", err, errdefs.ErrNotFound)

	f.commit("kept", "k")
	if info := f.stat("kept"); !maps.Equal(info.Labels, map[string]string{"y": "2"}) || info.Kind != snapshot.KindCommitted {
		t.Fatalf("Commit without labels: Stat = %+v, want the active's labels", info)
	}
	f.prepare("k2", "", snapshot.WithLabels(map[string]string{"old": "1"}))
	f.commit("replaced", "k2", snapshot.WithLabels(map[string]string{"new": "1"}))
	if info := f.stat("replaced"); !maps.Equal(info.Labels, map[string]string{"new": "1"}) {
		t.Fatalf("Commit WithLabels: Stat = %+v, want only the new labels", info)
	}
}

func testWalk(f *fixture) {
	t := f.t
	f.prepare("base-active", "", snapshot.WithLabels(map[string]string{"x": "y"}))
	f.commit("base", "base-active")
	f.prepare("child-active", "base")
	f.commit("child", "child-active")
	f.prepare("active", "child", snapshot.WithLabels(map[string]string{"x": "z", "dotted.key": "v"}))
	f.view("view", "base")
	walk := func(filters ...string) ([]string, error) {
		var names []string
		err := f.sn.Walk(f.ctx, func(_ context.Context, info snapshot.Info) error {
			names = append(names, info.Name)
			return nil
		}, filters...)
		return names, err
	}
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{nil, []string{"active", "base", "child", "view"}},
		{[]string{"kind==committed"}, []string{"base", "child"}},
		{[]string{"labels.x==y"}, []string{"base"}},
		{[]string{`labels."dotted.key"`}, []string{"active"}},
		{[]string{"parent==base"}, []string{"child", "view"}},
		{[]string{"kind==view", "kind==active"}, []string{"active", "view"}},
		{[]string{"kind==committed,parent"}, []string{"child"}},
		{[]string{"name~=^c"}, []string{"child"}},
	} {
		got, err := walk(tc.filters...)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Walk(%q) = %q, %v; want %q", tc.filters, got, err, tc.want)
		}
	}
	_, err := walk("name~=[")
	wantKind(t, "Walk with a bad filter", err, errdefs.ErrInvalidArgument)
	stop := errors.New("stop")
	n := 0
	err = f.sn.Walk(f.ctx, func(context.Context, snapshot.Info) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Walk whose fn fails = %v after %d calls, want its error after 1", err, n)
	}
}

func testUsage(f *fixture) {
	t := f.t
	dir, done := f.mount(f.prepare("a", ""))
	data := strings.Repeat("u", 1<<20)
	writeFiles(t, dir, map[string]string{"d/big": data, "small": "s"})
	f.must("link", os.Link(filepath.Join(dir, "d/big"), filepath.Join(dir, "hard")))
	done()
	active, err := f.sn.Usage(f.ctx, "a")
	f.must("Usage(active)", err)
	if active.Size < 1<<20 || active.Size >= 2<<20 || active.Inodes < 3 {
		t.Fatalf("Usage(active) = %+v, want at least 1 MiB (hard link counted once) and 3 inodes", active)
	}
	f.commit("c", "a")
	committed, err := f.sn.Usage(f.ctx, "c")
	f.must("Usage(committed)", err)
	if committed != active {
		t.Fatalf("Usage(committed) = %+v, want %+v as measured when active", committed, active)
	}
	_, err = f.sn.Usage(f.ctx, "a")
	wantKind(t, "Usage of a committed key", err, errdefs.ErrNotFound)
	dir, done = f.mount(f.prepare("child", "c"))
	writeFiles(t, dir, map[string]string{"more": strings.Repeat("m", 256<<10)})
	done()
	child, err := f.sn.Usage(f.ctx, "child")
	f.must("Usage(child)", err)
	if child.Size < 256<<10 {
		t.Fatalf("Usage(child) = %+v, want its own 256 KiB counted", child)
	}
	if again, _ := f.sn.Usage(f.ctx, "c"); again != committed {
		t.Fatalf("Usage(committed) changed to %+v", again)
	}
}

func testChain60(f *fixture) {
	t := f.t
	parent := ""
	for i := range 60 {
		name := fmt.Sprintf("layer-%02d", i)
		f.layer(name, name+"-active", parent, func(dir string) {
			writeFiles(t, dir, map[string]string{name: name, "top": name})
		})
		parent = name
	}
	want := map[string]string{"top": "layer-59"}
	for i := range 60 {
		want[fmt.Sprintf("layer-%02d", i)] = fmt.Sprintf("layer-%02d", i)
	}
	dir, _ := f.mount(f.view("view", parent))
	checkTree(t, "view of 60 layers", dir, want)
	dir, _ = f.mount(f.prepare("active", parent))
	checkTree(t, "active on 60 layers", dir, want)
}

func testCleanup(f *fixture) {
	t := f.t
	c, ok := f.sn.(snapshot.Cleaner)
	if !ok {
		t.Skip("not a snapshot.Cleaner")
	}
	f.layer("a", "a-active", "", func(dir string) { writeFiles(t, dir, map[string]string{"a": "a"}) })
	dir, done := f.mount(f.prepare("b", "a"))
	writeFiles(t, dir, map[string]string{"b": "b"})
	done()
	for _, p := range f.cfg.leftovers {
		writeFiles(t, filepath.Join(f.root, p), map[string]string{"fs/file": "left over"})
	}
	f.must("Cleanup", c.Cleanup(f.ctx))
	for _, p := range f.cfg.leftovers {
		if _, err := os.Lstat(filepath.Join(f.root, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after Cleanup, leftover %s: %v", p, err)
		}
	}
	dir, _ = f.mount(f.view("v", "a"))
	checkTree(t, "view of a after Cleanup", dir, map[string]string{"a": "a"})
	mounts, err := f.sn.Mounts(f.ctx, "b")
	f.must("Mounts(b)", err)
	dir, _ = f.mount(mounts)
	checkTree(t, "active b after Cleanup", dir, map[string]string{"a": "a", "b": "b"})
	f.commit("b-c", "b")
	f.must("Cleanup", c.Cleanup(f.ctx))
}

// testConcurrent builds chains from several goroutines at once, with
// readers walking alongside.
func testConcurrent(f *fixture) {
	t := f.t
	const workers, depth = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Go(func() {
			parent := ""
			for i := range depth {
				name := fmt.Sprintf("w%d-%d", w, i)
				if _, err := f.sn.Prepare(f.ctx, name+"-active", parent); err != nil {
					errs <- err
					return
				}
				if err := f.sn.Commit(f.ctx, name, name+"-active"); err != nil {
					errs <- err
					return
				}
				parent = name
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := f.sn.Walk(f.ctx, func(context.Context, snapshot.Info) error { return nil }); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	f.must("Walk", f.sn.Walk(f.ctx, func(_ context.Context, info snapshot.Info) error {
		n++
		return nil
	}, "kind==committed"))
	if n != workers*depth {
		t.Fatalf("Walk finds %d committed snapshots, want %d", n, workers*depth)
	}
	if info := f.stat("w3-5"); info.Parent != "w3-4" {
		t.Fatalf("Stat(w3-5) = %+v, want parent w3-4", info)
	}
}

// testSharedRoot uses a second snapshotter on the same root, as another
// process would.
func testSharedRoot(f *fixture) {
	t := f.t
	other := f.reopen()
	f.prepare("a", "")
	f.commit("a-c", "a")
	if info, err := other.Stat(f.ctx, "a-c"); err != nil || info.Kind != snapshot.KindCommitted {
		t.Fatalf("other.Stat(a-c) = %+v, %v", info, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, sn := range []snapshot.Snapshotter{f.sn, other} {
		wg.Go(func() {
			for j := range 5 {
				key := fmt.Sprintf("s%d-%d", i, j)
				_, err := sn.Prepare(f.ctx, key, "a-c")
				if err == nil {
					err = sn.Commit(f.ctx, key+"-c", key)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, err := other.Prepare(f.ctx, "a-c", "")
	wantKind(t, "other.Prepare of a key the first committed", err, errdefs.ErrAlreadyExists)
	f.must("other.Remove", other.Remove(f.ctx, "s0-0-c"))
	_, err = f.sn.Stat(f.ctx, "s0-0-c")
	wantKind(t, "Stat of what the other removed", err, errdefs.ErrNotFound)
	f.stat("s1-4-c")
}

func testReopen(f *fixture) {
	t := f.t
	f.layer("a", "a-active", "", func(dir string) { writeFiles(t, dir, map[string]string{"a": "a"}) })
	mounts := f.prepare("b", "a", snapshot.WithLabels(map[string]string{"l": "v"}))
	f.must("Close", f.sn.Close())
	f.sn = f.reopen()
	if info := f.stat("b"); info.Parent != "a" || info.Labels["l"] != "v" {
		t.Fatalf("after reopening, Stat(b) = %+v", info)
	}
	got, err := f.sn.Mounts(f.ctx, "b")
	f.must("Mounts(b)", err)
	if !reflect.DeepEqual(got, mounts) {
		t.Fatalf("after reopening, Mounts(b) = %+v, want %+v", got, mounts)
	}
	dir, _ := f.mount(got)
	checkTree(t, "b after reopening", dir, map[string]string{"a": "a"})
}

func testRebase(f *fixture) {
	t := f.t
	f.layer("p", "p-active", "", func(dir string) { writeFiles(t, dir, map[string]string{"a": "a", "b": "b"}) })
	f.prepare("on-p", "p")
	f.prepare("r", "")
	if rb, ok := f.sn.(snapshot.Rebaser); !ok || !rb.CanRebase() {
		wantKind(t, "Commit WithParent on a snapshotter that cannot rebase", f.sn.Commit(f.ctx, "r-c", "r", snapshot.WithParent("p")), errdefs.ErrInvalidArgument)
		if info := f.stat("r"); info.Kind != snapshot.KindActive || info.Parent != "" {
			t.Fatalf("after a refused rebase, Stat(r) = %+v", info)
		}
		return
	}
	wantKind(t, "Commit WithParent of a snapshot prepared on a parent", f.sn.Commit(f.ctx, "x", "on-p", snapshot.WithParent("p")), errdefs.ErrInvalidArgument)
	wantKind(t, "Commit WithParent(missing)", f.sn.Commit(f.ctx, "x", "r", snapshot.WithParent("missing")), errdefs.ErrNotFound)
	wantKind(t, "Commit WithParent(active)", f.sn.Commit(f.ctx, "x", "r", snapshot.WithParent("on-p")), errdefs.ErrFailedPrecondition)
	requireRoot(t, "write an overlay whiteout and mount the rebased chain")
	mounts, err := f.sn.Mounts(f.ctx, "r")
	f.must("Mounts(r)", err)
	dir, done := f.mount(mounts)
	f.must("mknod whiteout", unix.Mknod(filepath.Join(dir, "a"), unix.S_IFCHR, 0))
	writeFiles(t, dir, map[string]string{"c": "c"})
	done()
	f.commit("r-c", "r", snapshot.WithParent("p"))
	if info := f.stat("r-c"); info.Parent != "p" || info.Kind != snapshot.KindCommitted {
		t.Fatalf("Stat(r-c) = %+v, want committed on p", info)
	}
	wantKind(t, "Remove(p) under its rebased child", f.sn.Remove(f.ctx, "p"), errdefs.ErrFailedPrecondition)
	dir, _ = f.mount(f.view("v", "r-c"))
	checkTree(t, "view of the rebased layer", dir, map[string]string{"b": "b", "c": "c"})
}
