// Command pullrun does the main job of the library end to end, offline:
// pull an image and run it in a container, all in its own process.
//
// It starts a registry in its own process (distribution v3, in memory, on
// 127.0.0.1), builds a small image with one client — a layer holding the
// host's static busybox (/bin/busybox, as Debian's busybox-static installs
// it) with sh, cat and a few more applets linked to it and an /etc/motd
// greeting, and a second layer that adds a file and deletes one with a
// whiteout — and pushes it. A second client, in a fresh root, pulls the
// image and unpacks it as it downloads; the example prints the digest it
// resolved, the layers, the snapshots named by their ChainIDs, and the
// image's root filesystem: a read-only view of the top snapshot, mounted
// as root (overlay), read in the native snapshotter's directory otherwise.
//
// Then, as root, it makes a container of the image (a snapshot of its own
// on the image's top layer, a spec from the image's config) and runs the
// image's command, /bin/cat /etc/motd, as the container's task: the
// greeting comes out of the container on the example's stdout. It prints
// the task's exit status and deletes the task, the container and its
// snapshot. The task runs in this process through libcontainer: no
// daemon, no shim.
//
// Running a container needs root: run as another user, the example says
// so and stops after the root filesystem, printing /etc/motd as it reads
// it. Without a static busybox on the host the image holds its files only
// and nothing is run.
//
// Its two client roots and the state directory of its tasks are made in a
// temporary directory removed at exit, or in the directory named by -root
// (DIR/build, DIR/pull and DIR/state), kept:
//
//	go run ./examples/pullrun
package main
