package containerd_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/platforms"
)

// pulled pushes a random image and a random index to an in-process
// registry and pulls both (the index with all platforms) into a new
// client. It returns the client, the registry host and the two names.
func pulled(t *testing.T) (c *containerd.Client, host, single, multi string, img, idx testutil.Image) {
	t.Helper()
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img = testutil.RandomImage(t, 2, 10_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	idx = testutil.RandomIndex(t, 1, 10_000)
	idx.Push(t, reg.Host(), "multi", "v2")
	c = newClient(t)
	single, multi = reg.Host()+"/team/app:v1", reg.Host()+"/multi:v2"
	if _, err := c.Pull(ctx, single, resolver()); err != nil {
		t.Fatalf("Pull(%q) = %v", single, err)
	}
	if _, err := c.Pull(ctx, multi, resolver(), containerd.WithAllPlatforms); err != nil {
		t.Fatalf("Pull(%q) = %v", multi, err)
	}
	return c, reg.Host(), single, multi, img, idx
}

// tarFiles lists an archive's files and their contents.
func tarFiles(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = data
	}
}

func checkImported(t *testing.T, c *containerd.Client, name string, want ocispec.Descriptor) {
	t.Helper()
	ctx := context.Background()
	got, err := c.GetImage(ctx, name)
	if err != nil {
		t.Fatalf("GetImage(%q) after import = %v", name, err)
	}
	if got.Target().Digest != want.Digest {
		t.Fatalf("GetImage(%q) target = %s, want %s", name, got.Target().Digest, want.Digest)
	}
	if _, err := got.RootFS(ctx); err != nil {
		t.Fatalf("RootFS(%q) = %v", name, err)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	c, _, single, multi, img, idx := pulled(t)
	var buf bytes.Buffer
	if err := c.Export(ctx, &buf, containerd.WithExportImage(single), containerd.WithExportImage(multi)); err != nil {
		t.Fatalf("Export = %v", err)
	}
	files := tarFiles(t, buf.Bytes())
	for d := range idx.Blobs {
		if _, ok := files["blobs/sha256/"+d.Encoded()]; !ok {
			t.Errorf("archive lacks blob %s of the index", d)
		}
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 2 {
		t.Fatalf("index.json = %s, %v", files["index.json"], err)
	}
	if a := index.Manifests[0].Annotations; a[ocispec.AnnotationRefName] != "v1" || a[containerd.AnnotationImageName] != single {
		t.Errorf("index.json entry annotations = %v", a)
	}

	c2 := newClient(t)
	recs, err := c2.Import(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Import = %v", err)
	}
	if len(recs) != 2 || recs[0].Name != single || recs[1].Name != multi {
		t.Fatalf("Import = %v", recs)
	}
	checkImported(t, c2, single, img.Manifest)
	checkImported(t, c2, multi, idx.Manifest)
	for d := range idx.Blobs {
		if _, err := c2.ContentStore().Info(ctx, d); err != nil {
			t.Errorf("Info(%s) after import = %v", d, err)
		}
	}
	// Importing again updates the records and is no error.
	if _, err := c2.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("second Import = %v", err)
	}
}

func TestExportImportDir(t *testing.T) {
	ctx := context.Background()
	c, _, single, multi, img, idx := pulled(t)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := c.ExportDir(ctx, dir, containerd.WithExportImage(single), containerd.WithExportImage(multi)); err != nil {
		t.Fatalf("ExportDir = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", img.Config.Digest.Encoded())); err != nil {
		t.Fatalf("config blob in layout: %v", err)
	}
	c2 := newClient(t)
	recs, err := c2.ImportDir(ctx, dir)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ImportDir = %v, %v", recs, err)
	}
	checkImported(t, c2, single, img.Manifest)
	checkImported(t, c2, multi, idx.Manifest)

	// A symlink in the layout is refused.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "blobs", "sha256", "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t).ImportDir(ctx, dir); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "link") {
		t.Fatalf("ImportDir(with symlink) = %v, want InvalidArgument naming it", err)
	}
}

