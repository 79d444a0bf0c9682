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
	client        *http.Client
	creds         func(host string) (username, secret string, err error)
	header        http.Header
	passwordGrant bool
}

// WithAuthClient sets the client that sends token requests. Its
// CheckRedirect is kept and wrapped: a redirect to another scheme, host
// or port loses the Authorization header. The default is a client over
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

// WithAuthCredentials sets where credentials come from: creds is called
// with the authorizer's host when a challenge asks for them, and returns
// a username and a secret. A secret with an empty username is an identity
// token (docker's "identitytoken"), used as an OAuth2 refresh token. Empty
// results mean no credentials: tokens are then asked for anonymously. An
// error fails the authorization that needed the credentials. The default
// is no credentials.
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
// instance). It does not touch requests to the registry. The default is
// no header.
func WithAuthHeader(header http.Header) AuthorizerOpt {
	return func(o *authorizerOpts) error {
		for k, v := range header {
			k = http.CanonicalHeaderKey(k)
			o.header[k] = append(o.header[k], v...)
		}
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
	// under an older one does not store its token.
	gen     int
	scheme  string // "" before the first challenge
	realm   *url.URL
	service string
	// scopes are those the host's challenges named, merged.
	scopes []string
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
// a loopback address: such a realm is asked anonymously.
//
// Errors: Authorize fails with PermissionDenied when the token endpoint
// refuses the credentials (the message names the host and the user,
// never the secret), and with errdefs.ErrUnauthenticated (tested by
// errdefs.IsUnauthorized) when it refuses an anonymous request.
// AddResponses fails with NotImplemented when no challenge has a scheme
// it can answer; with PermissionDenied when the host refuses credentials,
// or refuses a token got with them for the scopes it asks for (a token
// refused as invalid_token is fetched again once); and with
// ErrUnauthenticated when the host wants credentials and there are none,
// or refuses an anonymous token. Options that fail make every call fail
// with their error, of kind InvalidArgument.
//
// The authorizer is safe for concurrent use.
func NewAuthorizer(host string, opts ...AuthorizerOpt) Authorizer {
	a := &authorizer{
		host:   strings.ToLower(host),
		opts:   authorizerOpts{header: http.Header{}},
		now:    time.Now,
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
	c := *a.opts.client
	c.CheckRedirect = CheckRedirect(a.opts.client.CheckRedirect)
	a.opts.client = &c
	return a
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
	if req.Header == nil {
		req.Header = http.Header{}
	}
	a.mu.Lock()
	switch a.scheme {
	case authSchemeBasic:
		if a.basic != "" {
			req.Header.Set("Authorization", a.basic)
		}
		a.mu.Unlock()
		return nil
	case authSchemeBearer:
	default:
		a.mu.Unlock()
		return nil
	}

	scopes := mergeAuthScopes(a.scopes, Scopes(ctx))
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
		go a.fetch(context.WithoutCancel(ctx), c, callKey, key, scopes, retry, a.gen, a.realm, a.service)
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

// fetch runs one shared token fetch and publishes its result to c. It
// does not end with the context of the caller that started it, whose
// waiters may outlive it, but is bounded by DefaultAuthTimeout.
func (a *authorizer) fetch(ctx context.Context, c *authCall, callKey, key string, scopes []string, retry bool, gen int, realm *url.URL, service string) {
	ctx, cancel := context.WithTimeout(ctx, DefaultAuthTimeout)
	defer cancel()
	tok, err := a.fetchToken(ctx, realm, service, scopes)
	a.mu.Lock()
	if err == nil {
		tok.retry = retry
		if a.gen == gen {
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
			return a.learnBearer(ch, realm, sent)
		case authSchemeBasic:
			if basic == nil {
				basic = ch
			}
		}
	}
	if basic != nil {
		return a.learnBasic(sent)
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

func (a *authorizer) learnBearer(ch *authChallenge, realm *url.URL, sent string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scheme != authSchemeBearer || a.realm.String() != realm.String() || a.service != ch.params["service"] {
		a.gen++
		a.scheme, a.realm, a.service = authSchemeBearer, realm, ch.params["service"]
		a.scopes = mergeAuthScopes(ch.scopes)
		a.basic, a.basicUser = "", ""
		a.tokens = map[string]*authToken{}
		a.retry = map[string]bool{}
		a.refresh, a.refreshUser = "", ""
		return nil
	}
	a.scopes = mergeAuthScopes(a.scopes, ch.scopes)

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
	if strings.Join(mergeAuthScopes(tok.scopes, ch.scopes), " ") != key {
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

func (a *authorizer) learnBasic(sent string) error {
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
		return nil
	}
	a.mu.Unlock()

	user, secret, err := a.credentials()
	if err != nil {
		return err
	}
	if user == "" {
		return fmt.Errorf("auth %s: basic authentication needs a username and password, and none is configured: %w", a.host, errdefs.ErrUnauthenticated)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scheme != authSchemeBasic {
		a.gen++
		a.scheme, a.realm, a.service, a.scopes = authSchemeBasic, nil, "", nil
		a.tokens = map[string]*authToken{}
		a.retry = map[string]bool{}
		a.refresh, a.refreshUser = "", ""
	}
	a.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret))
	a.basicUser = user
	return nil
}

// credentials returns the host's credentials, or none.
func (a *authorizer) credentials() (string, string, error) {
	if a.opts.creds == nil {
		return "", "", nil
	}
	user, secret, err := a.opts.creds(a.host)
	if err != nil {
		return "", "", fmt.Errorf("auth %s: credentials: %w", a.host, err)
	}
	return user, secret, nil
}
