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
	"github.com/daemonless/containerd/events"
)

// Watch the content store's events and one of the program's own.
func ExampleClient_Subscribe() {
	root, _ := os.MkdirTemp("", "dctr-example")
	defer os.RemoveAll(root)
	client, err := containerd.New(root, containerd.WithNamespace("example"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the subscription
	ch, errs := client.Subscribe(ctx, `topic~=^/content/`, "topic==/example/done")

	data := "hello, events\n"
	desc := ocispec.Descriptor{Digest: digest.FromString(data), Size: int64(len(data))}
	cs := client.ContentStore()
	if err := content.WriteBlob(ctx, cs, "greeting", strings.NewReader(data), desc); err != nil {
		log.Fatal(err)
	}
	if err := cs.Delete(ctx, desc.Digest); err != nil {
		log.Fatal(err)
	}
	if err := client.Publish(ctx, "/example/done", "that is all"); err != nil {
		log.Fatal(err)
	}

	for {
		select {
		case env := <-ch:
			switch e := env.Event.(type) {
			case *events.ContentCreate:
				fmt.Println(env.Namespace, env.Topic, e.Digest.Encoded()[:12], e.Size)
			case *events.ContentDelete:
				fmt.Println(env.Namespace, env.Topic, e.Digest.Encoded()[:12])
			case string:
				fmt.Println(env.Namespace, env.Topic, e)
				return
			}
		case err := <-errs:
			log.Fatal(err)
		}
	}
	// Output:
	// example /content/create a28a0d7af107 14
	// example /content/delete a28a0d7af107
	// example /example/done that is all
}
