package containerd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/namespaces"
)

const helperEnv = "DCTR_TEST_HELPER"

// TestMain lets the test binary serve as the second process of the
// multi-process tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperProcess(mode, os.Getenv("DCTR_TEST_ROOT"), os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

func blob(n int) ([]byte, ocispec.Descriptor) {
	b := make([]byte, n)
	rand.Read(b)
	return b, ocispec.Descriptor{Digest: digest.FromBytes(b), Size: int64(n)}
}

// helperProcess runs one mode of the second process and returns its exit
// code. It reports on stdout, one line per fact.
func helperProcess(mode, root, arg string) int {
	ctx := context.Background()
	c, err := containerd.New(root, containerd.WithNamespace("svc"))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer c.Close()
	cs := c.ContentStore()
	switch mode {
	case "commit":
		// A service that keeps its client open and keeps committing.
		for i := range 100 {
			data, desc := blob(1000 + i)
			if err := content.WriteBlob(ctx, cs, fmt.Sprint("svc-", i), bytes.NewReader(data), desc, content.WithLabels(map[string]string{"from": "helper"})); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println(desc.Digest)
		}
	case "hold-ref":
		w, err := cs.Writer(ctx, content.WithRef("shared"))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		w.Write([]byte("from the helper"))
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin) // until the test closes stdin
		w.Close()
	case "commit-same":
		data, err := os.ReadFile(arg)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		w, err := cs.Writer(ctx, content.WithRef(fmt.Sprint("same-", os.Getpid())))
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		defer w.Close()
		w.Write(data)
		switch err := w.Commit(ctx, int64(len(data)), digest.FromBytes(data)); {
		case err == nil:
			fmt.Println("committed")
		case errdefs.IsAlreadyExists(err):
			fmt.Println("exists")
		default:
			fmt.Println("error:", err)
			return 1
		}
	}
	return 0
}

func helper(t *testing.T, root, mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "DCTR_TEST_ROOT="+root)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestTwoProcessesOneRoot: a service process keeps a client open and
// commits while this process commits and lists on the same root. Neither
// waits on the other for long, and both see all the data.
func TestTwoProcessesOneRoot(t *testing.T) {
	root := t.TempDir()
	c, err := containerd.New(root)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(context.Background(), "svc")
	cs := c.ContentStore()

	cmd := helper(t, root, "commit")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		theirs  []digest.Digest
		listing []int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			theirs = append(theirs, digest.Digest(sc.Text()))
		}
	}()
	ours := map[digest.Digest][]byte{}
	for i := range 100 {
		data, desc := blob(2000 + i)
		if err := content.WriteBlob(ctx, cs, fmt.Sprint("test-", i), bytes.NewReader(data), desc); err != nil {
			t.Fatalf("WriteBlob %d = %v", i, err)
		}
		ours[desc.Digest] = data
		n := 0
		if err := cs.Walk(ctx, func(content.Info) error { n++; return nil }); err != nil {
			t.Fatalf("Walk = %v", err)
		}
		listing = append(listing, n)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v (reported %q)", err, theirs)
	}
	if len(theirs) != 100 {
		t.Fatalf("helper committed %d blobs, want 100: %q", len(theirs), theirs)
	}
	for i := 1; i < len(listing); i++ {
		if listing[i] < listing[i-1] || listing[i] < i+1 {
			t.Fatalf("listing went from %d to %d blobs at step %d", listing[i-1], listing[i], i)
		}
	}
	for _, d := range theirs {
		info, err := cs.Info(ctx, d)
		if err != nil || info.Labels["from"] != "helper" {
			t.Fatalf("Info(%s) of the helper's blob = %+v, %v", d, info, err)
		}
		b, err := content.ReadBlob(ctx, cs, ocispec.Descriptor{Digest: d}, 0)
		if err != nil || digest.FromBytes(b) != d {
			t.Fatalf("ReadBlob(%s) = %d bytes, %v: content does not match", d, len(b), err)
		}
	}
	n := 0
	cs.Walk(ctx, func(content.Info) error { n++; return nil })
	if n != 200 {
		t.Fatalf("Walk lists %d blobs, want 200", n)
	}
}

