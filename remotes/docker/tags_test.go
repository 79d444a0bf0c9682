package docker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/remotes"
)

func TestTags(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.pageSize = 100
	manifest := imageManifest(t, reg.addBlob("app", []byte(`{}`)))
	var want []string
	for i := range 250 {
		tag := fmt.Sprintf("v%03d", i)
		want = append(want, tag)
		reg.addManifest("app", tag, ocispec.MediaTypeImageManifest, manifest)
	}
	tagger := testResolver().(remotes.Tagger)
	got, err := tagger.Tags(context.Background(), reg.host()+"/app")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Tags = %d tags (%v), %v; want %d", len(got), got[:min(3, len(got))], err, len(want))
	}
	if n := len(reg.requests("GET ")); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}
	if _, err := tagger.Tags(context.Background(), reg.host()+"/none"); !errdefs.IsNotFound(err) {
		t.Errorf("Tags of a missing repository = %v, want NotFound", err)
	}
}
