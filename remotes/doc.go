// Package remotes provides the contract of a registry client — a Resolver
// that turns a reference into a descriptor, Fetchers and Pushers that move
// content — and the helpers that copy content between a registry and a
// content store.
//
// The contract does no I/O; package remotes/docker implements it for the
// OCI distribution API v2 that Docker Hub, GHCR, Quay, Harbor, ECR and
// distribution/distribution speak.
//
// # References
//
// References are parsed and normalised with github.com/distribution/reference:
// "redis" names "docker.io/library/redis:latest". A reference may carry a
// tag, a digest or both; with both the digest wins.
//
// # Untrusted content
//
// Everything a registry sends is checked before use: sizes are bounded
// while reading (a descriptor's size is enforced, no more and no less),
// digests are verified over the whole stream before content is committed,
// and manifests and indexes are bounded (MaxManifestSize).
package remotes