// TestRefHeldByAnotherProcess: a ref in use in another process is
// Unavailable here, and free once that process lets go.
func TestRefHeldByAnotherProcess(t *testing.T) {
	root := t.TempDir()
	c, err := containerd.New(root, containerd.WithNamespace("svc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := helper(t, root, "hold-ref")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "held\n" {
		t.Fatalf("helper said %q, want held", line)
	}
	ctx := context.Background()
	if _, err := c.ContentStore().Writer(ctx, content.WithRef("shared")); !errdefs.IsUnavailable(err) {
		t.Fatalf("Writer(shared) while another process holds it = %v, want Unavailable", err)
	}
	if err := c.ContentStore().Abort(ctx, "shared"); !errdefs.IsUnavailable(err) {
		t.Fatalf("Abort(shared) while another process holds it = %v, want Unavailable", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := content.OpenWriter(ctx, c.ContentStore(), content.WithRef("shared"))
		if err == nil {
			st, _ := w.Status()
			if st.Offset != int64(len("from the helper")) {
				err = fmt.Errorf("took over the ingest at offset %d", st.Offset)
			}
			w.Close()
		}
		done <- err
	}()
	stdin.Close()
	if err := <-done; err != nil {
		t.Fatalf("OpenWriter(shared) after the other process let go = %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestSameDigestAcrossProcesses: several processes commit one digest at
// once; exactly one commits, the others see AlreadyExists, and the blob
// is intact.
func TestSameDigestAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	c, err := containerd.New(root, containerd.WithNamespace("svc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data, desc := blob(8 << 20)
	file := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(file, data, 0o600)
	const n = 4
	outs := make([]bytes.Buffer, n)
	cmds := make([]*exec.Cmd, n)
	for i := range n {
		cmds[i] = helper(t, root, "commit-same", file)
		cmds[i].Stdout = &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var results []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v: %s", i, err, outs[i].String())
		}
		results = append(results, strings.TrimSpace(outs[i].String()))
	}
	committed := 0
	for _, r := range results {
		switch r {
		case "committed":
			committed++
		case "exists":
		default:
			t.Fatalf("helper result %q", r)
		}
	}
	if committed != 1 {
		t.Fatalf("results %q: want exactly one commit", results)
	}
	got, err := content.ReadBlob(context.Background(), c.ContentStore(), desc, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob after racing commits: %d bytes, %v", len(got), err)
	}
}

func TestNewOptions(t *testing.T) {
	root := t.TempDir()
	c, err := containerd.New(root, containerd.WithNamespace("tenant"), containerd.WithStateDir("/run/x"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Root() != root || c.StateDir() != "/run/x" || c.DefaultNamespace() != "tenant" {
		t.Fatalf("client root %q state %q ns %q", c.Root(), c.StateDir(), c.DefaultNamespace())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := c.ContentStore().Info(context.Background(), digest.FromString("x")); err == nil {
		t.Fatal("ContentStore works after Close")
	}
	for _, tc := range []struct {
		name string
		opt  containerd.ClientOpt
	}{
		{"bad namespace", containerd.WithNamespace("no/slash")},
		{"empty state dir", containerd.WithStateDir("")},
		{"nil store", containerd.WithContentStore(nil)},
		{"nil image store", containerd.WithImageStore(nil)},
	} {
		if _, err := containerd.New(t.TempDir(), tc.opt); !errdefs.IsInvalidArgument(err) {
			t.Errorf("New(%s) = %v, want InvalidArgument", tc.name, err)
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := containerd.New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
}

// fakeStore is what a caller's test might pass to WithContentStore.
type fakeStore struct{ content.Store }

func (fakeStore) Info(ctx context.Context, d digest.Digest) (content.Info, error) {
	return content.Info{Digest: d, Size: 42}, nil
}

func TestWithContentStore(t *testing.T) {
	c, err := containerd.New(t.TempDir(), containerd.WithContentStore(fakeStore{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.ContentStore().Info(context.Background(), digest.FromString("x"))
	if err != nil || info.Size != 42 {
		t.Fatalf("Info through the fake = %+v, %v", info, err)
	}
}
