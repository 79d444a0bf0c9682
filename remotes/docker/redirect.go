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
// https to http, and no Authorization header on a redirect that leaves the
// scheme, host or port of the first request (Go's own policy keeps it for
// the same host name on another port). It then defers to next, if any.
func CheckRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if len(via) >= maxRedirects {
			return fmt.Errorf("%s: more than %d redirects: %w", redact(first), maxRedirects, errdefs.ErrUnavailable)
		}
		if first.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%s: redirect from https to %s: %w", redact(first), redact(req.URL), errdefs.ErrPermissionDenied)
		}
		if !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
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
