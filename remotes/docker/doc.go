// Package docker provides the registry client: a remotes.Resolver over the
// OCI distribution API v2 as Docker Hub, GHCR, Quay, Harbor, ECR and
// distribution/distribution speak it.
package docker
