package containerd_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/namespaces"
)

// Store a blob, label it and read it back, in two namespaces.
func Example() {
	root, _ := os.MkdirTemp("", "dctr-example")
	defer os.RemoveAll(root)

	client, err := containerd.New(root, containerd.WithNamespace("example"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	cs := client.ContentStore()

	data := "hello, content store\n"
	desc := ocispec.Descriptor{Digest: digest.FromString(data), Size: int64(len(data))}
	err = content.WriteBlob(ctx, cs, "greeting", strings.NewReader(data), desc,
		content.WithLabels(map[string]string{"purpose": "example"}))
	if err != nil {
		log.Fatal(err)
	}
	b, err := content.ReadBlob(ctx, cs, desc, 1<<20)
	if err != nil {
		log.Fatal(err)
	}
	info, _ := cs.Info(ctx, desc.Digest)
	fmt.Printf("%s %d bytes purpose=%s: %s", desc.Digest.Encoded()[:12], info.Size, info.Labels["purpose"], b)

	// Another namespace does not see it.
	_, err = cs.Info(namespaces.WithNamespace(ctx, "other"), desc.Digest)
	fmt.Println(err != nil)
	// Output:
	// 882b6c8d0241 21 bytes purpose=example: hello, content store
	// true
}
