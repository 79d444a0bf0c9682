// Package inithook turns the program that imports it into a container init
// when, and only when, libcontainer re-executes it as one.
//
// To start a container, libcontainer (the engine of package
// internal/runtime) runs the calling program's own binary again, as
// "/proc/self/exe init", with pipes to the parent named in environment
// variables. That second process must become the container's init before
// the program's main runs. Importing this package, with a blank import
// if nothing else of it is used, is all a program needs for that:
//
//	import _ "github.com/daemonless/containerd/internal/runtime/inithook"
//
// Package internal/runtime imports it, so any program (and any go test
// binary) built with the library's task API has it already.
//
// # How the re-exec is detected
//
// By libcontainer's environment, never by the command line alone: the
// process is a container init exactly when _LIBCONTAINER_INITPIPE is set
// to a non-empty value, the variable libcontainer passes its bootstrap pipe
// in and the one the C half of the hook (runc's nsenter) keys on too. So a
// program's own "init" subcommand, or any other argument, is left alone:
// without that variable the hook does nothing. The user process a
// container runs never sees the variable, since libcontainer replaces the
// environment with the spec's before executing it.
//
// # What it costs
//
// In a normal process, next to nothing at run time: runc's nsenter C
// constructor reads two environment variables (_LIBCONTAINER_LOGPIPE and
// _LIBCONTAINER_INITPIPE) before the Go runtime starts, and this package's
// init reads one. The price is in the build: importing it links
// libcontainer (a hello-world grows from 2.4 to 6.3 MB) and needs cgo
// (nsenter is C), which makes the binary dynamically linked; measured here,
// that start-up costs about 1.5 ms more (3.4 ms against 1.9 ms), nearly
// all of it the dynamic loading any cgo program pays. The init functions
// of libcontainer's dependencies run on import, as they would anyway
// (about 0.3 ms together; the cgroup v1 driver, for one, checks once
// whether the host is in hybrid mode).
//
// In a normal process the hook also locks the main goroutine to the main
// thread (runtime.LockOSThread in its init function), for good. For each
// container it creates, libcontainer runs a goroutine that locks its
// thread, joins the container's mount namespace and returns without
// unlocking, so that the thread dies with it. Were that goroutine to run on
// the main thread, which cannot die, Go would park the thread forever,
// still in the container's mount namespace: that namespace, with all its
// mounts, would outlive the container, and /proc/self (which shows the
// main thread) would show the container's mounts and root from then on.
// The price is that the main goroutine never runs on another thread, and
// no other goroutine on the main thread. A program must not call
// runtime.UnlockOSThread from its main goroutine.
//
// In the re-executed process the hook calls libcontainer.Init from this
// package's init function, which never returns: the process becomes the
// container's init (or exits). Go initialises packages in dependency order,
// and otherwise by import path, so only the packages this one needs, and
// unrelated ones whose import paths sort before it, have run their init
// functions by then; the program's main package and its other packages
// never start. Keep init functions free of side effects that would matter
// inside a container.
//
// # Platforms
//
// The hook exists on Linux with cgo; elsewhere the package is empty and
// Available is false.
package inithook
