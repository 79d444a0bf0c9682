//go:build cgo

package runtime

import (
	"errors"
	"fmt"
	"os"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/runc/libcontainer"
)

// taskError names task id and the operation op in err, and makes sure it
// carries an errdefs kind: its own if it has one, else the kind of the
// libcontainer error it wraps, else fallback.
func taskError(id, op string, err error, fallback error) error {
	if err == nil {
		return nil
	}
	if hasKind(err) {
		return fmt.Errorf("task %s: %s: %w", id, op, err)
	}
	kind := fallback
	switch {
	case errors.Is(err, libcontainer.ErrExist):
		kind = errdefs.ErrAlreadyExists
	case errors.Is(err, libcontainer.ErrInvalidID):
		kind = errdefs.ErrInvalidArgument
	case errors.Is(err, libcontainer.ErrNotExist),
		errors.Is(err, libcontainer.ErrNotRunning),
		errors.Is(err, os.ErrProcessDone):
		kind = errdefs.ErrNotFound
	case errors.Is(err, libcontainer.ErrRunning),
		errors.Is(err, libcontainer.ErrPaused),
		errors.Is(err, libcontainer.ErrNotPaused):
		kind = errdefs.ErrFailedPrecondition
	case errors.Is(err, os.ErrPermission):
		kind = errdefs.ErrPermissionDenied
	}
	return fmt.Errorf("task %s: %s: %w: %w", id, op, err, kind)
}

// hasKind reports whether err carries an errdefs kind or is a context
// error.
func hasKind(err error) bool {
	return errdefs.Resolve(err) != errdefs.ErrUnknown || errdefs.IsUnknown(err)
}