func TestExportPlatform(t *testing.T) {
	ctx := context.Background()
	c, _, _, multi, _, idx := pulled(t)
	var buf bytes.Buffer
	if err := c.Export(ctx, &buf, containerd.WithExportImage(multi), containerd.WithExportPlatform("linux/arm64")); err != nil {
		t.Fatalf("Export(linux/arm64) = %v", err)
	}
	arm := idx.Platforms[1]
	files := tarFiles(t, buf.Bytes())
	if _, ok := files["blobs/sha256/"+idx.Platforms[0].Layers[0].Digest.Encoded()]; ok {
		t.Errorf("archive holds the amd64 layer")
	}
	c2 := newClient(t)
	if _, err := c2.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Import = %v", err)
	}
	got, err := c2.ImageService().Get(ctx, multi)
	if err != nil || got.Target.Digest != arm.Manifest.Digest {
		t.Fatalf("Get(%q) after import = %s, %v; want the arm64 manifest %s", multi, got.Target.Digest, err, arm.Manifest.Digest)
	}
	if _, err := containerd.NewImageWithPlatform(c2, got, platforms.Only(platforms.MustParse("linux/arm64"))).RootFS(ctx); err != nil {
		t.Fatalf("RootFS(linux/arm64) = %v", err)
	}

	err = c.Export(ctx, io.Discard, containerd.WithExportImage(multi), containerd.WithExportPlatform("linux/s390x"))
	if !errdefs.IsNotFound(err) {
		t.Fatalf("Export(linux/s390x) = %v, want NotFound", err)
	}
	if err := c.Export(ctx, io.Discard, containerd.WithExportImage("nope:1")); !errdefs.IsNotFound(err) {
		t.Fatalf("Export(missing image) = %v, want NotFound", err)
	}
	if err := c.Export(ctx, io.Discard); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Export() = %v, want InvalidArgument", err)
	}
}

func TestExportDockerFormat(t *testing.T) {
	ctx := context.Background()
	c, _, single, _, img, _ := pulled(t)
	var buf bytes.Buffer
	if err := c.Export(ctx, &buf, containerd.WithExportImage(single), containerd.WithExportFormat(containerd.FormatDocker)); err != nil {
		t.Fatalf("Export(docker) = %v", err)
	}
	files := tarFiles(t, buf.Bytes())
	var mf []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &mf); err != nil || len(mf) != 1 {
		t.Fatalf("manifest.json = %s, %v", files["manifest.json"], err)
	}
	if mf[0].Config != "blobs/sha256/"+img.Config.Digest.Encoded() || len(mf[0].Layers) != 2 || len(mf[0].RepoTags) != 1 {
		t.Fatalf("manifest.json = %+v", mf[0])
	}
	for _, p := range append([]string{mf[0].Config}, mf[0].Layers...) {
		if _, ok := files[p]; !ok {
			t.Errorf("manifest.json names %s, not in the archive", p)
		}
	}
	c2 := newClient(t)
	if _, err := c2.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Import = %v", err)
	}
	checkImported(t, c2, single, img.Manifest)
}

// dockerSave builds a legacy `docker save` archive: <id>/layer.tar
// uncompressed layers, <id>.json config, manifest.json, repositories.
func TestImportDockerArchive(t *testing.T) {
	ctx := context.Background()
	layer := tarOf(t, map[string]string{"hello.txt": "hello"})
	diff := digest.FromBytes(layer)
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diff}},
	})
	cfgID := digest.FromBytes(cfg).Encoded()
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgID + ".json", "RepoTags": []string{"hello:1"}, "Layers": []string{"abc/layer.tar"}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", mf}, {"abc/", nil}, {"abc/VERSION", []byte("1.0")}, {"abc/layer.tar", layer}, {cfgID + ".json", cfg}, {"repositories", []byte("{}")}} {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	c := newClient(t)
	recs, err := c.Import(ctx, &buf)
	if err != nil || len(recs) != 1 || recs[0].Name != "docker.io/library/hello:1" {
		t.Fatalf("Import(docker save) = %v, %v", recs, err)
	}
	if recs[0].Target.MediaType != images.MediaTypeDockerManifest {
		t.Errorf("target media type = %s", recs[0].Target.MediaType)
	}
	m, err := images.ReadManifest(ctx, c.ContentStore(), recs[0].Target)
	if err != nil || len(m.Layers) != 1 || m.Layers[0].Digest != diff || m.Layers[0].MediaType != images.MediaTypeDockerLayerUncompressed {
		t.Fatalf("ReadManifest = %+v, %v", m, err)
	}
	img, _ := c.GetImage(ctx, recs[0].Name)
	if diffs, err := img.RootFS(ctx); err != nil || len(diffs) != 1 || diffs[0] != diff {
		t.Fatalf("RootFS = %v, %v", diffs, err)
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	tw.Close()
	return buf.Bytes()
}

