package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	// The registry finds its storage driver by name in a registry that
	// this package fills when imported.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/snapshot"
)

// greeting is the content of the image's /etc/motd.
const greeting = "Hello from a daemonless containerd rootfs!\n"

// busyboxPath is where Debian's busybox-static installs a static busybox.
var busyboxPath = "/bin/busybox"

func main() {
	root := flag.String("root", "", "directory for the two client roots (default: a new temporary one, removed at exit)")
	flag.Parse()
	dir := *root
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dctr-pullunpack")
		if err != nil {
			log.Fatal(err)
		}
		dir = tmp
	}
	err := run(context.Background(), os.Stdout, dir)
	if *root == "" {
		if rerr := os.RemoveAll(dir); err == nil {
			err = rerr
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run builds an image with one client, pushes it to an in-process
// registry, pulls and unpacks it with a second client and shows its root
// filesystem. The clients' roots are dir/build and dir/pull.
func run(ctx context.Context, w io.Writer, dir string) (err error) {
	// 1. A registry in this process, in memory, on loopback.
	host, stop, err := startRegistry()
	if err != nil {
		return err
	}
	defer stop()
	ref := host + "/example/hello:v1"
	fmt.Fprintf(w, "registry: http://%s (in-process, in memory)\n", host)

	// The default resolver speaks plain HTTP to loopback hosts, and
	// HTTPS to every other.
	resolver := containerd.WithResolver(docker.NewResolver())

	// 2. Build the image in a first client's store and push it.
	desc, err := buildAndPush(ctx, w, filepath.Join(dir, "build"), ref, resolver)
	if err != nil {
		return err
	}

	// 3. Pull it into a second, fresh root, unpacking as it downloads.
	client, err := containerd.New(filepath.Join(dir, "pull"), containerd.WithNamespace("example"))
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Fprintf(w, "pull %s into %s (snapshotter %s), unpacking:\n", ref, client.Root(), client.DefaultSnapshotter())
	img, err := client.Pull(ctx, ref, containerd.WithPullUnpack, resolver)
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
	top := images.ChainID(diffIDs).String()
	const viewKey = "pullunpack-view"
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
	motd, err := os.ReadFile(filepath.Join(rootfs, "etc/motd"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "/etc/motd: %s", motd)
	return nil
}

// startRegistry starts a distribution registry with in-memory storage on
// 127.0.0.1 and returns its host:port and a function that stops it.
func startRegistry() (string, func(), error) {
	logrus.SetLevel(logrus.FatalLevel) // the registry logs through logrus
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
	}
	config.HTTP.Secret = "pullunpack-example" // signs upload state; any value will do here
	config.Log.AccessLog.Disabled = true
	app, err := newApp(config)
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Close() }, nil
}

// newApp builds the registry application; it panics on a configuration
// it cannot use, which becomes an error here.
func newApp(config *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registry configuration: %v", p)
		}
	}()
	return handlers.NewApp(context.Background(), config), nil
}

