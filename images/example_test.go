package images_test

import (
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/filters"
	"github.com/daemonless/containerd/images"
)

// Check a record before storing it, and select records with a filter.
func ExampleValidate() {
	img := images.Image{
		Name:   "docker.io/library/redis:7",
		Target: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("index"), Size: 512},
		Labels: map[string]string{"team": "cache"},
	}
	fmt.Println(images.Validate(img))
	fmt.Println(images.Validate(images.Image{Name: "no-target"}) != nil)

	f, _ := filters.Parse(`name~=^docker.io/library/,labels.team==cache`)
	fmt.Println(f.Match(images.Adaptor(img)))
	// Output:
	// <nil>
	// true
	// true
}
