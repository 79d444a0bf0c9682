package testharness_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/examples/internal/imagebuild"
	"github.com/daemonless/containerd/examples/internal/registry"
	"github.com/daemonless/containerd/oci"
)

// waitTimeout bounds every wait of the harness: for an exit, for output.
const waitTimeout = 30 * time.Second

// shared is what the package's tests share: one client and one image,
// set up by the first test that needs them and released by TestMain.
var shared struct {
	once   sync.Once
	dir    string // holds the roots and the state directory
	reg    *registry.Registry
	client *containerd.Client
	image  containerd.Image
	skip   string // why containers cannot run here
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.client != nil {
		// Every test's cleanups have run: a container left is a leak.
		ctrs, err := shared.client.Containers(context.Background())
		if err != nil || len(ctrs) > 0 {
			fmt.Fprintf(os.Stderr, "containers left after the tests: %d (%v)\n", len(ctrs), err)
			code = 1
		}
		shared.client.Close()
	}
	if shared.reg != nil {
		shared.reg.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// testImage returns the client and the image the tests' containers run,
// setting them up on the first call. It skips the test when containers
// cannot run here.
func testImage(t *testing.T) (*containerd.Client, containerd.Image) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("runs containers, which needs root: run the tests as root, or with go test -exec sudo")
	}
	shared.once.Do(func() { shared.err = setUp(context.Background()) })
	if shared.skip != "" {
		t.Skip(shared.skip)
	}
	if shared.err != nil {
		t.Fatalf("setting up the test image: %v", shared.err)
	}
	return shared.client, shared.image
}

// setUp pushes a busybox image to a registry run in this process, and
// pulls it with a client in a temporary root and state directory.
func setUp(ctx context.Context) error {
	bb, err := imagebuild.Busybox(imagebuild.BusyboxPath)
	if err != nil {
		shared.skip = fmt.Sprintf("needs a static busybox for its image (Debian: busybox-static): %v", err)
		return nil
	}
	layer, err := imagebuild.NewLayer(bb...)
	if err != nil {
		return err
	}
	if shared.dir, err = os.MkdirTemp("", "dctr-testharness"); err != nil {
		return err
	}
	if shared.reg, err = registry.Start(); err != nil {
		return err
	}
	ref := shared.reg.Host() + "/testharness/busybox:1"
	if _, err := imagebuild.Push(ctx, filepath.Join(shared.dir, "build"), ref, ocispec.ImageConfig{Cmd: []string{"sh"}}, layer); err != nil {
		return err
	}
	shared.client, err = containerd.New(filepath.Join(shared.dir, "root"),
		containerd.WithNamespace("testharness"),
		containerd.WithStateDir(filepath.Join(shared.dir, "state")))
	if err != nil {
		return err
	}
	shared.image, err = shared.client.Pull(ctx, ref, containerd.WithPullUnpack)
	return err
}

// testContainer is a container running a command for one test.
type testContainer struct {
	ID   string
	Task containerd.Task
	out  *output
	exit <-chan containerd.ExitStatus
}

// lastID numbers the containers of the test binary.
var lastID atomic.Int64

// startContainer runs args in a new container of the test image, with
// its stdout and stderr collected (Output), and registers cleanups that
// kill and delete its task and delete the container and its snapshot
// when the test ends. It fails the test if the container cannot start.
func startContainer(t *testing.T, args ...string) *testContainer {
	t.Helper()
	client, image := testImage(t)
	ctx := context.Background() // not t.Context(): the cleanups need it after the test
	id := containerID(t.Name(), lastID.Add(1))

	ctr, err := client.NewContainer(ctx, id,
		containerd.WithImage(image),
		containerd.WithNewSnapshot(id+"-rootfs", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs(args...)))
	if err != nil {
		t.Fatalf("NewContainer(%s) = %v", id, err)
	}
	t.Cleanup(func() {
		if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			t.Errorf("container %s: Delete = %v", id, err)
		}
	})

	out := newOutput()
	task, err := ctr.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(nil, out, out)))
	if err != nil {
		t.Fatalf("container %s: NewTask = %v", id, err)
	}
	// Registered after the container's, so run before it: the task goes
	// first, killed if it still runs.
	t.Cleanup(func() {
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			t.Errorf("container %s: task Delete = %v", id, err)
		}
	})
	exit, err := task.Wait(ctx) // before Start: no exit is missed
	if err != nil {
		t.Fatalf("container %s: Wait = %v", id, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("container %s: Start = %v", id, err)
	}
	return &testContainer{ID: id, Task: task, out: out, exit: exit}
}

// Wait waits for the container's task to exit and returns its exit code.
// It fails the test if the exit does not come within waitTimeout or its
// status is unknown.
func (c *testContainer) Wait(t *testing.T) uint32 {
	t.Helper()
	select {
	case st := <-c.exit:
		if err := st.Error(); err != nil {
			t.Fatalf("container %s: exit status unknown: %v", c.ID, err)
		}
		return st.ExitCode()
	case <-time.After(waitTimeout):
		t.Fatalf("container %s: no exit after %s; output so far:\n%s", c.ID, waitTimeout, c.Output())
		return 0
	}
}

// Output returns what the task has written to stdout and stderr so far:
// all of it once Wait has returned.
func (c *testContainer) Output() string { return c.out.String() }

// WaitOutput waits until the task's output contains s. It fails the test
// if the task exits first or waitTimeout passes.
func (c *testContainer) WaitOutput(t *testing.T, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		got, changed := c.out.next()
		if strings.Contains(got, s) {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("container %s: no %q in its output after %s:\n%s", c.ID, s, waitTimeout, got)
		}
	}
}

// containerID makes a container id from a test's name and a number: the
// name's letters and digits, other runs of characters replaced by a
// dash, cut to leave room for the number.
func containerID(testName string, n int64) string {
	var b strings.Builder
	dash := false
	for _, r := range testName {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	name := b.String()
	if len(name) > 50 {
		name = strings.TrimRight(name[:50], "-")
	}
	return fmt.Sprintf("%s-%d", name, n)
}

// output collects a task's output and wakes those waiting for more. The
// task's stdout and stderr are written to it at once.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed, and replaced, at each write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	s, _ := o.next()
	return s
}

// next returns the output so far and a channel closed at the next write.
func (o *output) next() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}
