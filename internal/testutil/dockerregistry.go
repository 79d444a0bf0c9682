package testutil

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// DockerRegistryPath is where Debian's docker-registry package installs the
// registry binary.
const DockerRegistryPath = "/usr/bin/docker-registry"

// dockerRegistryStartTimeout bounds how long StartDockerRegistry waits for
// the registry to answer.
const dockerRegistryStartTimeout = 15 * time.Second

// StartDockerRegistry runs Debian's docker-registry (distribution 2.8) as a
// separate process for the rest of the test, and returns its host,
// "127.0.0.1:PORT". It stores on the filesystem in a temporary directory,
// has no auth and allows deletes. It returns once GET /v2/ answers; the
// process is killed when the test ends, and its log is shown if the test
// failed. It skips the test when the binary is not installed.
func StartDockerRegistry(t testing.TB) string {
	t.Helper()
	return startDockerRegistryAt(t, DockerRegistryPath)
}

func startDockerRegistryAt(t testing.TB, binary string) string {
	t.Helper()
	if _, err := os.Stat(binary); err != nil {
		t.Skip("docker-registry not installed: apt-get install docker-registry")
	}
	var lastErr error
	// A port found free can be taken before the registry binds it; then
	// the registry exits and we try another.
	for range 3 {
		host, err := startDockerRegistry(t, binary)
		if err == nil {
			return host
		}
		lastErr = err
	}
	t.Fatalf("StartDockerRegistry: %v", lastErr)
	return ""
}

func startDockerRegistry(t testing.TB, binary string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	host := l.Addr().String()
	l.Close()

	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %x
`, filepath.Join(dir, "data"), host, secret)
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return "", err
	}

	var logs lockedBuffer
	cmd := exec.Command(binary, "serve", configPath)
	cmd.Env = []string{} // no REGISTRY_* overrides from the environment
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	if err := waitForRegistry(host, exited, &waitErr); err != nil {
		stop()
		return "", fmt.Errorf("%w\ndocker-registry log:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("docker-registry log:\n%s", logs.String())
		}
	})
	return host, nil
}

// waitForRegistry polls GET /v2/ on host until it answers, the process
// exits, or the start timeout passes.
// waitErr is the process's exit error, to be read once exited is closed.
func waitForRegistry(host string, exited <-chan struct{}, waitErr *error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(dockerRegistryStartTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /v2/ = %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("docker-registry on %s did not answer within %v: %v", host, dockerRegistryStartTimeout, err)
		}
		select {
		case <-exited:
			werr := *waitErr
			if werr == nil {
				werr = errors.New("exit status 0")
			}
			return fmt.Errorf("docker-registry exited before answering: %v", werr)
		case <-tick.C:
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
