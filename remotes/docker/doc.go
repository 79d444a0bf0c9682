// Package docker provides the registry client: a remotes.Resolver over the
// OCI distribution API v2 as Docker Hub, GHCR, Quay, Harbor, ECR and
// distribution/distribution speak it.
//
// [NewResolver] returns the resolver; it also lists tags (remotes.Tagger).
// Where a registry is found, and with what credentials, is the business of
// [RegistryHosts] and [Authorizer]: mirrors are tried before the upstream,
// each for what its capabilities allow (a tag is resolved only on hosts
// with [HostCapabilityResolve]).
//
// # Requests
//
// Every request carries the token scope of its repository ([WithScope]) and
// is authorized by the host's Authorizer; a 401 is answered once per new
// challenge. Temporary failures — 408, 429, 5xx, a connection reset or cut
// short — are retried with exponential backoff and jitter
// ([WithMaxRetries], [WithRetryBackoff]); a 429's Retry-After is honoured
// up to the longest backoff. Other 4xx answers are final. A cancelled
// context stops a request, a backoff or a body at once. Failures the
// registry reports are an [*Error] carrying the status and the registry's
// error codes, and errdefs kinds (NotFound, Unauthenticated,
// PermissionDenied, ResourceExhausted, Unavailable …).
//
// # Fetching
//
// Manifests and indexes are read whole, bounded by remotes.MaxManifestSize,
// and checked before they are returned: size, digest, and that the document
// is what its media type says (an index has no layers, a manifest no
// manifests, a mediaType field agrees). Docker's schema 1 is refused with
// NotImplemented.
//
// Blobs are streamed. The reader ends after exactly the descriptor's size,
// with an error for a short or long stream, and checks the digest of the
// whole stream at its end (remotes.Fetch leaves that check to the content
// store, which makes it anyway: see remotes.VerifySkipper). When the
// connection breaks, the reader asks again from where it stopped with a
// Range request; a server that answers with the whole blob instead has the
// bytes already read skipped. Each resume waits a backoff; after
// [WithMaxRetries] resumes without a byte of progress, or 64 in all, the
// reader fails.
//
// # Credentials and other hosts
//
// A redirect, such as a blob download sent on to object storage, loses the
// Authorization header — and every other header but Accept,
// Accept-Encoding, User-Agent, Range, If-Range and Content-Type — as soon
// as it leaves the registry's origin (scheme, name and port); a redirect
// from https to http is refused, and so is any redirect to another origin
// of a request that carries a body (a token request's form holds refresh
// tokens and passwords). An authorizer withholds credentials over plain
// HTTP to a host that is not loopback unless plain HTTP was asked for
// that host; it uses a host's TLS settings (skip_verify, CA, client
// certificate) and headers only for a token realm on that same host, and
// asks a token for the scopes of the request at hand, never for all it
// has seen. A layer's
// own URLs (a foreign layer's descriptor URLs) are used only when no
// registry host has the blob, only over http(s), and without credentials
// or the host's headers. Upload Locations and tag-list Links that point at
// another host are refused.
//
// # Pushing
//
// A Pusher first asks whether the repository holds the content
// (AlreadyExists if so). Blobs may then be mounted from repositories on the
// same registry that the context names ([WithMountSources]); otherwise they
// are uploaded as they are written, through a pipe into the request body —
// in one PUT, or in PATCH chunks for large blobs and for registries that
// ask for chunks ([WithChunkedUploads]). A manifest is gathered in memory,
// checked, and PUT at Commit under the reference's tag, or under its digest.
package docker