func TestImportHostile(t *testing.T) {
	ctx := context.Background()
	c, _, single, _, img, _ := pulled(t)
	var good bytes.Buffer
	if err := c.Export(ctx, &good, containerd.WithExportImage(single)); err != nil {
		t.Fatalf("Export = %v", err)
	}
	files := tarFiles(t, good.Bytes())
	type entry struct {
		hdr  tar.Header
		data []byte
	}
	reg := func(name string, data []byte) entry {
		return entry{tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}, data}
	}
	// base is the good archive's entries, the index last.
	base := []entry{reg("oci-layout", files["oci-layout"])}
	for name, data := range files {
		if strings.HasPrefix(name, "blobs/") {
			base = append(base, reg(name, data))
		}
	}
	index := reg("index.json", files["index.json"])
	layer := img.Layers[0].Digest.Encoded()
	cases := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dotdot", append(append([]entry{}, base...), reg("../evil", []byte("x")), index), "../evil"},
		{"absolute", append(append([]entry{}, base...), reg("/etc/evil", []byte("x")), index), "/etc/evil"},
		{"symlink", append(append([]entry{}, base...), entry{tar.Header{Name: "blobs/sha256/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}, nil}, index), "blobs/sha256/link"},
		{"hardlink", append(append([]entry{}, base...), entry{tar.Header{Name: "blobs/sha256/hl", Linkname: "oci-layout", Typeflag: tar.TypeLink}, nil}, index), "blobs/sha256/hl"},
		{"symlink out of archive", append(append([]entry{}, base...), entry{tar.Header{Name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/layer.tar", Linkname: "../../etc/passwd", Typeflag: tar.TypeSymlink}, nil}, index), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/layer.tar"},
		{"fifo", append(append([]entry{}, base...), entry{tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}, nil}, index), "fifo"},
		{"bad blob name", append(append([]entry{}, base...), reg("blobs/sha256/zzzz", []byte("x")), index), "blobs/sha256/zzzz"},
		{"huge index", append(append([]entry{}, base...), reg("index.json", bytes.Repeat([]byte(" "), containerd.MaxImportIndexSize+1))), "index.json"},
		{"wrong content", func() []entry {
			var es []entry
			for _, e := range base {
				if strings.HasSuffix(e.hdr.Name, layer) {
					bad := bytes.Clone(e.data)
					bad[len(bad)/2] ^= 0xff
					e = reg(e.hdr.Name, bad)
				}
				es = append(es, e)
			}
			return append(es, index)
		}(), layer},
		{"missing blob", func() []entry {
			var es []entry
			for _, e := range base {
				if !strings.HasSuffix(e.hdr.Name, layer) {
					es = append(es, e)
				}
			}
			return append(es, index)
		}(), img.Layers[0].Digest.String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range tc.entries {
				hdr := e.hdr
				if err := tw.WriteHeader(&hdr); err != nil {
					t.Fatal(err)
				}
				tw.Write(e.data)
			}
			tw.Close()
			c2 := newClient(t)
			recs, err := c2.Import(ctx, &buf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import = %v, %v; want an error naming %q", recs, err, tc.want)
			}
			if list, err := c2.ListImages(ctx); err != nil || len(list) != 0 {
				t.Fatalf("ListImages after refused import = %d images, %v", len(list), err)
			}
		})
	}
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install -y %s): interoperability not tested", name, name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s = %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func TestSkopeoReadsExport(t *testing.T) {
	skopeo := needTool(t, "skopeo")
	ctx := context.Background()
	c, _, single, multi, img, _ := pulled(t)
	tmp := t.TempDir()
	archive := filepath.Join(tmp, "x.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Export(ctx, f, containerd.WithExportImage(single), containerd.WithExportImage(multi)); err != nil {
		t.Fatalf("Export = %v", err)
	}
	f.Close()
	out := filepath.Join(tmp, "out")
	run(t, skopeo, "--insecure-policy", "copy", "oci-archive:"+archive+":v1", "oci:"+out+":v1")
	run(t, skopeo, "--insecure-policy", "copy", "--all", "oci-archive:"+archive+":v2", "oci:"+out+":v2")
	if _, err := os.Stat(filepath.Join(out, "blobs", "sha256", img.Layers[1].Digest.Encoded())); err != nil {
		t.Fatalf("skopeo's copy lacks a layer: %v", err)
	}
	// The docker format reads as a docker-archive too.
	darchive := filepath.Join(tmp, "d.tar")
	f, _ = os.Create(darchive)
	if err := c.Export(ctx, f, containerd.WithExportImage(single), containerd.WithExportFormat(containerd.FormatDocker)); err != nil {
		t.Fatalf("Export(docker) = %v", err)
	}
	f.Close()
	run(t, skopeo, "--insecure-policy", "copy", "docker-archive:"+darchive, "oci:"+out+":d")
}

func TestImportSkopeoArchives(t *testing.T) {
	skopeo := needTool(t, "skopeo")
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 10_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	src := "docker://" + reg.Host() + "/team/app:v1"
	tmp := t.TempDir()

	oarch := filepath.Join(tmp, "x.tar")
	run(t, skopeo, "--insecure-policy", "copy", "--src-tls-verify=false", src, "oci-archive:"+oarch+":v1")
	c := newClient(t)
	f, _ := os.Open(oarch)
	recs, err := c.Import(ctx, f, containerd.WithImportBaseName(reg.Host()+"/team/app"))
	f.Close()
	if err != nil || len(recs) != 1 || recs[0].Name != reg.Host()+"/team/app:v1" {
		t.Fatalf("Import(skopeo oci-archive) = %v, %v", recs, err)
	}
	checkImported(t, c, recs[0].Name, img.Manifest)
	// Without a base name a bare tag names nothing.
	f, _ = os.Open(oarch)
	recs, err = newClient(t).Import(ctx, f)
	f.Close()
	if err != nil || len(recs) != 0 {
		t.Fatalf("Import(skopeo oci-archive, no base name) = %v, %v; want no records", recs, err)
	}

	darch := filepath.Join(tmp, "y.tar")
	run(t, skopeo, "--insecure-policy", "copy", "--src-tls-verify=false", src, "docker-archive:"+darch+":team/app:v1")
	c = newClient(t)
	f, _ = os.Open(darch)
	recs, err = c.Import(ctx, f)
	f.Close()
	if err != nil || len(recs) != 1 || recs[0].Name != "docker.io/team/app:v1" {
		t.Fatalf("Import(skopeo docker-archive) = %v, %v", recs, err)
	}
	got, err := c.GetImage(ctx, recs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := got.Config(ctx)
	if err != nil {
		t.Fatalf("Config = %v", err)
	}
	diffs, err := got.RootFS(ctx)
	if err != nil || len(diffs) != 2 || diffs[0] != cfg.RootFS.DiffIDs[0] {
		t.Fatalf("RootFS = %v, %v", diffs, err)
	}
	m, err := images.ReadManifest(ctx, c.ContentStore(), got.Target())
	if err != nil {
		t.Fatal(err)
	}
	for n, l := range m.Layers {
		if l.Digest != diffs[n] || l.MediaType != images.MediaTypeDockerLayerUncompressed {
			t.Errorf("layer %d = %s %s, want the uncompressed %s", n, l.MediaType, l.Digest, diffs[n])
		}
	}
}

func TestUmociListsExportDir(t *testing.T) {
	umoci := needTool(t, "umoci")
	ctx := context.Background()
	c, _, single, _, _, _ := pulled(t)
	dir := filepath.Join(t.TempDir(), "layout")
	if err := c.ExportDir(ctx, dir, containerd.WithExportImage(single)); err != nil {
		t.Fatalf("ExportDir = %v", err)
	}
	out, err := exec.Command(umoci, "ls", "--layout", dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "v1" {
		t.Fatalf("umoci ls --layout = %q, %v; want v1", out, err)
	}
}
