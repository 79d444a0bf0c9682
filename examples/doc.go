// Package examples holds runnable programs that use the library the way an
// embedder would, through its public API only. Each lives in a directory
// of its own and runs with `go run ./examples/NAME`:
//
//   - contentpipeline: build a small OCI image's blobs in memory, ingest
//     them into a content store with digest checks, label, list and read
//     them back.
//   - pullunpack: push a small image to an in-process registry, pull it
//     into a fresh root with unpack, and show its snapshots and root
//     filesystem (the README's main job).
package examples
