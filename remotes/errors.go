package remotes

import (
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// MountedError is the AlreadyExists error of a Pusher that did not need
// the content because the registry mounted it from another repository:
// errdefs.IsAlreadyExists is true for it, and errors.As tells it apart.
type MountedError struct {
	// Digest is the blob mounted.
	Digest digest.Digest
	// From is the repository it was mounted from: "docker.io/library/redis".
	From string
}

func (e *MountedError) Error() string {
	return fmt.Sprintf("blob %s: mounted from %s", e.Digest, e.From)
}

// Unwrap returns errdefs.ErrAlreadyExists.
func (e *MountedError) Unwrap() error { return errdefs.ErrAlreadyExists }
