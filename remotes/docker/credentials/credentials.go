package credentials

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

const (
	// MaxFileSize bounds the configuration files read.
	MaxFileSize = 1 << 20
	// MaxHelperOutput bounds what a credential helper may print.
	MaxHelperOutput = 1 << 20
	// DefaultHelperTimeout bounds a credential helper's run.
	DefaultHelperTimeout = 30 * time.Second
)

// dockerHubKey is the key docker writes Docker Hub's credentials under,
// and the server URL its helpers know Docker Hub by.
const dockerHubKey = "https://index.docker.io/v1/"

// Opt configures Load.
type Opt func(*options) error

type options struct {
	static        map[string]entry
	authFile      *string
	dockerDir     *string
	home          *string
	helperTimeout time.Duration
}

// WithStatic gives credentials for host, ahead of every file. secret is
// a password, or an identity token when username is empty. host is
// matched as keys of the files are (see the package documentation). The
// default is none.
func WithStatic(host, username, secret string) Opt {
	return func(o *options) error {
		key, ok := hostKey(host)
		if !ok || key == "" {
			return fmt.Errorf("static credentials for %q: not a registry host: %w", host, errdefs.ErrInvalidArgument)
		}
		o.static[key] = entry{username, secret}
		return nil
	}
}

// WithAuthFile sets the containers auth file (podman's and skopeo's
// auth.json) to read, in place of $REGISTRY_AUTH_FILE and the default
// places; a path that does not exist is a NotFound error from Load. An
// empty path reads none. The default is $REGISTRY_AUTH_FILE, else the
// first of $XDG_RUNTIME_DIR/containers/auth.json and
// <home>/.config/containers/auth.json that exists.
func WithAuthFile(path string) Opt {
	return func(o *options) error {
		o.authFile = &path
		return nil
	}
}

// WithDockerConfigDir sets the directory whose config.json is docker's
// configuration, in place of $DOCKER_CONFIG; an empty dir reads none. The
// default is $DOCKER_CONFIG, else <home>/.docker.
func WithDockerConfigDir(dir string) Opt {
	return func(o *options) error {
		o.dockerDir = &dir
		return nil
	}
}

// WithHomeDir sets the home directory the default places are under; an
// empty dir means none. The default is the user's home directory
// (os.UserHomeDir). The environment variables that name files are still
// read.
func WithHomeDir(dir string) Opt {
	return func(o *options) error {
		o.home = &dir
		return nil
	}
}

// WithHelperTimeout bounds each run of a credential helper. The default
// is DefaultHelperTimeout.
func WithHelperTimeout(d time.Duration) Opt {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("helper timeout %v: %w", d, errdefs.ErrInvalidArgument)
		}
		o.helperTimeout = d
		return nil
	}
}

// entry is one set of credentials.
type entry struct {
	username, secret string
}

// Store holds the credentials of the sources Load found. It is read-only
// after Load and safe for concurrent use.
type Store struct {
	static  map[string]entry
	files   []*configFile // in order of precedence
	timeout time.Duration
}

// Load reads the credential files the options and the environment name
// (see the package documentation) and returns a Store over them. Files
// that do not exist are skipped, except one named by WithAuthFile.
func Load(opts ...Opt) (*Store, error) {
	o := options{static: map[string]entry{}, helperTimeout: DefaultHelperTimeout}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
	}
	home := ""
	if o.home != nil {
		home = *o.home
	} else if h, err := os.UserHomeDir(); err == nil {
		home = h
	}
	s := &Store{static: o.static, timeout: o.helperTimeout}

	authFile, required := "", false
	switch {
	case o.authFile != nil:
		authFile, required = *o.authFile, true
	case os.Getenv("REGISTRY_AUTH_FILE") != "":
		authFile = os.Getenv("REGISTRY_AUTH_FILE")
	default:
		var candidates []string
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			candidates = append(candidates, filepath.Join(x, "containers", "auth.json"))
		}
		if home != "" {
			candidates = append(candidates, filepath.Join(home, ".config", "containers", "auth.json"))
		}
		for _, c := range candidates {
			if _, err := os.Stat(c); err == nil {
				authFile = c
				break
			}
		}
	}
	dockerDir := ""
	switch {
	case o.dockerDir != nil:
		dockerDir = *o.dockerDir
	case os.Getenv("DOCKER_CONFIG") != "":
		dockerDir = os.Getenv("DOCKER_CONFIG")
	case home != "":
		dockerDir = filepath.Join(home, ".docker")
	}

	if authFile != "" {
		f, err := readConfigFile(authFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !required:
		case err != nil:
			return nil, err
		default:
			s.files = append(s.files, f)
		}
	}
	if dockerDir != "" {
		f, err := readConfigFile(filepath.Join(dockerDir, "config.json"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			s.files = append(s.files, f)
		}
	}
	return s, nil
}

// Credentials returns the username and secret for a registry host
// ("docker.io", "ghcr.io", "localhost:5000"): a password, or an identity
// token when username is empty. Both are empty when no source has any.
// It runs a credential helper when a file names one for the host.
func (s *Store) Credentials(host string) (username, secret string, err error) {
	key, ok := hostKey(host)
	if !ok || key == "" {
		return "", "", fmt.Errorf("credentials for %q: not a registry host: %w", host, errdefs.ErrInvalidArgument)
	}
	if e, ok := s.static[key]; ok {
		return e.username, e.secret, nil
	}
	for _, f := range s.files {
		helper := f.helpers[key]
		if helper == "" {
			helper = f.store
		}
		if helper != "" {
			server := f.keys[key]
			if server == "" {
				server = serverURL(key)
			}
			e, found, err := runHelper(helper, server, s.timeout)
			if err != nil {
				return "", "", fmt.Errorf("credentials for %s from %s: %w", host, f.path, err)
			}
			if found {
				return e.username, e.secret, nil
			}
		}
		if e, ok := f.auths[key]; ok {
			return e.username, e.secret, nil
		}
	}
	return "", "", nil
}

// hostKey returns the key host or a file's key is matched by: the host
// and port, lowercased, Docker Hub's names made one. ok is false for a
// key that names a namespace inside a registry.
func hostKey(s string) (key string, ok bool) {
	s = strings.TrimSpace(s)
	scheme := false
	if i := strings.Index(s, "://"); i >= 0 {
		s, scheme = s[i+3:], true
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		switch p := strings.TrimSuffix(s[i:], "/"); {
		case scheme, p == "", p == "/v1", p == "/v2":
		default:
			return "", false
		}
		s = s[:i]
	}
	s = strings.ToLower(s)
	switch s {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io", true
	}
	return s, true
}

// serverURL is the server URL a helper is asked about for key when the
// file has no auths entry to name it.
func serverURL(key string) string {
	if key == "docker.io" {
		return dockerHubKey
	}
	return key
}
