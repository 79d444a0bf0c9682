package runtime

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/internal/runtime/inithook"
)

// Runtime runs containers whose libcontainer state lives under one
// directory. It is safe for concurrent use; it keeps no list of its tasks,
// the state directory does.
type Runtime struct {
	stateDir string
	opts     options
}

// New returns a Runtime keeping its containers' state under stateDir, an
// absolute path, created (0700) if missing. It should be on tmpfs, as
// /run is, so that no state outlives a reboot. Each container's state is
// <stateDir>/<id>.
//
// New fails with NotImplemented where this build cannot run containers
// (not Linux, or no cgo), and with InvalidArgument on a relative stateDir
// or a bad option.
func New(stateDir string, opts ...Opt) (*Runtime, error) {
	if !inithook.Available {
		return nil, fmt.Errorf("runtime: running containers needs Linux and cgo: %w", errdefs.ErrNotImplemented)
	}
	if !filepath.IsAbs(stateDir) {
		return nil, fmt.Errorf("runtime: state directory %q: not absolute: %w", stateDir, errdefs.ErrInvalidArgument)
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("runtime: state directory: %w", err)
	}
	return &Runtime{stateDir: filepath.Clean(stateDir), opts: o}, nil
}

// StateDir returns the directory the Runtime keeps its containers' state
// in.
func (r *Runtime) StateDir() string { return r.stateDir }
