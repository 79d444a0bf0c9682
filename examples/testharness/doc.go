// Package testharness shows how a program's tests run real containers
// with the library, inside go test. It holds no code: the pattern is in
// its test files. harness_test.go is the harness, to copy and adapt:
// TestMain, a client shared by the package's tests, and startContainer,
// which runs a command in a new container for one test and cleans up
// after it. testharness_test.go holds tests using it:
//
//	go test ./examples/testharness
//
// # The pattern
//
//   - One client for the test binary, made by the first test that needs
//     it, in a temporary root with a temporary state directory
//     (containerd.WithStateDir): nothing touches /var/lib/dctr or
//     /run/dctr, and TestMain closes the client and removes both at the
//     end. The image is pulled once, by the same test; here from a
//     registry the test binary runs itself, so the tests run offline.
//   - startContainer makes a container of that image for one command,
//     creates its task with the output going to a buffer, calls Wait
//     before Start (no exit is missed), and registers t.Cleanup functions
//     that kill the task if it still runs, delete it, and delete the
//     container with its snapshot. A test that fails, calls t.Fatal or
//     forgets a container leaves nothing running. Each container's id is
//     made from the test's name, so parallel tests do not collide.
//   - Tests wait for what they need, never for a while: the exit status
//     through the channel Wait returned (the output is complete by then:
//     a task's exit is reported once its output has been copied), a line
//     of output through the buffer, which wakes its readers.
//
// # What it takes
//
//   - Nothing for the init hook: libcontainer starts a container by
//     running the test binary again, and importing the library is enough
//     for that binary to become the container's init — before TestMain
//     or any test runs.
//   - Root. The tests skip, saying so, when not run as root; as another
//     user, go test -exec sudo runs the test binary as root.
//   - cgo and a C compiler, for libcontainer's nsenter (the default on a
//     machine with gcc).
//   - A static busybox at /bin/busybox (Debian: busybox-static) for this
//     package's image; a program would pull its own.
//
// A task's cgroup, /dctr/<namespace>/<id>, is the machine's, not the
// state directory's: two test binaries running at once, with the same
// namespace and container ids, would share it. The harness gives its
// client a namespace of its own, "testharness".
package testharness
