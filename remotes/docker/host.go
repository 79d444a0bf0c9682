package docker

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// HostCapabilities says what a registry host may be used for.
type HostCapabilities uint8

const (
	// HostCapabilityPull: blobs and manifests by digest.
	HostCapabilityPull HostCapabilities = 1 << iota
	// HostCapabilityResolve: tags to digests.
	HostCapabilityResolve
	// HostCapabilityPush: uploads and tags.
	HostCapabilityPush
)

// Has reports whether all of c are in h.
func (h HostCapabilities) Has(c HostCapabilities) bool { return h&c == c }

// RegistryHost is one endpoint that serves a registry: the upstream, or a
// mirror tried before it.
type RegistryHost struct {
	// Client sends the requests; its transport carries TLS settings.
	Client *http.Client
	// Authorizer authorizes requests to this host; nil for none.
	Authorizer Authorizer
	// Host is host[:port], as in a URL.
	Host string
	// Scheme is "https" or "http".
	Scheme string
	// Path is the API root, normally "/v2"; empty means "/v2".
	Path string
	// Capabilities says what the host is used for.
	Capabilities HostCapabilities
	// Header is added to every request to this host.
	Header http.Header
}

// RegistryHosts returns the endpoints for a registry name (as in a
// reference: "docker.io", "localhost:5000"), in the order to try them:
// mirrors first, the upstream last.
type RegistryHosts func(host string) ([]RegistryHost, error)

// Authorizer adds credentials to requests for one registry host.
// Implementations must never authorize a request whose URL host differs
// from the host they were made for.
type Authorizer interface {
	// Authorize sets the request's Authorization header when the
	// authorizer holds a token or credentials for the request's host and
	// the scopes of ctx. It leaves the request alone otherwise.
	Authorize(ctx context.Context, req *http.Request) error

	// AddResponses learns from a 401 response's WWW-Authenticate
	// challenge how to authorize the next attempt. responses are the
	// attempts so far, the last one first. It fails with NotImplemented
	// when the challenge cannot be met, with Unauthenticated when no
	// credentials are had and anonymous access is refused, and with
	// PermissionDenied when credentials were tried and refused. It judges
	// repeated challenges itself, so callers always pass them on.
	AddResponses(ctx context.Context, responses []*http.Response) error
}

type scopesKey struct{}

// WithScope returns a context whose token requests ask for scope as well
// as any scopes ctx already carries. A scope is
// "repository:<name>:<actions>", actions a comma-separated list of pull
// and push.
func WithScope(ctx context.Context, scope string) context.Context {
	scopes := append(slices.Clone(Scopes(ctx)), scope)
	return context.WithValue(ctx, scopesKey{}, scopes)
}

// Scopes returns the scopes ctx carries, in the order they were added.
func Scopes(ctx context.Context) []string {
	s, _ := ctx.Value(scopesKey{}).([]string)
	return s
}

// RepositoryScope returns the scope for repository (a path such as
// "library/redis") with pull access, and push access when push is set.
func RepositoryScope(repository string, push bool) string {
	actions := "pull"
	if push {
		actions = "pull,push"
	}
	return strings.Join([]string{"repository", repository, actions}, ":")
}
