package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/internal/testutil"
)

// newRemoteCLI is a CLI whose credential files live in a fresh home, so
// no credentials of the machine's user reach the test registries.
func newRemoteCLI(t *testing.T) *cli {
	c := newCLI(t)
	home := t.TempDir()
	c.env = append(c.env, "HOME="+home, "XDG_RUNTIME_DIR="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"), "REGISTRY_AUTH_FILE=", "DCTR_HOSTS_DIR="+t.TempDir())
	return c
}

// TestFetchAndIngestPipeline: fetch a manifest, then pipe each of its
// layers through "dctr content ingest" in a real shell pipeline, as the
// seed's dist commands did.
func TestFetchAndIngestPipeline(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 100_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	img.Push(t, reg.Host(), "team/app", "v2")
	c := newRemoteCLI(t)
	repo := reg.Host() + "/team/app"
	manifest := img.Blobs[img.Manifest.Digest]

	for _, object := range []string{"v1", img.Manifest.Digest.String()} {
		if out := c.ok(nil, "content", "fetch", repo, object); out != string(manifest) {
			t.Fatalf("dctr content fetch %s %s: %d bytes, not the manifest's %d", repo, object, len(out), len(manifest))
		}
	}
	cfg := img.Blobs[img.Config.Digest]
	for _, hint := range [][]string{nil, {"mediatype:" + ocispec.MediaTypeImageConfig}} {
		args := append([]string{"content", "fetch", repo, img.Config.Digest.String()}, hint...)
		if out := c.ok(nil, args...); out != string(cfg) {
			t.Fatalf("dctr %s: %d bytes, not the config's %d", strings.Join(args, " "), len(out), len(cfg))
		}
	}

	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		d := l.Digest.String()
		script := fmt.Sprintf("%[1]s --root %[2]s content fetch-blob %[3]s %[4]s | %[1]s --root %[2]s content ingest --expected-digest %[4]s layer-%[5]s",
			dctrBin, c.root, repo, d, l.Digest.Encoded()[:12])
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != d {
			t.Fatalf("pipeline for %s: %v: %s", d, err, out)
		}
	}
	listed := c.listed()
	for _, l := range m.Layers {
		if !slices.Contains(listed, l.Digest.String()) {
			t.Errorf("layer %s not in dctr content ls -q: %q", l.Digest, listed)
		}
	}
	if tags := lines(c.ok(nil, "registry", "tags", repo)); !slices.Equal(tags, []string{"v1", "v2"}) {
		t.Errorf("dctr registry tags %s = %q, want v1 v2", repo, tags)
	}
}

// TestPushObject pushes a blob of the store, then again (the registry has
// it), and reads it back from the registry.
func TestPushObject(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newRemoteCLI(t)
	data := randomBytes(11, 300_000)
	d := c.ingest(data, "blob")
	repo := reg.Host() + "/team/blobs"
	if out := c.ok(nil, "content", "push-object", repo, d.String()); out != d.String()+" pushed\n" {
		t.Fatalf("dctr content push-object = %q, want %q", out, d.String()+" pushed")
	}
	if out := c.ok(nil, "content", "push-object", repo, d.String()); out != d.String()+" exists\n" {
		t.Fatalf("dctr content push-object again = %q, want %q", out, d.String()+" exists")
	}
	if out := c.ok(nil, "content", "fetch-blob", repo, d.String()); out != string(data) {
		t.Fatalf("dctr content fetch-blob after push: %d bytes, want the %d pushed", len(out), len(data))
	}
	r := c.run(nil, "content", "push-object", repo, digest.FromString("not here").String())
	checkFailure(t, r, exitFailure, "not found")
}

func TestRemoteBadInput(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newRemoteCLI(t)
	repo := reg.Host() + "/team/app"
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"content", "fetch", repo, "missing-tag"}, exitFailure, []string{"missing-tag", "Not Found"}},
		{[]string{"content", "fetch", repo, digest.FromString("x").String()}, exitFailure, []string{digest.FromString("x").String(), "Not Found"}},
		{[]string{"content", "fetch", "Bad/UPPER", "v1"}, exitFailure, []string{"Bad/UPPER"}},
		{[]string{"content", "fetch", repo, "v1", "notahint"}, exitUsage, []string{"mediatype:TYPE"}},
		{[]string{"content", "fetch-blob", repo, "sha256:../../x"}, exitFailure, []string{"sha256:../../x"}},
		{[]string{"content", "fetch", repo}, exitUsage, nil},
		{[]string{"registry", "tags", repo, "--hosts-dir", "/nonexistent/dir"}, exitFailure, []string{"--hosts-dir"}},
		{[]string{"registry", "tags", repo, "-u", "alice"}, exitFailure, []string{"DCTR_PASSWORD"}},
	} {
		r := c.run(nil, tc.args...)
		checkFailure(t, r, tc.code, tc.want...)
	}
}

// TestRegistryCredentials: a registry with basic auth refuses without
// credentials, and takes them from -u, $DCTR_PASSWORD or docker's
// config.json; a wrong password is refused, naming the user only.
func TestRegistryCredentials(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("alice", "s3cret"))
	img := testutil.RandomImage(t, 1, 1000)
	img.Push(t, reg.Host(), "team/app", "v1", testutil.WithAuth("alice", "s3cret"))
	repo := reg.Host() + "/team/app"

	c := newRemoteCLI(t)
	checkFailure(t, c.run(nil, "registry", "tags", repo), exitFailure)
	if out := c.ok(nil, "registry", "tags", repo, "-u", "alice:s3cret"); out != "v1\n" {
		t.Fatalf("tags with -u = %q", out)
	}
	r := c.run(nil, "registry", "tags", repo, "-u", "alice:wrong-pass")
	checkFailure(t, r, exitFailure, "alice")
	if strings.Contains(r.stderr, "wrong-pass") {
		t.Errorf("the error shows the password: %v", r)
	}

	withEnv := newRemoteCLI(t)
	withEnv.env = append(withEnv.env, "DCTR_PASSWORD=s3cret")
	if out := withEnv.ok(nil, "registry", "tags", repo, "-u", "alice"); out != "v1\n" {
		t.Fatalf("tags with -u alice and $DCTR_PASSWORD = %q", out)
	}

	fromFile := newRemoteCLI(t)
	dir := filepath.Join(strings.TrimPrefix(fromFile.env[0], "HOME="), ".docker")
	os.MkdirAll(dir, 0o700)
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host(), base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := fromFile.ok(nil, "content", "fetch", repo, "v1"); !bytes.Equal([]byte(out), img.Blobs[img.Manifest.Digest]) {
		t.Fatalf("fetch with docker config.json credentials: %d bytes, not the manifest", len(out))
	}
}
