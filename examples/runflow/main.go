package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/examples/internal/imagebuild"
	"github.com/daemonless/containerd/examples/internal/registry"
	"github.com/daemonless/containerd/oci"
)

// script is what the container runs: it traps SIGTERM, says it runs and
// waits. "wait" returns as soon as the trapped signal arrives, where a
// shell running "sleep" in the foreground would act on it only once sleep
// has ended.
const script = `trap 'echo got SIGTERM; exit 143' TERM; echo running; sleep 3600 & wait`

// The container's id and its snapshot's key.
const (
	containerID = "runflow"
	snapshotKey = "runflow-rootfs"
)

// Time limits: for the task to say it runs, and for it to end after
// SIGTERM before SIGKILL follows.
const (
	startTimeout = 10 * time.Second
	gracePeriod  = 10 * time.Second
)

func main() {
	if os.Geteuid() != 0 {
		log.Fatal("runflow runs a container, which needs root: run it as root")
	}
	dir, err := os.MkdirTemp("", "dctr-runflow")
	if err != nil {
		log.Fatal(err)
	}
	err = run(context.Background(), os.Stdout, dir)
	if rerr := os.RemoveAll(dir); err == nil {
		err = rerr
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run pushes a busybox image to a registry in this process, then pulls
// it with a client rooted at dir/root (state directory dir/state) and
// runs, signals and deletes a container of it. The report and the
// container's output go to w.
func run(ctx context.Context, w io.Writer, dir string) (err error) {
	// The task's output and ours go to w from different goroutines.
	w = &lockedWriter{w: w}
	ref, stop, err := serveImage(ctx, filepath.Join(dir, "build"))
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(w, "registry: %s pushed (in-process registry, in memory)\n", ref)

	client, err := containerd.New(filepath.Join(dir, "root"),
		containerd.WithNamespace("example"), containerd.WithStateDir(filepath.Join(dir, "state")))
	if err != nil {
		return err
	}
	defer client.Close()

	// 1. Pull and unpack.
	image, err := client.Pull(ctx, ref, containerd.WithPullUnpack)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pull: %s, unpacked into %s snapshots\n", image.Target().Digest, client.DefaultSnapshotter())

	// 2. A container: its own snapshot, a spec from the image's config
	// with our command.
	container, err := client.NewContainer(ctx, containerID,
		containerd.WithImage(image),
		containerd.WithNewSnapshot(snapshotKey, image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithProcessArgs("sh", "-c", script)))
	if err != nil {
		return err
	}
	defer func() {
		// Deleting the container deletes its snapshot too.
		if derr := container.Delete(ctx, containerd.WithSnapshotCleanup); derr != nil {
			err = errors.Join(err, derr)
			return
		}
		fmt.Fprintf(w, "container %s: deleted, and its snapshot %s\n", containerID, snapshotKey)
	}()
	fmt.Fprintf(w, "container %s: snapshot %s, command sh -c %q\n", containerID, snapshotKey, script)

	// 3. A task with the container's output on ours; Wait before Start.
	out := watchFor(w, "running")
	task, err := container.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(nil, out, out)))
	if err != nil {
		return err
	}
	defer func() {
		// WithProcessKill: should we return early, the task is killed
		// before it is deleted.
		if _, derr := task.Delete(ctx, containerd.WithProcessKill); derr != nil {
			err = errors.Join(err, derr)
			return
		}
		fmt.Fprintf(w, "task %s: deleted\n", containerID)
	}()
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	// Said before Start: once started, the task may write at once.
	fmt.Fprintf(w, "task %s: created, pid %d; starting it\n", containerID, task.Pid())
	if err := task.Start(ctx); err != nil {
		return err
	}

	// 4. Once its trap is set, SIGTERM; SIGKILL if it is still running
	// after the grace period.
	select {
	case <-out.seen:
	case st := <-exitCh:
		return fmt.Errorf("task %s: exited with status %d before it said it runs", containerID, st.ExitCode())
	case <-time.After(startTimeout):
		return fmt.Errorf("task %s: did not say it runs within %s", containerID, startTimeout)
	}
	status, err := task.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "task %s: %s; sending SIGTERM\n", containerID, status.Status)
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		return err
	}
	var exit containerd.ExitStatus
	select {
	case exit = <-exitCh:
	case <-time.After(gracePeriod):
		fmt.Fprintf(w, "task %s: still running after %s; sending SIGKILL\n", containerID, gracePeriod)
		if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil {
			return err
		}
		exit = <-exitCh
	}
	code, exitedAt, err := exit.Result()
	if err != nil {
		return fmt.Errorf("task %s: exit status unknown: %w", containerID, err)
	}
	fmt.Fprintf(w, "task %s: exited with status %d at %s\n", containerID, code, exitedAt.Format(time.TimeOnly))
	return nil // 5. The deferred calls delete the task, then the container.
}

// serveImage starts a registry in this process and pushes to it, from a
// client at root, an image holding the host's static busybox. It returns
// the image's reference and a function that stops the registry.
func serveImage(ctx context.Context, root string) (string, func(), error) {
	bb, err := imagebuild.Busybox(imagebuild.BusyboxPath)
	if err != nil {
		return "", nil, fmt.Errorf("the image needs a static busybox (Debian: busybox-static): %w", err)
	}
	layer, err := imagebuild.NewLayer(bb...)
	if err != nil {
		return "", nil, err
	}
	reg, err := registry.Start()
	if err != nil {
		return "", nil, err
	}
	ref := reg.Host() + "/example/busybox:1"
	if _, err := imagebuild.Push(ctx, root, ref, ocispec.ImageConfig{Cmd: []string{"sh"}}, layer); err != nil {
		reg.Close()
		return "", nil, err
	}
	return ref, func() { reg.Close() }, nil
}

// lineWatch is a writer passing what it is given on to w, and closing
// seen once a line equal to line has been written there. It is safe for
// concurrent use: a task's stdout and stderr are copied to it at once.
type lineWatch struct {
	w    io.Writer
	line []byte
	seen chan struct{}

	mu      sync.Mutex
	partial []byte // the last line, until its newline comes
	found   bool
}

func watchFor(w io.Writer, line string) *lineWatch {
	return &lineWatch{w: w, line: []byte(line), seen: make(chan struct{})}
}

func (lw *lineWatch) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	// Passed on first: once seen is closed, the line is in w.
	n, err := lw.w.Write(p)
	if !lw.found {
		lw.partial = append(lw.partial, p[:n]...)
		for {
			l, rest, ok := bytes.Cut(lw.partial, []byte("\n"))
			if !ok {
				break
			}
			if bytes.Equal(l, lw.line) {
				lw.found = true
				close(lw.seen)
				rest = nil
			}
			lw.partial = rest
		}
	}
	return n, err
}

// lockedWriter serialises the writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}
