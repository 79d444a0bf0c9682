//go:build !linux || !cgo

package inithook

// Available reports whether this build can run containers: the hook is
// compiled in (Linux, cgo).
const Available = false

// InitPipeEnv is the environment variable libcontainer passes the init's
// bootstrap pipe in. A process is a re-executed container init exactly when
// it is set and not empty.
const InitPipeEnv = "_LIBCONTAINER_INITPIPE"

// IsInit reports whether this process is a container init that libcontainer
// re-executed. Without the hook compiled in, it never is.
func IsInit() bool { return false }
