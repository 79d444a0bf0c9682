package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/examples/internal/imagebuild"
	"github.com/daemonless/containerd/examples/internal/registry"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// greeting is the content of the image's /etc/motd, which its command
// prints.
const greeting = "Hello from a container run by daemonless containerd!\n"

// containerID names the container the example runs; its snapshot is
// containerID+"-rootfs".
const containerID = "hello"

// busyboxPath is the static busybox the image is built with.
var busyboxPath = imagebuild.BusyboxPath

func main() {
	root := flag.String("root", "", "directory for the client roots and the state directory (default: a new temporary one, removed at exit)")
	flag.Parse()
	dir := *root
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dctr-pullrun")
		if err != nil {
			log.Fatal(err)
		}
		dir = tmp
	}
	err := run(context.Background(), os.Stdout, os.Stdout, dir)
	if *root == "" {
		if rerr := os.RemoveAll(dir); err == nil {
			err = rerr
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run builds an image with one client and pushes it to an in-process
// registry; pulls and unpacks it with a second client, shows its
// snapshots and root filesystem, and, as root, runs its command in a
// container. The example's report goes to w, the container's stdout and
// stderr to out. The clients' roots are dir/build and dir/pull, the
// second's state directory dir/state.
func run(ctx context.Context, w, out io.Writer, dir string) (err error) {
	// 1. A registry in this process, in memory, on loopback.
	reg, err := registry.Start()
	if err != nil {
		return err
	}
	defer reg.Close()
	ref := reg.Host() + "/example/hello:v1"
	fmt.Fprintf(w, "registry: http://%s (in-process, in memory)\n", reg.Host())

	// 2. Build the image in a first client's store and push it.
	desc, runnable, err := buildAndPush(ctx, w, filepath.Join(dir, "build"), ref)
	if err != nil {
		return err
	}

	// 3. Pull it into a second, fresh root, unpacking as it downloads.
	// Tasks keep their state in the state directory: a temporary one
	// here, not /run/dctr.
	client, err := containerd.New(filepath.Join(dir, "pull"),
		containerd.WithNamespace("example"), containerd.WithStateDir(filepath.Join(dir, "state")))
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Fprintf(w, "pull %s into %s (snapshotter %s), unpacking:\n", ref, client.Root(), client.DefaultSnapshotter())
	img, err := client.Pull(ctx, ref, containerd.WithPullUnpack)
	if err != nil {
		return err
	}
	if img.Target().Digest != desc.Digest {
		return fmt.Errorf("pulled %s, pushed %s", img.Target().Digest, desc.Digest)
	}
	manifest, err := images.Manifest(ctx, img.ContentStore(), img.Target(), img.Platform())
	if err != nil {
		return err
	}
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  resolved %s\n", img.Target().Digest)
	for n, l := range manifest.Layers {
		fmt.Fprintf(w, "  layer %d  %s  %7d bytes\n", n+1, l.Digest, l.Size)
	}
	unpacked, err := img.IsUnpacked(ctx, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  unpacked: %t\n", unpacked)
	if !unpacked {
		return errors.New("the pulled image is not unpacked")
	}

	sn := client.SnapshotService("")
	fmt.Fprintln(w, "snapshots (named by ChainID):")
	err = sn.Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		parent := "no parent"
		if info.Parent != "" {
			parent = "on " + short(info.Parent)
		}
		fmt.Fprintf(w, "  %s  %s, %s\n", info.Name, info.Kind, parent)
		return nil
	})
	if err != nil {
		return err
	}

	// 4. A read-only view of the top snapshot is the image's rootfs.
	// Its /etc/motd is printed here only when no container will print it.
	canRun := runnable && os.Geteuid() == 0
	if err := showRootFS(ctx, w, sn, images.ChainID(diffIDs).String(), !canRun); err != nil {
		return err
	}

	// 5. Run the image's command in a container: root only.
	switch {
	case !runnable:
		fmt.Fprintln(w, "run: skipped, the image has no busybox to run its command with")
		return nil
	case os.Geteuid() != 0:
		fmt.Fprintln(w, "run: skipped, running a container needs root (run the example as root to see its command print /etc/motd)")
		return nil
	}
	return runContainer(ctx, w, out, client, img)
}

// buildAndPush builds a two-layer image in a client at root and pushes
// it as ref; it returns the manifest's descriptor, and whether the image
// holds a busybox to run its command (/bin/cat /etc/motd) with.
func buildAndPush(ctx context.Context, w io.Writer, root, ref string) (ocispec.Descriptor, bool, error) {
	// Layer 1: the base, with a static busybox when the host has one.
	base := []imagebuild.Entry{
		imagebuild.Dir("etc/"),
		imagebuild.File("etc/motd", 0o644, greeting),
		imagebuild.File("etc/motd.draft", 0o644, "to be removed by layer 2\n"),
	}
	what := "/etc/motd, /etc/motd.draft"
	bb, err := imagebuild.Busybox(busyboxPath)
	if err != nil {
		fmt.Fprintf(w, "build: no static busybox (%v); the image holds files only\n", err)
	} else {
		base = append(bb, base...)
		what = "static busybox from " + busyboxPath + " with sh, cat and a few more links, " + what
	}
	// Layer 2: adds a file and deletes one of layer 1 with a whiteout.
	update := []imagebuild.Entry{
		imagebuild.Dir("etc/"),
		imagebuild.File("etc/hostname", 0o644, "hello\n"),
		imagebuild.File("etc/.wh.motd.draft", 0o644, ""),
	}
	layer1, err := imagebuild.NewLayer(base...)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	layer2, err := imagebuild.NewLayer(update...)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	fmt.Fprintf(w, "build: layer 1 (%s): %d bytes\n", what, layer1.Desc.Size)
	fmt.Fprintf(w, "build: layer 2 (adds /etc/hostname, whites out /etc/motd.draft): %d bytes\n", layer2.Desc.Size)

	config := ocispec.ImageConfig{Cmd: []string{"/bin/cat", "/etc/motd"}}
	desc, err := imagebuild.Push(ctx, root, ref, config, layer1, layer2)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	fmt.Fprintf(w, "push %s: manifest %s, config and 2 layers\n", ref, desc.Digest)
	return desc, bb != nil, nil
}

// showRootFS prints the files of the snapshot top through a read-only
// view of it, and its /etc/motd when printMotd is set; it removes the
// view again.
func showRootFS(ctx context.Context, w io.Writer, sn snapshot.Snapshotter, top string, printMotd bool) (err error) {
	const viewKey = "pullrun-view"
	if err := sn.Remove(ctx, viewKey); err != nil && !errdefs.IsNotFound(err) {
		return err // a view left by a run that was killed
	}
	mounts, err := sn.View(ctx, viewKey, top)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := sn.Remove(ctx, viewKey); err == nil {
			err = rerr
		}
	}()
	rootfs, release, err := mountView(mounts)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := release(); err == nil {
			err = rerr
		}
	}()
	if os.Geteuid() == 0 {
		fmt.Fprintf(w, "rootfs: view of %s mounted on %s:\n", short(top), rootfs)
	} else {
		fmt.Fprintf(w, "rootfs: view of %s, read in the snapshot's directory (not root: no mount):\n", short(top))
	}
	if err := printTree(w, rootfs); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "etc/motd.draft")); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("etc/motd.draft: layer 2's whiteout should hide it: %v", err)
	}
	fmt.Fprintln(w, "  (etc/motd.draft, in layer 1, is gone: layer 2 holds its whiteout)")
	if printMotd {
		motd, err := os.ReadFile(filepath.Join(rootfs, "etc/motd"))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "/etc/motd: %s", motd)
	}
	return nil
}

