package credentials_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes/docker/credentials"
)

// isolate clears the environment the package reads and returns an empty
// home directory.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG"} {
		t.Setenv(v, "")
	}
	return home
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

type creds struct{ user, secret string }

func lookup(t *testing.T, s *credentials.Store, host string) creds {
	t.Helper()
	u, p, err := s.Credentials(host)
	if err != nil {
		t.Fatalf("Credentials(%q) = %v", host, err)
	}
	return creds{u, p}
}

func TestDockerConfig(t *testing.T) {
	config := `{
	"auths": {
		"https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hub:pass") + `"},
		"ghcr.io": {"username": "gh", "password": "ghpass"},
		"https://Quay.io/v1/": {"identitytoken": "quay-identity", "username": "ignored"},
		"http://localhost:5000": {"auth": "` + strings.TrimRight(b64("local:pw"), "=") + `"},
		"registry.test/team": {"username": "team", "password": "teampass"},
		"placeholder.test": {},
		"https://twice.test": {"username": "url", "password": "1"},
		"twice.test": {"username": "bare", "password": "2"}
	},
	"HttpHeaders": {"User-Agent": "x"}
}`
	tests := []struct {
		host string
		want creds
	}{
		{"docker.io", creds{"hubuser", "hub:pass"}},
		{"registry-1.docker.io", creds{"hubuser", "hub:pass"}},
		{"index.docker.io", creds{"hubuser", "hub:pass"}},
		{"https://index.docker.io/v1/", creds{"hubuser", "hub:pass"}},
		{"ghcr.io", creds{"gh", "ghpass"}},
		{"GHCR.IO", creds{"gh", "ghpass"}},
		{"quay.io", creds{"", "quay-identity"}},
		{"localhost:5000", creds{"local", "pw"}},
		{"localhost:5001", creds{}},
		{"registry.test", creds{}}, // only a namespace inside it has an entry
		{"placeholder.test", creds{}},
		{"twice.test", creds{"bare", "2"}},
		{"other.test", creds{}},
	}
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".docker", "config.json"), config)
	s, err := credentials.Load()
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	for _, tt := range tests {
		if got := lookup(t, s, tt.host); got != tt.want {
			t.Errorf("Credentials(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	if _, _, err := s.Credentials(""); !errdefs.IsInvalidArgument(err) {
		t.Errorf(`Credentials("") = %v, want InvalidArgument`, err)
	}
}

func TestSourcesPrecedence(t *testing.T) {
	entry := func(user string) string {
		return `{"auths":{"registry.test":{"username":"` + user + `","password":"pw"}}}`
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, home, dir string) []credentials.Opt
		want  string
	}{
		{"docker config in home", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			return nil
		}, "docker-home"},
		{"DOCKER_CONFIG over home", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			t.Setenv("DOCKER_CONFIG", dir)
			writeFile(t, filepath.Join(dir, "config.json"), entry("docker-env"))
			return nil
		}, "docker-env"},
		{"WithDockerConfigDir over DOCKER_CONFIG", func(t *testing.T, home, dir string) []credentials.Opt {
			t.Setenv("DOCKER_CONFIG", dir)
			writeFile(t, filepath.Join(dir, "config.json"), entry("docker-env"))
			writeFile(t, filepath.Join(dir, "opt", "config.json"), entry("docker-opt"))
			return []credentials.Opt{credentials.WithDockerConfigDir(filepath.Join(dir, "opt"))}
		}, "docker-opt"},
		{"auth.json in home over docker", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), entry("podman-home"))
			return nil
		}, "podman-home"},
		{"XDG_RUNTIME_DIR auth.json over home", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), entry("podman-home"))
			t.Setenv("XDG_RUNTIME_DIR", dir)
			writeFile(t, filepath.Join(dir, "containers", "auth.json"), entry("podman-xdg"))
			return nil
		}, "podman-xdg"},
		{"REGISTRY_AUTH_FILE over XDG", func(t *testing.T, home, dir string) []credentials.Opt {
			t.Setenv("XDG_RUNTIME_DIR", dir)
			writeFile(t, filepath.Join(dir, "containers", "auth.json"), entry("podman-xdg"))
			t.Setenv("REGISTRY_AUTH_FILE", writeFile(t, filepath.Join(dir, "env.json"), entry("podman-env")))
			return nil
		}, "podman-env"},
		{"missing REGISTRY_AUTH_FILE is skipped", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "missing.json"))
			return nil
		}, "docker-home"},
		{"WithAuthFile over REGISTRY_AUTH_FILE", func(t *testing.T, home, dir string) []credentials.Opt {
			t.Setenv("REGISTRY_AUTH_FILE", writeFile(t, filepath.Join(dir, "env.json"), entry("podman-env")))
			return []credentials.Opt{credentials.WithAuthFile(writeFile(t, filepath.Join(dir, "opt.json"), entry("podman-opt")))}
		}, "podman-opt"},
		{"empty WithAuthFile reads none", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), entry("podman-home"))
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			return []credentials.Opt{credentials.WithAuthFile("")}
		}, "docker-home"},
		{"WithHomeDir", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			writeFile(t, filepath.Join(dir, ".docker", "config.json"), entry("docker-other-home"))
			return []credentials.Opt{credentials.WithHomeDir(dir)}
		}, "docker-other-home"},
		{"auth.json without the host falls through", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".docker", "config.json"), entry("docker-home"))
			writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), `{"auths":{"other.test":{"auth":"`+b64("x:y")+`"}}}`)
			return nil
		}, "docker-home"},
		{"static over everything", func(t *testing.T, home, dir string) []credentials.Opt {
			writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), entry("podman-home"))
			return []credentials.Opt{credentials.WithStatic("https://Registry.test", "static", "pw")}
		}, "static"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := isolate(t)
			opts := tt.setup(t, home, t.TempDir())
			s, err := credentials.Load(opts...)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if got := lookup(t, s, "registry.test"); got.user != tt.want {
				t.Errorf("Credentials = %q, want user %q", got, tt.want)
			}
		})
	}
}

// helperScript is a credential helper: it logs its arguments and input,
// and answers by the server URL it is asked about.
const helperScript = `#!/bin/sh
server=$(cat)
printf '%s|%s\n' "$*" "$server" >> "$(dirname "$0")/calls.log"
case "$server" in
https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hubpass"}' "$server" ;;
ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"<token>","Secret":"ghtoken"}' ;;
https://url.test) printf '{"ServerURL":"https://url.test","Username":"url","Secret":"pw"}' ;;
broken.test) echo "the keychain is locked"; exit 3 ;;
garbage.test) echo "not json" ;;
big.test) head -c 1100000 /dev/zero | tr '\0' a ;;
slow.test) exec sleep 30 ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac
`

// installHelper writes the helper as docker-credential-<name> into a
// directory put first in PATH, and returns the file its calls are logged
// in.
func installHelper(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		p := filepath.Join(dir, "docker-credential-"+name)
		if err := os.WriteFile(p, []byte(helperScript), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return filepath.Join(dir, "calls.log")
}

func TestHelpers(t *testing.T) {
	home := isolate(t)
	calls := installHelper(t, "store", "special")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{
	"auths": {
		"https://index.docker.io/v1/": {},
		"fallback.test": {"username": "file", "password": "filepw"},
		"https://url.test": {}
	},
	"credsStore": "store",
	"credHelpers": {"ghcr.io": "special", "gone.test": "missing"}
}`)
	s, err := credentials.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want creds
	}{
		{"docker.io", creds{"hubuser", "hubpass"}},
		{"ghcr.io", creds{"", "ghtoken"}},
		{"url.test", creds{"url", "pw"}},           // asked by the key the file spells
		{"fallback.test", creds{"file", "filepw"}}, // helper has none: the file's entry
		{"unknown.test", creds{}},
	}
	for _, tt := range tests {
		if got := lookup(t, s, tt.host); got != tt.want {
			t.Errorf("Credentials(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	log, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := "get|https://index.docker.io/v1/\nget|ghcr.io\nget|https://url.test\nget|fallback.test\nget|unknown.test\n"
	if string(log) != want {
		t.Errorf("helper calls:\n%s\nwant:\n%s", log, want)
	}

	errorsTests := []struct {
		host  string
		check func(error) bool
		text  string
	}{
		{"gone.test", errdefs.IsNotFound, "docker-credential-missing"},
		{"broken.test", errdefs.IsUnknown, "the keychain is locked"},
		{"garbage.test", errdefs.IsUnknown, "docker-credential-store"},
		{"big.test", errdefs.IsUnknown, "over"},
	}
	for _, tt := range errorsTests {
		_, _, err := s.Credentials(tt.host)
		if !tt.check(err) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Credentials(%q) = %v, want an error about %q", tt.host, err, tt.text)
		}
	}
}

func TestHelperTimeout(t *testing.T) {
	home := isolate(t)
	installHelper(t, "store")
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"credsStore":"store"}`)
	s, err := credentials.Load(credentials.WithHelperTimeout(200 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Credentials("slow.test"); !errdefs.IsDeadlineExceeded(err) {
		t.Errorf("Credentials(slow) = %v, want DeadlineExceeded", err)
	}
}

func TestBadHelperName(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".docker", "config.json"), `{"credsStore":"../../bin/sh"}`)
	s, err := credentials.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Credentials("registry.test"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Credentials = %v, want InvalidArgument", err)
	}
}

func TestMalformedFiles(t *testing.T) {
	tests := []struct {
		name    string
		content string
		check   func(error) bool
		text    []string
	}{
		{"syntax", "{\n  \"auths\": {\n    \"x\": {\"auth\": \"secret-value\",}\n}", errdefs.IsInvalidArgument, []string{"config.json", "line 3"}},
		{"type", `{"auths": {"x": {"auth": 12}}}`, errdefs.IsInvalidArgument, []string{"config.json", "line 1"}},
		{"not base64", `{"auths": {"x": {"auth": "%%%secret%%%"}}}`, errdefs.IsInvalidArgument, []string{"config.json", "base64"}},
		{"no colon", `{"auths": {"x": {"auth": "` + b64("secretvalue") + `"}}}`, errdefs.IsInvalidArgument, []string{"config.json", `"x"`}},
		{"too large", `{"auths": {}, "pad": "` + strings.Repeat("a", credentials.MaxFileSize) + `"}`, errdefs.IsInvalidArgument, []string{"config.json", "larger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := isolate(t)
			writeFile(t, filepath.Join(home, ".docker", "config.json"), tt.content)
			_, err := credentials.Load()
			if !tt.check(err) {
				t.Fatalf("Load = %v", err)
			}
			for _, s := range tt.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q quotes the file", err)
			}
		})
	}

	home := isolate(t)
	if _, err := credentials.Load(credentials.WithAuthFile(filepath.Join(home, "missing.json"))); !errdefs.IsNotFound(err) {
		t.Errorf("Load(WithAuthFile(missing)) = %v, want NotFound", err)
	}
	if _, err := credentials.Load(credentials.WithAuthFile(home)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Load(WithAuthFile(a directory)) = %v, want InvalidArgument", err)
	}
	for _, opt := range []credentials.Opt{credentials.WithStatic("", "u", "p"), credentials.WithHelperTimeout(0)} {
		if _, err := credentials.Load(opt); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Load(bad option) = %v, want InvalidArgument", err)
		}
	}
}
