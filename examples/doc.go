// Package examples holds runnable programs that use the library the way an
// embedder would, through its public API only. Each lives in a directory
// of its own and runs with `go run ./examples/NAME` (testharness, with
// `go test`); what they share, a registry run in the process and the
// building of their small images, is in examples/internal.
//
//   - contentpipeline: build a small OCI image's blobs in memory, ingest
//     them into a content store with digest checks, label, list and read
//     them back.
//   - pullrun: push a small image to an in-process registry, pull it
//     into a fresh root with unpack, show its snapshots and root
//     filesystem, and run its command in a container (the README's main
//     job).
//   - runflow: the flow of a service running containers — pull, a
//     container with a spec from the image's config, a long-lived task
//     with its output on stdout, SIGTERM, its exit status, everything
//     deleted (root).
//   - testharness: real containers inside go test — a client shared by
//     a package's tests, and a helper that runs a command in a container
//     for one test and kills and deletes it when the test ends (its
//     tests run with `go test ./examples/testharness`; root).
package examples
