package remotes_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/content/local"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

// ExampleFetch copies a blob from a registry into a local content store,
// checked on the way in, and reads it back.
func ExampleFetch() {
	layer := []byte("layer bytes")
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
	// A stand-in registry serving that one blob.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/team/app/blobs/"+desc.Digest.String() {
			http.NotFound(w, r)
			return
		}
		w.Write(layer)
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "example-fetch")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := local.NewStore(dir)
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	fetcher, err := docker.NewResolver().Fetcher(ctx, strings.TrimPrefix(srv.URL, "http://")+"/team/app")
	if err != nil {
		panic(err)
	}
	report := func(p remotes.Progress) {
		if p.State == remotes.ProgressDone || p.State == remotes.ProgressExists {
			fmt.Println(remotes.RefKey(p.Desc)[:12], p.State == remotes.ProgressDone, p.Offset)
		}
	}
	for range 2 { // the second time, the store has it
		if err := remotes.Fetch(ctx, store, fetcher, desc, remotes.WithProgress(report)); err != nil {
			panic(err)
		}
	}
	b, err := content.ReadBlob(ctx, store, desc, 1<<20)
	fmt.Printf("%q %v\n", b, err)
	// Output:
	// layer-sha256 true 11
	// layer-sha256 false 11
	// "layer bytes" <nil>
}
