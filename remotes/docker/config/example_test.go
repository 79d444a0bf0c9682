package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/remotes/docker/config"
)

// ExampleConfigureHosts serves docker.io through a pull-through mirror,
// as a certs.d/docker.io/hosts.toml says, and shows the defaults for
// other registries.
func ExampleConfigureHosts() {
	certsd, _ := os.MkdirTemp("", "certs.d")
	defer os.RemoveAll(certsd)
	_ = os.MkdirAll(filepath.Join(certsd, "docker.io"), 0o755)
	_ = os.WriteFile(filepath.Join(certsd, "docker.io", "hosts.toml"), []byte(`
server = "https://registry-1.docker.io"

[host."https://mirror.internal:5000"]
  capabilities = ["pull", "resolve"]
`), 0o644)

	hosts := config.ConfigureHosts(context.Background(),
		config.WithHostDir(certsd),
		config.WithCredentials(func(host string) (string, string, error) { return "", "", nil }))
	for _, name := range []string{"docker.io", "ghcr.io", "localhost:5000"} {
		endpoints, err := hosts(name)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, h := range endpoints {
			fmt.Printf("%s: %s://%s%s push=%v\n", name, h.Scheme, h.Host, h.Path, h.Capabilities.Has(docker.HostCapabilityPush))
		}
	}
	// Output:
	// docker.io: https://mirror.internal:5000/v2 push=false
	// docker.io: https://registry-1.docker.io/v2 push=true
	// ghcr.io: https://ghcr.io/v2 push=true
	// localhost:5000: http://localhost:5000/v2 push=true
}
