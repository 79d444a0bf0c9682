package docker

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// DefaultAuthTimeout bounds a token request sent with the default client
// of NewAuthorizer, and any token request that a caller's own client
// leaves unbounded.
const DefaultAuthTimeout = 30 * time.Second

// AuthorizerOpt configures NewAuthorizer.
type AuthorizerOpt func(*authorizerOpts) error

type authorizerOpts struct {
	client *http.Client
	// hostClient, when set, replaces client for realms on the host.
	hostClient     *http.Client
	creds          func(host string) (username, secret string, err error)
	header         http.Header
	hostHeader     http.Header
	passwordGrant  bool
	allowPlainHTTP bool
}

// WithAuthClient sets the client that sends token requests (those to a
// realm on the registry host itself too, unless WithAuthHostClient says
// otherwise). Its CheckRedirect is kept and wrapped by CheckRedirect: a
// redirect to another scheme, host or port loses the Authorization
// header and every header but a few that describe the content, and is
// refused for a request with a body. The default is a client over
// http.DefaultTransport with a timeout of DefaultAuthTimeout.
func WithAuthClient(client *http.Client) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		if client == nil {
			return fmt.Errorf("auth client: nil: %w", errdefs.ErrInvalidArgument)
		}
		o.client = client
		return nil
	}
}

// WithAuthHostClient sets the client that sends token requests to a realm
// on the registry host itself: the same scheme, host and port as the
// request the challenge answered. This is where the host's own TLS
// settings belong (its CA, client certificate, or skip_verify), which a
// realm on any other host must not get; realms elsewhere use the client
// of WithAuthClient. Its CheckRedirect is wrapped as WithAuthClient says.
// The default is the client of WithAuthClient for every realm.
func WithAuthHostClient(client *http.Client) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		if client == nil {
			return fmt.Errorf("auth host client: nil: %w", errdefs.ErrInvalidArgument)
		}
		o.hostClient = client
		return nil
	}
}

// WithAuthCredentials sets where credentials come from: creds is called
// with the authorizer's host when a challenge asks for them, and returns
// a username and a secret. A secret with an empty username is an identity
// token (docker's "identitytoken"), used as an OAuth2 refresh token. Empty
// results mean no credentials: tokens are then asked for anonymously. An
// error fails the authorization that needed the credentials. The default
// is no credentials.
//
// creds takes no context: a caller whose context ends stops waiting for
// it at once (with the context's error), but creds itself runs on to its
// own end, its result unused. It should therefore bound its own time, as
// package remotes/docker/credentials does for credential helpers.
//
// creds must be safe for concurrent use; package
// remotes/docker/credentials provides one that reads docker's and
// podman's configuration files.
func WithAuthCredentials(creds func(host string) (username, secret string, err error)) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		o.creds = creds
		return nil
	}
}

// WithAuthHeader adds header to every token request (a User-Agent, for
// instance), whatever host the realm is on. It does not touch requests to
// the registry. Authorization and Content-Type are ignored. The default
// is no header.
func WithAuthHeader(header http.Header) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		for k, v := range header {
			k = http.CanonicalHeaderKey(k)
			o.header[k] = append(o.header[k], v...)
		}
		return nil
	}
}

// WithAuthHostHeader adds header to the token requests sent to a realm on
// the registry host itself (as WithAuthHostClient defines it), replacing
// a header of WithAuthHeader of the same name. It is meant for headers
// configured for one host, such as an API key, that a realm on another
// host must not see. Authorization and Content-Type are ignored. The
// default is no header.
func WithAuthHostHeader(header http.Header) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		for k, v := range header {
			k = http.CanonicalHeaderKey(k)
			o.hostHeader[k] = append(o.hostHeader[k], v...)
		}
		return nil
	}
}