// runContainer makes a container of img with its own snapshot and a spec
// from the image's config, runs its task to the end with out as its
// stdout and stderr, and deletes the task, the container and the
// snapshot.
func runContainer(ctx context.Context, w, out io.Writer, client *containerd.Client, img containerd.Image) (err error) {
	if err := removeContainer(ctx, client, containerID); err != nil {
		return err // one left by a run that was killed
	}
	snapshotKey := containerID + "-rootfs"
	ctr, err := client.NewContainer(ctx, containerID,
		containerd.WithImage(img),
		containerd.WithNewSnapshot(snapshotKey, img),
		containerd.WithNewSpec(oci.WithImageConfig(img)))
	if err != nil {
		return err
	}
	ctrDeleted := false
	defer func() {
		if !ctrDeleted { // on failure: leave nothing behind
			ctr.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup)
		}
	}()
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "container %s: snapshot %s, command %q\n", containerID, snapshotKey, spec.Process.Args)

	// The task's streams: nil stdin (the null device), out for stdout and
	// stderr. containerd.Stdio would give it this process's own.
	task, err := ctr.NewTask(ctx, containerd.NewCreator(containerd.WithStreams(nil, out, out)))
	if err != nil {
		return err
	}
	taskDeleted := false
	defer func() {
		if !taskDeleted {
			task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		}
	}()
	exitCh, err := task.Wait(ctx) // before Start, so that no exit is missed
	if err != nil {
		return err
	}
	// Said before Start: once started, the task may write at once.
	fmt.Fprintf(w, "task %s: created, pid %d; starting it, its output:\n", containerID, task.Pid())
	started := time.Now()
	if err := task.Start(ctx); err != nil {
		return err
	}
	status := <-exitCh
	code, exitedAt, err := status.Result()
	if err != nil {
		return fmt.Errorf("task %s: exit status unknown: %w", containerID, err)
	}
	fmt.Fprintf(w, "task %s: exited with status %d after %s\n", containerID, code, exitedAt.Sub(started).Round(time.Millisecond))

	taskDeleted = true
	if _, err := task.Delete(ctx); err != nil {
		return err
	}
	ctrDeleted = true
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return err
	}
	fmt.Fprintf(w, "deleted: task, container %s and snapshot %s\n", containerID, snapshotKey)
	if code != 0 {
		return fmt.Errorf("task %s: exit status %d", containerID, code)
	}
	return nil
}

