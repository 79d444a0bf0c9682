package testutil

import (
	"net/http"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestStartDockerRegistry(t *testing.T) {
	host := StartDockerRegistry(t)
	img := RandomImage(t, 2, 3000)
	img.Push(t, host, "debian/registry", "v1")

	base := "http://" + host + "/v2/debian/registry/"
	resp, body := get(t, http.MethodGet, base+"manifests/v1", hdr("Accept", ocispec.MediaTypeImageManifest))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest = %s", resp.Status)
	}
	mustEqual(t, "GET manifest", body, img.Blobs[img.Manifest.Digest])
	layer := img.Layers[1]
	resp, body = get(t, http.MethodGet, base+"blobs/"+layer.Digest.String(), hdr("Range", "bytes=10-"))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET layer with Range = %s", resp.Status)
	}
	mustEqual(t, "GET layer bytes=10-", body, img.Blobs[layer.Digest][10:])

	// Deletes are enabled.
	req, _ := http.NewRequest(http.MethodDelete, base+"manifests/"+img.Manifest.Digest.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE manifest = %s, want 202", resp.Status)
	}
}

func TestStartDockerRegistrySkipsWhenAbsent(t *testing.T) {
	var skipped bool
	t.Run("absent", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		startDockerRegistryAt(t, filepath.Join(t.TempDir(), "no-such-registry"))
		t.Error("startDockerRegistryAt returned for a missing binary")
	})
	if !skipped {
		t.Fatal("a missing docker-registry did not skip the test")
	}
}

func TestRequiresRoot(t *testing.T) {
	var skipped bool
	t.Run("root", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		RequiresRoot(t)
	})
	if isRoot := euid() == 0; skipped == isRoot {
		t.Fatalf("RequiresRoot skipped = %v with euid %d", skipped, euid())
	}
}