// WithAuthAllowPlainHTTP lets the credentials of a Basic challenge go to
// the host over plain http when the host is not a loopback one. Without
// it they are withheld there: anyone on the path could read them. Give it
// only when the user asked for plain http to this host (package
// remotes/docker/config does so for a host configured with an http URL
// or WithPlainHTTP). Token realms are not affected: credentials never go
// to a plain-http realm that is not a loopback host. The default is to
// withhold them.
func WithAuthAllowPlainHTTP() AuthorizerOpt {
	return func(o *authorizerOpts) error {
		o.allowPlainHTTP = true
		return nil
	}
}

// WithAuthPasswordGrant sends a username and password to the token
// endpoint as an OAuth2 password grant (a POST form), as some registries
// need, instead of docker's GET with Basic authentication. An endpoint
// that answers such a POST with 400 (other than invalid_grant), 404 or
// 405 is asked again with the GET. The default is the GET.
func WithAuthPasswordGrant() AuthorizerOpt {
	return func(o *authorizerOpts) error {
		o.passwordGrant = true
		return nil
	}
}

// Authentication schemes the authorizer answers.
const (
	authSchemeBasic  = "basic"
	authSchemeBearer = "bearer"
)

const (
	// maxChallengeScopes bounds the scopes kept of one challenge; those
	// after it are ignored.
	maxChallengeScopes = 16
	// maxScopeSize bounds one scope of a challenge; a longer one is
	// ignored.
	maxScopeSize = 256
	// maxScopeSets bounds the sets of request scopes for which the
	// scopes of their last challenge are kept.
	maxScopeSets = 64
)

// authorizer is the Authorizer of NewAuthorizer. Its state is what the
// host's challenges said and the tokens fetched for them.
type authorizer struct {
	host           string // as given to NewAuthorizer, lowercased
	hostname, port string // of host, port "" when not given
	opts           authorizerOpts
	err            error // from the options: every call fails with it
	now            func() time.Time

	mu sync.Mutex
	// gen counts the challenges that replaced the state; a fetch started
	// under an older one does not store its token nor its refresh token.
	gen     int
	scheme  string // "" before the first challenge
	realm   *url.URL
	service string
	// local is set when the realm is on the registry host itself: the
	// scheme, host and port of the request the challenge answered.
	local bool
	// scopes maps the key of a request's own scopes (of its context) to
	// those the last challenge to such a request named: a token for one
	// repository never asks for what a challenge for another wanted. At
	// most maxScopeSets keys, each with at most maxChallengeScopes scopes.
	scopes map[string][]string
	// basic is the Authorization value for the basic scheme, user its user.
	basic, basicUser string
	tokens           map[string]*authToken // by scope key
	calls            map[string]*authCall  // fetches under way, by gen and scope key
	// retry marks scope keys whose previous token was refused as invalid:
	// the next token fetched for them is the last try.
	retry map[string]bool
	// refresh is a refresh token the token endpoint gave for refreshUser
	// ("" for an identity token), used for later fetches instead of the
	// password.
	refresh, refreshUser string
}

// authToken is a bearer token fetched for a set of scopes.
type authToken struct {
	value  string
	scopes []string
	// who names whose credentials fetched it, for messages: a quoted
	// username, "an identity token", or "" when fetched anonymously.
	who string
	// withheld is set when credentials existed but were not sent to an
	// insecure token realm.
	withheld bool
	// refreshAt is when the token stops being reused.
	refreshAt time.Time
	// retry is set when the token replaced one that was refused as invalid.
	retry bool
}

// authCall is a token fetch that concurrent callers share.
type authCall struct {
	done chan struct{}
	tok  *authToken
	err  error
}

// authRealm is where a token fetch goes, as the state was when it began.
type authRealm struct {
	gen     int
	url     *url.URL
	service string
	local   bool
}

var _ Authorizer = (*authorizer)(nil)

