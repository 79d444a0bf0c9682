// Command pullunpack does the main job of the library end to end, offline:
// it starts a registry in its own process (distribution v3, in memory, on
// 127.0.0.1), builds a small image with one client — a layer holding the
// host's static busybox (/bin/busybox, as Debian's busybox-static installs
// it) with sh, echo and cat linked to it and an /etc/motd, and a second
// layer that adds a file and deletes one with a whiteout — and pushes it.
// A second client, in a fresh root, pulls the image and unpacks it as it
// downloads; the example prints the digest it resolved, the layers, the
// snapshots named by their ChainIDs, and the image's root filesystem: a
// read-only view of the top snapshot, mounted as root (overlay), read in
// the native snapshotter's directory otherwise.
//
// Without a static busybox on the host the first layer holds the files
// only. The example ends at the unpacked root filesystem: running the
// image's command (/bin/cat /etc/motd, through busybox) in a container is
// the next step of the project.
//
// Its two client roots are made in a temporary directory removed at exit,
// or in the directory named by -root (DIR/build and DIR/pull), kept:
//
//	go run ./examples/pullunpack
package main
