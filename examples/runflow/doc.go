// Command runflow runs the library's whole flow as a program, as a
// service embedding it would: pull an image, make a container of it, run
// a long-lived task, stop it with SIGTERM and clean up.
//
// Offline, the image comes from a registry run in the process: a layer
// holding the host's static busybox (Debian: busybox-static), pushed by a
// first client. Then, with a second client in a fresh root:
//
//  1. Client.Pull with WithPullUnpack: download and unpack into overlay
//     snapshots.
//  2. Client.NewContainer: a snapshot of its own on the image's layers and
//     a spec from the image's config, with a command of the example's: a
//     shell that traps SIGTERM, says "running" and waits.
//  3. Container.NewTask with the container's stdout and stderr on the
//     example's; Task.Wait before Task.Start, so that no exit is missed.
//  4. Once the shell says "running", Task.Kill with SIGTERM; the trap
//     prints "got SIGTERM" and exits with status 143. Were it to ignore
//     the signal, SIGKILL would follow after a grace period.
//  5. Task.Delete, then Container.Delete with WithSnapshotCleanup.
//
// Why wait for "running": the shell is the container's init, pid 1 of its
// pid namespace, and the kernel delivers an init only the signals it has
// a handler for (SIGKILL aside). A SIGTERM sent before the trap is set is
// dropped. So the task's output goes through a writer that passes it on
// to stdout and reports the line; containerd.Stdio would hand the task
// this process's stdout as it is, and be the choice of a program that
// need not read it.
//
// Running a container needs root. The example's roots and the state
// directory of its task are in a temporary directory removed at exit, not
// in /var/lib/dctr or /run/dctr:
//
//	go run ./examples/runflow
package main
