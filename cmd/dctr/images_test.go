package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daemonless/containerd/internal/testutil"
)

// TestImagesVerbs: pull (plain progress lines off a terminal), ls, tag,
// inspect, push to another repository, rm.
func TestImagesVerbs(t *testing.T) {
	reg := testutil.NewRegistry(t)
	idx := testutil.RandomIndex(t, 2, 40_000)
	idx.Push(t, reg.Host(), "team/app", "v1")
	c := newRemoteCLI(t)
	ref := reg.Host() + "/team/app:v1"

	out := c.ok(nil, "images", "pull", "--platform", "linux/arm64", ref)
	if !strings.HasPrefix(out, ref+": resolved "+idx.Manifest.Digest.String()+"\n") {
		t.Errorf("dctr images pull does not start with the resolved line:\n%s", out)
	}
	if !strings.Contains(out, ": done ") || !strings.Contains(out, "elapsed: ") || !strings.Contains(out, ref+": "+idx.Manifest.Digest.String()+"\nunpacked into ") {
		t.Fatalf("dctr images pull printed:\n%s", out)
	}
	if n := strings.Count(out, ": done "); n != 5 {
		t.Errorf("pull printed %d done lines, want 5 (index, manifest, config, 2 layers):\n%s", n, out)
	}

	rows := lines(c.ok(nil, "images", "ls"))
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "REF") {
		t.Fatalf("dctr images ls:\n%s", strings.Join(rows, "\n"))
	}
	for _, want := range []string{ref, "application/vnd.oci.image.index.v1+json", idx.Manifest.Digest.String(), "linux/amd64,linux/arm64"} {
		if !strings.Contains(rows[1], want) {
			t.Errorf("dctr images ls row %q lacks %q", rows[1], want)
		}
	}

	c.ok(nil, "images", "tag", ref, reg.Host()+"/team/app:v2")
	if got := lines(c.ok(nil, "images", "ls", "-q")); len(got) != 2 {
		t.Fatalf("dctr images ls -q after tag = %q", got)
	}
	var inspected struct {
		Name   string
		Size   int64
		Config struct{ Architecture string }
	}
	if err := json.Unmarshal([]byte(c.ok(nil, "images", "inspect", ref)), &inspected); err != nil {
		t.Fatal(err)
	}
	if inspected.Name != ref || inspected.Config.Architecture != "arm64" || inspected.Size == 0 {
		t.Errorf("dctr images inspect = %+v", inspected)
	}

	// One platform pulled: the index cannot go to another repository,
	// and the error says why.
	dst := reg.Host() + "/other/app:copy"
	if r := c.run(nil, "images", "push", dst, ref); r.code != exitFailure || !strings.Contains(r.stderr, "linux/amd64") || !strings.Contains(r.stderr, "all platforms") {
		t.Fatalf("push of an index with a platform missing: %v", r)
	}
	c.ok(nil, "images", "pull", "--all-platforms", ref)
	if out := c.ok(nil, "images", "push", dst, ref); !strings.HasSuffix(out, reg.Host()+"/other/app: "+idx.Manifest.Digest.String()+"\n") {
		t.Fatalf("dctr images push printed:\n%s", out)
	}
	fresh := newRemoteCLI(t)
	fresh.ok(nil, "images", "pull", "--platform", "linux/arm64", dst)

	if out := c.ok(nil, "images", "rm", reg.Host()+"/team/app:v2"); out != reg.Host()+"/team/app:v2\n" {
		t.Fatalf("dctr images rm = %q", out)
	}
	checkFailure(t, c.run(nil, "images", "rm", "no/such:image"), exitFailure, "no/such")
	r := c.run(nil, "images", "pull", "--platform", "linux/s390x", ref)
	if r.code != exitFailure || !strings.Contains(r.stderr, "linux/amd64") {
		t.Fatalf("pull of a platform the index lacks: %v", r)
	}
}

// TestImagesExportImport: export to a tar and to a directory, import both
// into fresh roots; a missing image and a bad format are refused.
func TestImagesExportImport(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 20_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	c := newRemoteCLI(t)
	ref := reg.Host() + "/team/app:v1"
	c.ok(nil, "images", "pull", ref)

	tarPath := filepath.Join(t.TempDir(), "app.tar")
	c.ok(nil, "images", "export", tarPath, ref)
	dir := t.TempDir()
	c.ok(nil, "images", "export", dir, ref)
	for _, src := range []string{tarPath, dir} {
		fresh := newRemoteCLI(t)
		out := fresh.ok(nil, "images", "import", src)
		if out != ref+": "+img.Manifest.Digest.String()+"\n" {
			t.Fatalf("dctr images import %s = %q", src, out)
		}
		if got := lines(fresh.ok(nil, "images", "ls", "-q")); len(got) != 1 || got[0] != ref {
			t.Fatalf("dctr images ls -q after import = %q", got)
		}
	}
	checkFailure(t, c.run(nil, "images", "export", tarPath, "no/such:image"), exitFailure, "no/such")
	checkFailure(t, c.run(nil, "images", "export", "--format", "zip", tarPath, ref), exitUsage, "oci or docker")
	checkFailure(t, c.run(nil, "images", "import", filepath.Join(t.TempDir(), "missing.tar")), exitFailure, "missing.tar")
}
