package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daemonless/containerd/internal/archive"
)

// layerOf returns a layer holding one file, gzip-compressed when zip is
// set.
func layerOf(name, body string, zip bool) *bytes.Buffer {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	var tw *tar.Writer
	if zip {
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&b)
	}
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	if zip {
		zw.Close()
	}
	return &b
}

func ExampleApplyLayer() {
	dir, _ := os.MkdirTemp("", "rootfs-")
	defer os.RemoveAll(dir)

	res, err := archive.ApplyLayer(context.Background(), dir, layerOf("etc/motd", "hello\n", true))
	if err != nil {
		fmt.Println(err)
		return
	}
	motd, _ := os.ReadFile(filepath.Join(dir, "etc/motd"))
	fmt.Printf("%s, %d bytes uncompressed: %s", res.Compression, res.Size, motd)
	// Output: gzip, 2048 bytes uncompressed: hello
}

func ExampleApply_escape() {
	dir, _ := os.MkdirTemp("", "rootfs-")
	defer os.RemoveAll(dir)

	_, err := archive.Apply(context.Background(), dir, layerOf("../../etc/cron.d/evil", "* * * * * root sh\n", false))
	fmt.Println(err)
	// Output: layer entry "../../etc/cron.d/evil": escapes the root: invalid argument
}
