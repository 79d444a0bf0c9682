package docker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/remotes/docker"
)

// ExampleNewResolver resolves a tag on a registry and fetches the manifest
// it names. The registry here is a stand-in serving one manifest; on
// loopback, the default hosts speak plain http.
func ExampleNewResolver() {
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	dgst := digest.FromString(manifest)
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
		w.Header().Set("Docker-Content-Digest", dgst.String())
		w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
		io.WriteString(w, manifest)
	}
	mux.HandleFunc("/v2/team/app/manifests/v1", serve)
	mux.HandleFunc("/v2/team/app/manifests/"+dgst.String(), serve)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	resolver := docker.NewResolver()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	_, desc, err := resolver.Resolve(ctx, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(desc.MediaType, desc.Size, desc.Digest == dgst)

	fetcher, err := resolver.Fetcher(ctx, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	rc, err := fetcher.Fetch(ctx, desc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(rc) // checked: size, digest, and that it is a manifest
	fmt.Println(len(b), err)
	// Output:
	// application/vnd.oci.image.manifest.v1+json 246 true
	// 246 <nil>
}
