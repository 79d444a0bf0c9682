package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

// BusyboxPath is where Debian's busybox-static installs a static busybox.
const BusyboxPath = "/bin/busybox"

// Entry is one file, directory (a Name ending in "/") or symbolic link
// (Link set) of a layer.
type Entry struct {
	Name string
	Mode int64
	Body []byte
	Link string
}

// File returns the entry of a regular file.
func File(name string, mode int64, body string) Entry {
	return Entry{Name: name, Mode: mode, Body: []byte(body)}
}

// Dir returns the entry of a directory, mode 0755; name ends in "/".
func Dir(name string) Entry { return Entry{Name: name, Mode: 0o755} }

// Symlink returns the entry of a symbolic link to target.
func Symlink(name, target string) Entry { return Entry{Name: name, Link: target} }

// Busybox returns the entries of a base layer: the static busybox at path
// as /bin/busybox, with sh, echo, cat, sleep, ls and hostname linked to it,
// and the directories a container mounts over (dev, proc, sys, tmp).
// It fails if path is not a statically linked executable, which could not
// run in an image holding nothing else.
func Busybox(path string) ([]Entry, error) {
	bb, err := staticExecutable(path)
	if err != nil {
		return nil, err
	}
	entries := []Entry{Dir("bin/"), {Name: "bin/busybox", Mode: 0o755, Body: bb}}
	for _, applet := range []string{"sh", "echo", "cat", "sleep", "ls", "hostname"} {
		entries = append(entries, Symlink("bin/"+applet, "busybox"))
	}
	for _, d := range []string{"dev/", "proc/", "sys/", "tmp/"} {
		entries = append(entries, Dir(d))
	}
	return entries, nil
}

// staticExecutable returns the content of the file at path if it is a
// statically linked ELF executable (it asks for no program interpreter).
func staticExecutable(path string) ([]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("%s is not an executable (%s)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return os.ReadFile(path)
}

// Layer is a gzip-compressed tar layer.
type Layer struct {
	// Desc describes the compressed blob.
	Desc ocispec.Descriptor
	// DiffID is the digest of the uncompressed tar.
	DiffID digest.Digest
	data   []byte
}

// NewLayer returns the layer holding entries, in their order.
func NewLayer(entries ...Entry) (Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	mtime := time.Unix(0, 0)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, Size: int64(len(e.Body)), Typeflag: tar.TypeReg, ModTime: mtime}
		switch {
		case e.Link != "":
			hdr = &tar.Header{Name: e.Name, Mode: 0o777, Linkname: e.Link, Typeflag: tar.TypeSymlink, ModTime: mtime}
		case strings.HasSuffix(e.Name, "/"):
			hdr = &tar.Header{Name: e.Name, Mode: e.Mode, Typeflag: tar.TypeDir, ModTime: mtime}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return Layer{}, fmt.Errorf("layer: %s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Body); err != nil {
			return Layer{}, fmt.Errorf("layer: %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return Layer{}, fmt.Errorf("layer: %w", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	if err := zw.Close(); err != nil {
		return Layer{}, fmt.Errorf("layer: %w", err)
	}
	return Layer{
		Desc:   descriptor(ocispec.MediaTypeImageLayerGzip, gz.Bytes()),
		DiffID: digest.FromBytes(tarBuf.Bytes()),
		data:   gz.Bytes(),
	}, nil
}

// Push stores the image of layers (the base first) and config, for the
// host's platform, in a client at root (namespace "example"), names it ref
// there and pushes it to ref's registry. It returns the descriptor of the
// image's manifest. Pushing the same image again is harmless: the store
// and the registry have its blobs already.
func Push(ctx context.Context, root, ref string, config ocispec.ImageConfig, layers ...Layer) (ocispec.Descriptor, error) {
	client, err := containerd.New(root, containerd.WithNamespace("example"))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer client.Close()

	blobs := [][]byte{}
	descs := []ocispec.Descriptor{}
	diffIDs := []digest.Digest{}
	for _, l := range layers {
		blobs, descs, diffIDs = append(blobs, l.data), append(descs, l.Desc), append(diffIDs, l.DiffID)
	}
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: platforms.DefaultSpec(),
		Config:   config,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	cfgDesc := descriptor(ocispec.MediaTypeImageConfig, cfg)
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    descs,
	})
	manifestDesc := descriptor(ocispec.MediaTypeImageManifest, manifest)
	blobs, descs = append(blobs, cfg, manifest), append(descs, cfgDesc, manifestDesc)

	// Children first, the manifest last: a reader who finds the manifest
	// finds everything it names. Each write checks size and digest.
	cs := client.ContentStore()
	for i, b := range blobs {
		if err := content.WriteBlob(ctx, cs, "build-"+descs[i].Digest.String(), bytes.NewReader(b), descs[i]); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	rec := images.Image{Name: ref, Target: manifestDesc}
	if _, err := client.ImageService().Create(ctx, rec); errdefs.IsAlreadyExists(err) {
		if _, err := client.ImageService().Update(ctx, rec, "target"); err != nil {
			return ocispec.Descriptor{}, err
		}
	} else if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := client.Push(ctx, ref, manifestDesc); err != nil {
		return ocispec.Descriptor{}, err
	}
	return manifestDesc, nil
}

func descriptor(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}
