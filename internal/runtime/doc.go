// Package runtime runs OCI containers in the calling process through runc's
// libcontainer: no daemon, no shim, no runc binary. It is the engine under
// the library's Container and Task API.
//
// A Runtime keeps the state of its containers under one directory (on tmpfs,
// such as /run/dctr/<namespace>). Runtime.Create turns an OCI runtime spec
// whose root is an already mounted directory into a container whose init
// process exists and waits: its pid is known, its namespaces, mounts and
// cgroups are set up, but the user's program has not started. Task.Start
// lets it run; Task.Wait, Task.Kill, Task.Status, Task.Pause, Task.Resume,
// Task.Pids, Task.Metrics, Task.Update (live resource limits) and
// Task.Delete do what their names say. Runtime.Load finds a task another
// process created, from its state.
//
// # Exec'd processes
//
// Task.Exec makes a Process that joins the container's namespaces and
// cgroup with its own args, environment, working directory, user,
// capabilities, rlimits and terminal; Process.Start runs it through
// libcontainer's setns path, and it is this process's child, reaped like
// an init. A started exec'd process is recorded in the task's state
// directory (execs/<id>.json: its pid and start time), so that
// Task.LoadProcess in another process finds it, and Task.Pids tells which
// pid is which exec. The records go with the state on Delete.
//
// # Events
//
// WithEventHandler has a function called on each exit of a process this
// process started and on each OOM kill in a task's cgroup (on cgroup v1 an
// eventfd on memory.oom_control, waited on through Go's poller; on v2
// libcontainer's watcher of memory.events). An exit killed by SIGKILL after
// an OOM kill not yet given to another exit is reported OOMKilled.
//
// The package does not mount root filesystems, make specs or keep
// container records: that is the job of the packages above it.
//
// # The init hook
//
// libcontainer starts a container by running the calling program's own
// binary again as the container's init. Package inithook catches that
// re-executed process, by libcontainer's environment and never by its
// arguments, before the program's main runs; this package imports it, so
// any program (and any go test binary) that imports this package can run
// containers with nothing more to do. See package inithook for what it
// costs. Running containers needs Linux, cgo and root; rootless containers
// are not supported yet.
//
// # The caller is the parent
//
// The init of every task is a child of the calling process. A goroutine per
// task reaps it as soon as it exits and keeps its status, so an exit is
// never lost: Wait, called before Start, after the exit, or by many
// callers, always reports the same ExitStatus. The code is exact: the exit
// code of a process that exited, 128+n for one killed by signal n. When it
// cannot be known, Code is UnknownExitStatus and Err says why; a 0 is never
// made up.
//
// # Standard streams
//
// IO's streams are plain pipes, or a terminal. An *os.File is
// handed to the container as it is; any other reader or writer is copied
// through a pipe by a goroutine, and when Stdout and Stderr are the same
// comparable writer, one pipe serves both, so its Write is never called
// concurrently. A task's exit is reported once its output is drained and
// the copying goroutines have returned, so whoever gets the ExitStatus can
// read the output without a race. Only a process that outlives the init
// (possible without a pid namespace) can hold the pipes open longer: the
// output is then cut after the drain timeout (WithIODrainTimeout). A Write
// of the caller's that never returns holds the exit report with it; a
// Stdin reader that blocks forever keeps only its own goroutine, as with
// os/exec.
//
// With IO.Terminal, the process's init makes a pseudo-terminal and sends
// its master back through libcontainer's console socket; the master is
// non-blocking, read and written through Go's poller. What Stdin gives is
// typed on it, and its EOF is an end-of-file character (^D); its output
// goes to Stdout, until the last slave is closed. Resize sets its window
// size (before Start too); CloseIO types ^D, or, without a terminal,
// closes the stdin pipe.
//
// # Cgroups
//
// The container's cgroup is the spec's Linux.CgroupsPath when set, and
// otherwise <parent>/<id>, the parent being WithCgroupParent's, or the
// Runtime's default (WithDefaultCgroupParent, DefaultCgroupParent). The
// cgroupfs driver of libcontainer creates it on cgroup v1, hybrid and v2
// hosts alike; Delete removes it (its parents stay, shared by other
// containers). The systemd driver is not used.
//
// # Network
//
// A spec with a new network namespace gets only its loopback interface,
// brought up by libcontainer. Anything more is the caller's to set up.
//
// # Seccomp
//
// libcontainer installs seccomp filters only when built with cgo, the
// "seccomp" build tag and libseccomp (Debian: libseccomp-dev). Without the
// tag, Create refuses a spec that has a seccomp profile with a
// NotImplemented error instead of starting a container without its filter.
//
// # Process-wide effects
//
// Each Create marks every file descriptor of the process above 2
// close-on-exec (libcontainer does, so that none leaks into a container);
// Go opens its files close-on-exec anyway. Package inithook keeps the main
// goroutine on the main thread (see there why). libcontainer logs its rare
// warnings through logrus's standard logger.
package runtime
