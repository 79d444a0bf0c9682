package credentials_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daemonless/containerd/remotes/docker/credentials"
)

// ExampleLoad reads a docker config.json from a directory of its own, as
// `docker login` writes it, and looks up Docker Hub by any of its names.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	config := `{"auths": {"https://index.docker.io/v1/": {"auth": "` + auth + `"}}}`
	_ = os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600)

	store, err := credentials.Load(
		credentials.WithDockerConfigDir(dir),
		credentials.WithAuthFile(""), // no podman auth.json
		credentials.WithStatic("localhost:5000", "bob", "hunter2"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, host := range []string{"docker.io", "registry-1.docker.io", "localhost:5000", "ghcr.io"} {
		user, _, err := store.Credentials(host)
		fmt.Printf("%s: %q %v\n", host, user, err)
	}
	// Output:
	// docker.io: "alice" <nil>
	// registry-1.docker.io: "alice" <nil>
	// localhost:5000: "bob" <nil>
	// ghcr.io: "" <nil>
}
