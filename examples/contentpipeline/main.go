package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
)

func main() {
	root := flag.String("root", "", "root directory (default: a new temporary one, removed at exit)")
	flag.Parse()
	if *root == "" {
		dir, err := os.MkdirTemp("", "dctr-pipeline")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*root = dir
	}
	if err := run(context.Background(), *root); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, root string) error {
	client, err := containerd.New(root, containerd.WithNamespace("example"))
	if err != nil {
		return err
	}
	defer client.Close()
	cs := client.ContentStore()

	layer, diffID, err := buildLayer(map[string]string{"hello.txt": "Hello from a daemonless content store!\n"})
	if err != nil {
		return err
	}
	layerDesc := descriptor(ocispec.MediaTypeImageLayerGzip, layer)
	config, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Cmd: []string{"cat", "/hello.txt"}},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	})
	configDesc := descriptor(ocispec.MediaTypeImageConfig, config)
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	manifestDesc := descriptor(ocispec.MediaTypeImageManifest, manifest)

	// Children first, the manifest last: a reader who finds the manifest
	// finds everything it names. Each write checks size and digest.
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
		kind string
	}{{layerDesc, layer, "layer"}, {configDesc, config, "config"}, {manifestDesc, manifest, "manifest"}} {
		ref := b.kind + "-" + b.desc.Digest.String()
		if err := content.WriteBlob(ctx, cs, ref, bytes.NewReader(b.data), b.desc,
			content.WithLabels(map[string]string{"example.kind": b.kind})); err != nil {
			return fmt.Errorf("store %s: %w", b.kind, err)
		}
	}

	fmt.Println("stored:")
	err = cs.Walk(ctx, func(info content.Info) error {
		fmt.Printf("  %s %6d bytes  %s\n", info.Digest, info.Size, info.Labels["example.kind"])
		return nil
	})
	if err != nil {
		return err
	}

	// Read back the manifest, then the layer it names, from the store.
	var m ocispec.Manifest
	b, err := content.ReadBlob(ctx, cs, manifestDesc, 4<<20)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	lb, err := content.ReadBlob(ctx, cs, m.Layers[0], 64<<20)
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(lb))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(tr, 1<<20))
	if err != nil {
		return err
	}
	fmt.Printf("manifest %s names layer %s; its %s says: %s", manifestDesc.Digest.Encoded()[:12], m.Layers[0].Digest.Encoded()[:12], hdr.Name, body)
	return nil
}

func descriptor(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// buildLayer returns a gzip-compressed tar of files and the digest of the
// uncompressed tar (its diffID).
func buildLayer(files map[string]string) ([]byte, digest.Digest, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
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