// NewAuthorizer returns an Authorizer for one registry host, host[:port]
// as in a URL ("registry-1.docker.io", "localhost:5000"). It authorizes
// only requests whose URL names that host and port (compared without
// regard to case, a missing port standing for the scheme's default);
// requests to any other host, such as the storage a registry redirects
// blob downloads to, are left alone.
//
// The authorizer does nothing until AddResponses sees a 401 challenge.
// For a Basic challenge it sends the credentials of WithAuthCredentials
// with every later request. For a Bearer challenge it fetches a token
// from the challenge's realm for its service and for the union of the
// scopes the challenges named and those of the request's context
// (WithScope), and reuses it for those scopes until shortly before it
// expires (after expires_in seconds, 60 when the endpoint does not say).
// Concurrent requests that need the same token share one fetch.
//
// Tokens are asked for anonymously without credentials; with a username
// and password by a GET with Basic authentication (docker's flow), or by
// an OAuth2 password grant with WithAuthPasswordGrant; with an identity
// token, or a refresh token the endpoint gave earlier, by an OAuth2
// refresh_token grant. Credentials go to a realm only because the host's
// own challenge named it, and never over plain http unless the realm is
// a loopback address: such a realm is asked anonymously. A token request
// that carries them in a form is never redirected. The credentials of a
// Basic challenge go over plain http only to a loopback host, or with
// WithAuthAllowPlainHTTP.
//
// The scopes of a token are those of the request's context and those of
// the last challenge answered for a request with the same context scopes:
// at most maxChallengeScopes well-formed ones ("type:name:actions", each
// at most maxScopeSize bytes), replacing those of the challenge before.
//
// Errors: Authorize fails with PermissionDenied when the token endpoint
// refuses the credentials (the message names the host and the user,
// never the secret), and with errdefs.ErrUnauthenticated (tested by
// errdefs.IsUnauthorized) when it refuses an anonymous request.
// AddResponses fails with NotImplemented when no challenge has a scheme
// it can answer; with PermissionDenied when the host refuses credentials
// or they are withheld from it (Basic over plain http),
// or refuses a token got with them for the scopes it asks for (a token
// refused as invalid_token is fetched again once); and with
// ErrUnauthenticated when the host wants credentials and there are none,
// or refuses an anonymous token. Options that fail make every call fail
// with their error, of kind InvalidArgument. Both end with the error of
// their context when it ends, without waiting for a token fetch or a
// credentials lookup under way.
//
// The authorizer is safe for concurrent use.
func NewAuthorizer(host string, opts ...AuthorizerOpt) Authorizer {
	a := &authorizer{
		host:   strings.ToLower(host),
		opts:   authorizerOpts{header: http.Header{}, hostHeader: http.Header{}},
		now:    time.Now,
		scopes: map[string][]string{},
		tokens: map[string]*authToken{},
		calls:  map[string]*authCall{},
		retry:  map[string]bool{},
	}
	for _, opt := range opts {
		if err := opt(&a.opts); err != nil {
			a.err = fmt.Errorf("authorizer for %s: %w", host, err)
			return a
		}
	}
	u, err := url.Parse("//" + host)
	if err != nil || host == "" || u.Host != host || u.Hostname() == "" {
		a.err = fmt.Errorf("authorizer for %q: not a host[:port]: %w", host, errdefs.ErrInvalidArgument)
		return a
	}
	a.hostname, a.port = strings.ToLower(u.Hostname()), u.Port()
	if a.opts.client == nil {
		a.opts.client = &http.Client{Timeout: DefaultAuthTimeout}
	}
	a.opts.client = safeAuthClient(a.opts.client)
	if a.opts.hostClient != nil {
		a.opts.hostClient = safeAuthClient(a.opts.hostClient)
	}
	return a
}

// safeAuthClient returns a copy of c whose CheckRedirect is wrapped by
// CheckRedirect.
func safeAuthClient(c *http.Client) *http.Client {
	safe := *c
	safe.CheckRedirect = CheckRedirect(c.CheckRedirect)
	return &safe
}

// matches reports whether u names the authorizer's host.
func (a *authorizer) matches(u *url.URL) bool {
	if u == nil || strings.ToLower(u.Hostname()) != a.hostname {
		return false
	}
	p := u.Port()
	if p == a.port {
		return true
	}
	var def string
	switch strings.ToLower(u.Scheme) {
	case "https":
		def = "443"
	case "http":
		def = "80"
	default:
		return false
	}
	return p == "" && a.port == def || a.port == "" && p == def
}