// buildAndPush stores a two-layer image in a client at root, records it
// as ref and pushes it there. It returns the manifest's descriptor.
func buildAndPush(ctx context.Context, w io.Writer, root, ref string, opts ...containerd.RemoteOpt) (ocispec.Descriptor, error) {
	client, err := containerd.New(root, containerd.WithNamespace("example"))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer client.Close()
	cs := client.ContentStore()

	// Layer 1: the base, with a static busybox when the host has one.
	base := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/motd", mode: 0o644, body: []byte(greeting)},
		{name: "etc/motd.draft", mode: 0o644, body: []byte("to be removed by layer 2\n")},
	}
	what := "/etc/motd, /etc/motd.draft"
	if bb, err := staticBusybox(); err != nil {
		fmt.Fprintf(w, "build: no static busybox (%v); the image holds files only\n", err)
	} else {
		base = append(base,
			entry{name: "bin/", mode: 0o755},
			entry{name: "bin/busybox", mode: 0o755, body: bb},
			entry{name: "bin/sh", link: "busybox"},
			entry{name: "bin/echo", link: "busybox"},
			entry{name: "bin/cat", link: "busybox"},
		)
		what = "static busybox from " + busyboxPath + " and sh, echo, cat links, " + what
	}
	// Layer 2: adds a file and deletes one of layer 1 with a whiteout.
	update := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/hostname", mode: 0o644, body: []byte("hello\n")},
		{name: "etc/.wh.motd.draft", mode: 0o644},
	}

	type blob struct {
		desc ocispec.Descriptor
		data []byte
	}
	var (
		blobs   []blob // children first, the manifest last
		layers  []ocispec.Descriptor
		diffIDs []digest.Digest
	)
	for _, entries := range [][]entry{base, update} {
		data, diffID, err := buildLayer(entries)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		desc := descriptor(ocispec.MediaTypeImageLayerGzip, data)
		blobs = append(blobs, blob{desc, data})
		layers = append(layers, desc)
		diffIDs = append(diffIDs, diffID)
	}
	config, _ := json.Marshal(ocispec.Image{
		Platform: platforms.DefaultSpec(),
		Config:   ocispec.ImageConfig{Cmd: []string{"/bin/cat", "/etc/motd"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	configDesc := descriptor(ocispec.MediaTypeImageConfig, config)
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    layers,
	})
	manifestDesc := descriptor(ocispec.MediaTypeImageManifest, manifest)
	blobs = append(blobs, blob{configDesc, config}, blob{manifestDesc, manifest})

	// A reader who finds the manifest finds everything it names. Each
	// write checks size and digest.
	for _, b := range blobs {
		if err := content.WriteBlob(ctx, cs, "build-"+b.desc.Digest.String(), bytes.NewReader(b.data), b.desc); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	fmt.Fprintf(w, "build: layer 1 (%s): %d bytes\n", what, layers[0].Size)
	fmt.Fprintf(w, "build: layer 2 (adds /etc/hostname, whites out /etc/motd.draft): %d bytes\n", layers[1].Size)

	rec := images.Image{Name: ref, Target: manifestDesc}
	if _, err := client.ImageService().Create(ctx, rec); errdefs.IsAlreadyExists(err) {
		_, err = client.ImageService().Update(ctx, rec, "target")
		if err != nil {
			return ocispec.Descriptor{}, err
		}
	} else if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := client.Push(ctx, ref, manifestDesc, opts...); err != nil {
		return ocispec.Descriptor{}, err
	}
	fmt.Fprintf(w, "push %s: manifest %s, config and 2 layers\n", ref, manifestDesc.Digest)
	return manifestDesc, nil
}

// staticBusybox returns the content of busyboxPath if it is a statically
// linked ELF executable (it asks for no program interpreter).
func staticBusybox() ([]byte, error) {
	f, err := elf.Open(busyboxPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("%s is not an executable (%s)", busyboxPath, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked", busyboxPath)
		}
	}
	return os.ReadFile(busyboxPath)
}

// entry is one file, directory (a name ending in "/") or symlink (link
// set) of a layer.
type entry struct {
	name string
	mode int64
	body []byte
	link string
}

// buildLayer returns a gzip-compressed tar of entries and the digest of
// the uncompressed tar (its diffID).
func buildLayer(entries []entry) ([]byte, digest.Digest, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	mtime := time.Unix(0, 0)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg, ModTime: mtime}
		switch {
		case e.link != "":
			hdr = &tar.Header{Name: e.name, Mode: 0o777, Linkname: e.link, Typeflag: tar.TypeSymlink, ModTime: mtime}
		case e.name[len(e.name)-1] == '/':
			hdr = &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeDir, ModTime: mtime}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), digest.FromBytes(tarBuf.Bytes()), nil
}

func descriptor(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
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