// removeContainer deletes container id, its task (killed if it runs) and
// its snapshot, if there is such a container.
func removeContainer(ctx context.Context, client *containerd.Client, id string) error {
	ctr, err := client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if task, err := ctr.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			return err
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	return ctr.Delete(ctx, containerd.WithSnapshotCleanup)
}

// mountView returns a directory showing the view's files and a function
// that releases it. As root it mounts the view on a new temporary
// directory; otherwise it returns the directory of the view's one bind
// mount (the native snapshotter's, chosen when overlay cannot mount).
func mountView(mounts []snapshot.Mount) (string, func() error, error) {
	if os.Geteuid() != 0 {
		if len(mounts) != 1 || mounts[0].Type != "bind" {
			return "", nil, fmt.Errorf("mounts %v: mounting needs root", mounts)
		}
		return mounts[0].Source, func() error { return nil }, nil
	}
	dir, err := os.MkdirTemp("", "dctr-rootfs")
	if err != nil {
		return "", nil, err
	}
	if err := snapshot.MountAll(mounts, dir); err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, func() error {
		if err := snapshot.UnmountAll(dir); err != nil {
			return err // keep the directory: something is still mounted there
		}
		return os.Remove(dir)
	}, nil
}

// printTree prints the files below dir: their paths, sizes and link
// targets.
func printTree(w io.Writer, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			fmt.Fprintf(w, "  %-16s %s\n", rel+"/", info.Mode())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "  %-16s %s -> %s\n", rel, info.Mode(), target)
		default:
			fmt.Fprintf(w, "  %-16s %s %8d bytes\n", rel, info.Mode(), info.Size())
		}
		return nil
	})
}

// short abbreviates a digest to its algorithm and 12 hex digits.
func short(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