// Authorize implements Authorizer.
func (a *authorizer) Authorize(ctx context.Context, req *http.Request) error {
	if a.err != nil {
		return a.err
	}
	if req == nil || !a.matches(req.URL) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auth %s: %w", a.host, context.Cause(ctx))
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	own := mergeAuthScopes(Scopes(ctx))
	ownKey := strings.Join(own, " ")
	a.mu.Lock()
	switch a.scheme {
	case authSchemeBasic:
		basic := a.basic
		a.mu.Unlock()
		if basic == "" {
			return nil
		}
		if err := a.checkPlainHTTP(req.URL); err != nil {
			return err
		}
		req.Header.Set("Authorization", basic)
		return nil
	case authSchemeBearer:
	default:
		a.mu.Unlock()
		return nil
	}

	scopes := own
	if cs := a.scopes[ownKey]; len(cs) > 0 {
		scopes = mergeAuthScopes(own, cs)
	}
	key := strings.Join(scopes, " ")
	if t := a.tokens[key]; t != nil && a.now().Before(t.refreshAt) {
		a.mu.Unlock()
		req.Header.Set("Authorization", "Bearer "+t.value)
		return nil
	}
	callKey := strconv.Itoa(a.gen) + " " + key
	c := a.calls[callKey]
	if c == nil {
		c = &authCall{done: make(chan struct{})}
		a.calls[callKey] = c
		retry := a.retry[key]
		delete(a.retry, key)
		r := authRealm{gen: a.gen, url: a.realm, service: a.service, local: a.local}
		go a.fetch(context.WithoutCancel(ctx), c, callKey, key, scopes, retry, r)
	}
	a.mu.Unlock()

	select {
	case <-c.done:
	case <-ctx.Done():
		return fmt.Errorf("auth %s: waiting for a token: %w", a.host, context.Cause(ctx))
	}
	if c.err != nil {
		return c.err
	}
	req.Header.Set("Authorization", "Bearer "+c.tok.value)
	return nil
}

// checkPlainHTTP fails when Basic credentials may not go to u: over plain
// http to a host that is not a loopback one, without
// WithAuthAllowPlainHTTP.
func (a *authorizer) checkPlainHTTP(u *url.URL) error {
	if a.opts.allowPlainHTTP || !strings.EqualFold(u.Scheme, "http") || IsLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("auth %s: credentials withheld: plain HTTP to a non-loopback host (configure the host for plain http to allow it): %w",
		a.host, errdefs.ErrPermissionDenied)
}

// fetch runs one shared token fetch and publishes its result to c. It
// does not end with the context of the caller that started it, whose
// waiters may outlive it, but is bounded by DefaultAuthTimeout.
func (a *authorizer) fetch(ctx context.Context, c *authCall, callKey, key string, scopes []string, retry bool, r authRealm) {
	ctx, cancel := context.WithTimeout(ctx, DefaultAuthTimeout)
	defer cancel()
	tok, err := a.fetchToken(ctx, r, scopes)
	a.mu.Lock()
	if err == nil {
		tok.retry = retry
		if a.gen == r.gen {
			now := a.now()
			for k, t := range a.tokens {
				if !now.Before(t.refreshAt) {
					delete(a.tokens, k)
				}
			}
			a.tokens[key] = tok
		}
	}
	if a.calls[callKey] == c {
		delete(a.calls, callKey)
	}
	a.mu.Unlock()
	c.tok, c.err = tok, err
	close(c.done)
}

