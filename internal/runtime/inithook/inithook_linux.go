//go:build linux && cgo

package inithook

import (
	"os"
	"runtime"

	"github.com/opencontainers/runc/libcontainer"
	// The C half of the hook: a constructor that runs before the Go
	// runtime starts and, in a re-executed init, joins or creates the
	// container's namespaces.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Available reports whether this build can run containers: the hook is
// compiled in (Linux, cgo).
const Available = true

// InitPipeEnv is the environment variable libcontainer passes the init's
// bootstrap pipe in. A process is a re-executed container init exactly when
// it is set and not empty.
const InitPipeEnv = "_LIBCONTAINER_INITPIPE"

// IsInit reports whether this process is a container init that libcontainer
// re-executed, judged by its environment alone.
func IsInit() bool {
	return os.Getenv(InitPipeEnv) != ""
}

func init() {
	if IsInit() {
		// Does not return: the process becomes the container's init.
		libcontainer.Init()
	}
	// Keep the main thread for the main goroutine. For every container it
	// creates, libcontainer runs a goroutine that locks its thread, joins
	// the container's mount namespace and returns without unlocking, so
	// that the thread dies with it. The main thread cannot die: Go parks
	// it forever instead, still in that namespace, which then outlives its
	// container (with every mount in it), and /proc/self, which shows the
	// main thread, shows the container's mounts and root from then on.
	// Locked to the main goroutine, the main thread never runs another.
	runtime.LockOSThread()
}
