package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

const (
	// maxRedirects bounds the redirects one request follows.
	// maxChallenges bounds the 401 challenges one request answers.
	maxChallenges = 4
	// drainLimit is how much of an unwanted body is read so that its
	// connection can be reused; a longer one costs the connection.
	drainLimit = 64 << 10
)

// request is one registry request, sent with retries and authorization
// by resolver.send.
type request struct {
	method string
	host   RegistryHost
	url    *url.URL
	header http.Header
	// body opens the request body afresh for each attempt; nil for none.
	body func() (io.ReadCloser, error)
	// size is the body's length, -1 when unknown.
	size int64
	// once marks a request that must not be sent twice: its body cannot
	// be opened again.
	once bool
}

// newRequest returns a request to host for path under the host's API
// root (path starts with "/": "/library/redis/manifests/latest").
func newRequest(host RegistryHost, method, path string) *request {
	root := host.Path
	if root == "" {
		root = "/v2"
	}
	u := &url.URL{Scheme: host.Scheme, Host: host.Host, Path: strings.TrimSuffix(root, "/") + path}
	return &request{method: method, host: host, url: u, header: http.Header{}}
}

// resolveLocation returns the URL a Location (or Link) header value names,
// relative to base. An absolute URL on another host than base's is
// refused: upload sessions and tag pages stay on the registry host that
// the credentials were given for.
func resolveLocation(base *url.URL, location string) (*url.URL, error) {
	if location == "" {
		return nil, fmt.Errorf("%s: no Location in the answer: %w", redact(base), errdefs.ErrInvalidArgument)
	}
	u, err := base.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("%s: Location %q: %v: %w", redact(base), location, err, errdefs.ErrInvalidArgument)
	}
	if u.Host != base.Host || u.Scheme != base.Scheme {
		return nil, fmt.Errorf("%s: Location %s on another host: %w", redact(base), redact(u), errdefs.ErrPermissionDenied)
	}
	return u, nil
}

// client returns the http.Client for host: the host's own, or the
// resolver's, copied with a redirect policy that drops the Authorization
// header when a redirect leaves the host, and refuses redirects from
// https to http.
func (r *resolver) client(host RegistryHost) *http.Client {
	c := r.defaultClient
	if host.Client != nil {
		c = host.Client
	}
	safe := *c
	safe.CheckRedirect = CheckRedirect(c.CheckRedirect)
	return &safe
}

// send sends rq and returns the response, whatever its status, after
// answering 401 challenges through the host's authorizer and retrying
// temporary failures with backoff. The caller closes the body.
func (r *resolver) send(ctx context.Context, rq *request) (*http.Response, error) {
	var (
		client     = r.client(rq.host)
		challenges []*http.Response // newest first
		retries    int
	)
	for {
		req, err := r.build(ctx, rq)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, fmt.Errorf("%s %s: %w", rq.method, redact(rq.url), context.Cause(ctx))
			}
			if !rq.once && retries < r.opts.maxRetries && retryableError(err) {
				retries++
				if err := r.wait(ctx, r.backoff(retries), rq.method+" "+redact(rq.url)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("%s %s: %w", rq.method, redact(rq.url), connError(err))
		}
		switch code := resp.StatusCode; {
		case code == http.StatusUnauthorized && rq.host.Authorizer != nil && !rq.once:
			// The authorizer knows which challenges it has met before and
			// says so precisely (credentials refused, naming the user); the
			// bound only guards against one that never gives up.
			if len(challenges) >= maxChallenges {
				return resp, nil
			}
			drain(resp)
			challenges = append([]*http.Response{resp}, challenges...)
			if err := rq.host.Authorizer.AddResponses(ctx, challenges); err != nil {
				return nil, fmt.Errorf("%s %s: authorize: %w", rq.method, redact(rq.url), err)
			}
			continue
		case temporaryStatus(code) && !rq.once && retries < r.opts.maxRetries:
			retries++
			d := r.backoff(retries)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				d = min(ra, r.opts.backoffMax)
			}
			drain(resp)
			if err := r.wait(ctx, d, rq.method+" "+redact(rq.url)); err != nil {
				return nil, err
			}
			continue
		}
		return resp, nil
	}
}

// build makes the http.Request of one attempt at rq, authorized.
func (r *resolver) build(ctx context.Context, rq *request) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %w", rq.method, redact(rq.url), err, errdefs.ErrInvalidArgument)
	}
	for _, h := range []http.Header{r.opts.header, rq.host.Header, rq.header} {
		for k, v := range h {
			req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
	}
	if rq.body != nil {
		body, err := rq.body()
		if err != nil {
			return nil, err
		}
		req.Body = body
		req.ContentLength = rq.size
		if rq.size == 0 {
			req.Body = http.NoBody
			body.Close()
		}
		if !rq.once {
			req.GetBody = rq.body
		}
	}
	if a := rq.host.Authorizer; a != nil {
		if err := a.Authorize(ctx, req); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("%s %s: authorize: %w", rq.method, redact(rq.url), err)
		}
	}
	return req, nil
}

// wait sleeps d, or until ctx ends; what names the work waiting.
func (r *resolver) wait(ctx context.Context, d time.Duration, what string) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	case <-t.C:
		return nil
	}
}

// backoff returns the wait before retry n (from 1): min doubled n-1
// times, capped at max, drawn from the upper half.
func (r *resolver) backoff(n int) time.Duration {
	d := r.opts.backoffMin
	for i := 1; i < n && d < r.opts.backoffMax; i++ {
		d *= 2
	}
	d = min(d, r.opts.backoffMax)
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// retryableError reports whether a failed round trip may succeed when
// tried again: the connection was reset or cut short, or timed out.
func retryableError(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// connError gives a failed round trip an errdefs kind: Unavailable, but
// for the redirect refusals, which carry their own.
func connError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	for _, kind := range []error{errdefs.ErrPermissionDenied, errdefs.ErrUnavailable} {
		if errors.Is(err, kind) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", err, errdefs.ErrUnavailable)
}

// drain reads a little of a body that is not wanted, so the connection
// can carry the next request, and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	resp.Body.Close()
}

// checkStatus returns nil when resp's status is one of want, else the
// registry's error, having closed the body.
func checkStatus(resp *http.Response, want ...int) error {
	if slices.Contains(want, resp.StatusCode) {
		return nil
	}
	return newError(resp)
}