// AddResponses implements Authorizer. Only the newest response, the
// first, is read: how often the host refused is kept by the authorizer.
func (a *authorizer) AddResponses(ctx context.Context, responses []*http.Response) error {
	if a.err != nil {
		return a.err
	}
	if len(responses) == 0 || responses[0] == nil {
		return fmt.Errorf("auth %s: no response to learn from: %w", a.host, errdefs.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auth %s: %w", a.host, context.Cause(ctx))
	}
	resp := responses[0]
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("auth %s: response %d is not a challenge: %w", a.host, resp.StatusCode, errdefs.ErrInvalidArgument)
	}
	if resp.Request == nil || !a.matches(resp.Request.URL) {
		// Only the host's own challenges may say where credentials go.
		return fmt.Errorf("auth %s: challenge from another host: %w", a.host, errdefs.ErrPermissionDenied)
	}
	sent := resp.Request.Header.Get("Authorization")
	challenges := parseAuthChallenges(resp.Header.Values("WWW-Authenticate"))

	var basic *authChallenge
	var seen []string
	for i := range challenges {
		ch := &challenges[i]
		seen = append(seen, ch.scheme)
		switch ch.scheme {
		case authSchemeBearer:
			realm, err := parseAuthRealm(ch.params["realm"])
			if err != nil {
				seen[len(seen)-1] += " (" + err.Error() + ")"
				continue
			}
			return a.learnBearer(ctx, ch, realm, resp.Request.URL, sent)
		case authSchemeBasic:
			if basic == nil {
				basic = ch
			}
		}
	}
	if basic != nil {
		return a.learnBasic(ctx, resp.Request.URL, sent)
	}
	if len(seen) == 0 {
		return fmt.Errorf("auth %s: 401 without a challenge: %w", a.host, errdefs.ErrNotImplemented)
	}
	return fmt.Errorf("auth %s: no challenge that can be answered among %s: %w", a.host, strings.Join(seen, ", "), errdefs.ErrNotImplemented)
}

// parseAuthRealm checks a Bearer realm: an absolute http or https URL.
func parseAuthRealm(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("no realm")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("bad realm")
	}
	return u, nil
}

// learnBearer takes in a Bearer challenge to a request to u, made with
// ctx, that carried the Authorization header sent.
func (a *authorizer) learnBearer(ctx context.Context, ch *authChallenge, realm, u *url.URL, sent string) error {
	scopes := challengeScopes(ch.scopes)
	ownKey := strings.Join(mergeAuthScopes(Scopes(ctx)), " ")
	local := sameOrigin(realm, u)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scheme != authSchemeBearer || a.realm.String() != realm.String() || a.service != ch.params["service"] || a.local != local {
		a.gen++
		a.scheme, a.realm, a.service, a.local = authSchemeBearer, realm, ch.params["service"], local
		a.scopes = map[string][]string{}
		a.setScopes(ownKey, scopes)
		a.basic, a.basicUser = "", ""
		a.tokens = map[string]*authToken{}
		a.retry = map[string]bool{}
		a.refresh, a.refreshUser = "", ""
		return nil
	}
	a.setScopes(ownKey, scopes)

	value, ok := strings.CutPrefix(sent, "Bearer ")
	if !ok {
		return nil
	}
	var (
		key string
		tok *authToken
	)
	for k, t := range a.tokens {
		if t.value == value {
			key, tok = k, t
			break
		}
	}
	if tok == nil {
		// Not a token of ours, or one already replaced: try the current.
		return nil
	}
	if strings.Join(mergeAuthScopes(tok.scopes, scopes), " ") != key {
		// The host asks for more than the token holds: fetch a wider one.
		return nil
	}
	if ch.params["error"] == "invalid_token" && !tok.retry {
		// Expired or revoked early: one more token is worth a try.
		delete(a.tokens, key)
		a.retry[key] = true
		return nil
	}
	delete(a.tokens, key)
	return a.refusedError(tok, key)
}

// setScopes makes scopes those of the last challenge to a request whose
// own scopes have key ownKey, keeping at most maxScopeSets keys. a.mu is
// held.
func (a *authorizer) setScopes(ownKey string, scopes []string) {
	if len(scopes) == 0 {
		delete(a.scopes, ownKey)
		return
	}
	if _, ok := a.scopes[ownKey]; !ok && len(a.scopes) >= maxScopeSets {
		for k := range a.scopes {
			// Any one: its requests at worst meet their challenge again.
			delete(a.scopes, k)
			break
		}
	}
	a.scopes[ownKey] = scopes
}

