package docker

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/containerd/errdefs"
)

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// IsLoopback reports whether host — a name or address, with or without a
// port and brackets ("localhost:5000", "[::1]:5000", "127.0.0.2") — is
// localhost or a loopback address. Registries there are spoken to over
// plain HTTP without configuration.
func IsLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckRedirect returns the redirect policy of every client that talks to
// registries and token servers: at most maxRedirects redirects, none from
// https to http; and for a redirect that leaves the scheme, host or port
// of the first request (a port left out standing for the scheme's
// default): none of a request that has a body or a method other than GET
// and HEAD, whose body would be sent on (a token request's form, an
// upload), and no header but those that describe the content asked for
// (Accept, Accept-Encoding, User-Agent, Range, If-Range, Content-Type) —
// neither Authorization nor a host's configured headers, such as an API
// key, which Go's client would otherwise copy from the first request. It
// then defers to next, if any. Refusals are of kind PermissionDenied.
func CheckRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		if len(via) >= maxRedirects {
			return fmt.Errorf("%s: more than %d redirects: %w", redact(first.URL), maxRedirects, errdefs.ErrUnavailable)
		}
		if first.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%s: redirect from https to %s: %w", redact(first.URL), redact(req.URL), errdefs.ErrPermissionDenied)
		}
		if !sameOrigin(req.URL, first.URL) {
			if hasRedirectBody(req) || hasRedirectBody(first) {
				return fmt.Errorf("%s: redirect of a %s to %s, another host: %w", redact(first.URL), first.Method, redact(req.URL), errdefs.ErrPermissionDenied)
			}
			for k := range req.Header {
				if !keptOnRedirect(k) {
					delete(req.Header, k)
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// hasRedirectBody reports whether req has, or may replay, a body, or has
// a method that is not safe to send to another host.
func hasRedirectBody(req *http.Request) bool {
	if req.Method != "" && req.Method != http.MethodGet && req.Method != http.MethodHead {
		return true
	}
	return req.Body != nil && req.Body != http.NoBody || req.ContentLength != 0 || req.GetBody != nil
}

// keptOnRedirect reports whether the header named key (canonical) goes
// with a redirect to another host.
func keptOnRedirect(key string) bool {
	switch key {
	case "Accept", "Accept-Encoding", "User-Agent", "Range", "If-Range", "Content-Type":
		return true
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port,
// a port left out standing for the scheme's default.
func sameOrigin(a, b *url.URL) bool {
	return a != nil && b != nil && strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) && urlPort(a) == urlPort(b)
}

// urlPort returns the port of u, or its scheme's default.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// redact returns u without user info, query and fragment, for messages.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}
