package snapstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/snapshot"
)

func open(t *testing.T, root string, opts ...Opt) *Store {
	t.Helper()
	s, err := Open(context.Background(), root, opts...)
	if err != nil {
		t.Fatalf("Open(%s) = %v", root, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mkfs(s *Store) func(Snapshot) error {
	return func(sn Snapshot) error { return os.Mkdir(s.FS(sn.ID), 0o755) }
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v", what, err)
	}
}

// entries lists the names under <root>/snapshots.
func entries(t *testing.T, s *Store) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(s.Root(), "snapshots"))
	must(t, "ReadDir", err)
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func TestCreateFillFails(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	boom := errors.New("boom")
	_, err := s.Create(ctx, snapshot.KindActive, "k", "", nil, func(sn Snapshot) error {
		if _, err := os.Stat(s.Dir(sn.ID)); err != nil {
			t.Errorf("fill: the snapshot's directory: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Create with a failing fill = %v", err)
	}
	if _, err := s.Stat(ctx, "k"); !errdefs.IsNotFound(err) {
		t.Fatalf("Stat after a failed Create = %v, want NotFound", err)
	}
	if got := entries(t, s); len(got) != 0 {
		t.Fatalf("a failed Create left %q", got)
	}
	// The id of the failed transaction is handed out again.
	sn, err := s.Create(ctx, snapshot.KindActive, "k", "", nil, mkfs(s))
	must(t, "Create", err)
	if sn.ID != 1 {
		t.Fatalf("Create after a failed one got id %d, want 1", sn.ID)
	}
}

// TestCreateOverLeftover makes a snapshot whose id names a directory a
// crashed transaction left: it is replaced, not merged into.
func TestCreateOverLeftover(t *testing.T) {
	s := open(t, t.TempDir())
	must(t, "MkdirAll", os.MkdirAll(filepath.Join(s.FS(1), "stale"), 0o755))
	sn, err := s.Create(context.Background(), snapshot.KindActive, "k", "", nil, mkfs(s))
	must(t, "Create", err)
	if sn.ID != 1 {
		t.Fatalf("id %d, want 1", sn.ID)
	}
	if _, err := os.Stat(filepath.Join(s.FS(1), "stale")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the leftover's content survived: %v", err)
	}
}

func TestCleanup(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	sn, err := s.Create(ctx, snapshot.KindActive, "k", "", nil, mkfs(s))
	must(t, "Create", err)
	held, release, err := s.TempDir(ctx)
	must(t, "TempDir", err)
	for _, p := range []string{"42/fs/f", "rm-9/fs/f", "tmp-stale/f", "other/f"} {
		p = filepath.Join(s.Root(), "snapshots", p)
		must(t, "MkdirAll", os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, "WriteFile", os.WriteFile(p, nil, 0o644))
	}
	must(t, "Chmod", os.Chmod(filepath.Join(s.Root(), "snapshots", "42", "fs"), 0o555))
	must(t, "Cleanup", s.Cleanup(ctx))
	want := []string{fmt.Sprint(sn.ID), "other", filepath.Base(held)}
	slices.Sort(want)
	if got := entries(t, s); !slices.Equal(got, want) {
		t.Fatalf("after Cleanup: %q, want %q (the snapshot, a name it does not know, the held temporary directory)", got, want)
	}
	release()
	if _, err := os.Stat(held); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("released temporary directory: %v", err)
	}
}

func TestRemoveReadOnlyTree(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	sn, err := s.Create(ctx, snapshot.KindActive, "k", "", nil, mkfs(s))
	must(t, "Create", err)
	must(t, "MkdirAll", os.MkdirAll(filepath.Join(s.FS(sn.ID), "ro", "sub"), 0o755))
	must(t, "Chmod", os.Chmod(filepath.Join(s.FS(sn.ID), "ro"), 0o555))
	must(t, "Remove", s.Remove(ctx, "k"))
	if got := entries(t, s); len(got) != 0 {
		t.Fatalf("after Remove: %q", got)
	}
}

func TestCommitRebase(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, k := range []string{"p", "r"} {
		_, err := s.Create(ctx, snapshot.KindActive, k, "", nil, mkfs(s))
		must(t, "Create", err)
	}
	must(t, "Commit", s.Commit(ctx, "p-c", "p"))
	if err := s.Commit(ctx, "r-c", "r", snapshot.WithParent("p-c")); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Commit WithParent without WithRebase = %v, want InvalidArgument", err)
	}
	rs := open(t, s.Root(), WithRebase)
	must(t, "Commit WithParent", rs.Commit(ctx, "r-c", "r", snapshot.WithParent("p-c")))
	sn, err := rs.Get(ctx, "r-c")
	must(t, "Get", err)
	p, _ := rs.Get(ctx, "p-c")
	if !slices.Equal(sn.Parents, []uint64{p.ID}) {
		t.Fatalf("rebased snapshot's parents %v, want [%d]", sn.Parents, p.ID)
	}
	if err := rs.Remove(ctx, "p-c"); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("Remove of the new parent = %v, want FailedPrecondition", err)
	}
}

// TestProcesses has three processes (this one and two re-executions of
// the test binary) make snapshots on one root at once.
func TestProcesses(t *testing.T) {
	const n = 15
	work := func(root, who string) error {
		s, err := Open(context.Background(), root)
		if err != nil {
			return err
		}
		defer s.Close()
		parent := ""
		for i := range n {
			key := fmt.Sprintf("%s-%d", who, i)
			if _, err := s.Create(context.Background(), snapshot.KindActive, key+"-active", parent, nil, mkfs(s)); err != nil {
				return err
			}
			if err := s.Commit(context.Background(), key, key+"-active"); err != nil {
				return err
			}
			parent = key
		}
		return nil
	}
	if root := os.Getenv("SNAPSTORE_TEST_ROOT"); root != "" {
		if err := work(root, os.Getenv("SNAPSTORE_TEST_WHO")); err != nil {
			t.Fatal(err)
		}
		return
	}
	root := t.TempDir()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, who := range []string{"child1", "child2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcesses$")
		cmd.Env = append(os.Environ(), "SNAPSTORE_TEST_ROOT="+root, "SNAPSTORE_TEST_WHO="+who)
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		must(t, "start", cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	err := work(root, "parent")
	for i, cmd := range cmds {
		if werr := cmd.Wait(); werr != nil {
			t.Errorf("helper process: %v\n%s", werr, outs[i])
		}
	}
	must(t, "work", err)
	s := open(t, root)
	var names []string
	must(t, "Walk", s.Walk(context.Background(), func(_ context.Context, info snapshot.Info) error {
		names = append(names, info.Name)
		return nil
	}, "kind==committed"))
	if len(names) != 3*n {
		t.Fatalf("%d committed snapshots, want %d", len(names), 3*n)
	}
	if got := entries(t, s); len(got) != 3*n {
		t.Fatalf("%d directories under snapshots/, want %d", len(got), 3*n)
	}
}