// challengeScopes returns the well-formed scopes of a challenge, at most
// maxChallengeScopes of them, merged as mergeAuthScopes does. A scope is
// well formed when it is "type:name:actions" with each part non-empty,
// at most maxScopeSize bytes of printable ASCII.
func challengeScopes(scopes []string) []string {
	var kept []string
	for _, s := range scopes {
		if len(kept) == maxChallengeScopes {
			break
		}
		if validScope(s) {
			kept = append(kept, s)
		}
	}
	return mergeAuthScopes(kept)
}

// validScope reports whether s is one well-formed scope, as
// challengeScopes says.
func validScope(s string) bool {
	if len(s) > maxScopeSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndexByte(rest, ':')
	return ok && typ != "" && i > 0 && strings.Trim(rest[i+1:], ",") != ""
}

// refusedError is the error for a token the host would not accept.
func (a *authorizer) refusedError(tok *authToken, scopes string) error {
	if scopes == "" {
		scopes = "(no scope)"
	}
	switch {
	case tok.withheld:
		return fmt.Errorf("auth %s: access to %s refused; credentials were not sent to the plain-http token realm %s: %w",
			a.host, scopes, redact(a.realm), errdefs.ErrPermissionDenied)
	case tok.who == "":
		return fmt.Errorf("auth %s: anonymous access to %s refused (credentials needed, or the repository does not exist): %w",
			a.host, scopes, errdefs.ErrUnauthenticated)
	default:
		return fmt.Errorf("auth %s: access to %s refused to %s: %w", a.host, scopes, tok.who, errdefs.ErrPermissionDenied)
	}
}

// learnBasic takes in a Basic challenge to a request to u, made with ctx,
// that carried the Authorization header sent.
func (a *authorizer) learnBasic(ctx context.Context, u *url.URL, sent string) error {
	a.mu.Lock()
	if a.scheme == authSchemeBasic && a.basic != "" && sent == a.basic {
		user := a.basicUser
		// Read the credentials afresh next time: they may have changed.
		a.basic, a.basicUser = "", ""
		a.mu.Unlock()
		return fmt.Errorf("auth %s: credentials of user %q refused: %w", a.host, user, errdefs.ErrPermissionDenied)
	}
	if a.scheme == authSchemeBasic && a.basic != "" {
		a.mu.Unlock()
		return a.checkPlainHTTP(u)
	}
	a.mu.Unlock()

	user, secret, err := a.credentials(ctx)
	if err != nil {
		return err
	}
	if user == "" {
		return fmt.Errorf("auth %s: basic authentication needs a username and password, and none is configured: %w", a.host, errdefs.ErrUnauthenticated)
	}
	if err := a.checkPlainHTTP(u); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scheme != authSchemeBasic {
		a.gen++
		a.scheme, a.realm, a.service, a.local = authSchemeBasic, nil, "", false
		a.scopes = map[string][]string{}
		a.tokens = map[string]*authToken{}
		a.retry = map[string]bool{}
		a.refresh, a.refreshUser = "", ""
	}
	a.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
	a.basicUser = user
	return nil
}

// credentials returns the host's credentials, or none. It returns the
// error of ctx as soon as ctx ends, leaving a lookup under way to finish
// on its own.
func (a *authorizer) credentials(ctx context.Context) (string, string, error) {
	if a.opts.creds == nil {
		return "", "", nil
	}
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("auth %s: credentials: %w", a.host, context.Cause(ctx))
	}
	type result struct {
		user, secret string
		err          error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.user, r.secret, r.err = a.opts.creds(a.host)
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", "", fmt.Errorf("auth %s: credentials: %w", a.host, r.err)
		}
		return r.user, r.secret, nil
	case <-ctx.Done():
		return "", "", fmt.Errorf("auth %s: credentials: %w", a.host, context.Cause(ctx))
	}
}
