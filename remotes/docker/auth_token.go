package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes"
)

const (
	// authClientID is the OAuth2 client_id of token requests.
	authClientID = "dctr"
	// authDefaultTokenLife is a token's lifetime when the endpoint does
	// not give one, as the token specification says.
	authDefaultTokenLife = 60 * time.Second
	// authMaxTokenLife caps the lifetime an endpoint may claim.
	authMaxTokenLife = 24 * time.Hour
	// authRefreshMargin is the most a token is renewed before it expires.
	authRefreshMargin = 30 * time.Second
)

// authTokenResponse is the body of a token endpoint's answer, of the
// docker token flow and of OAuth2 alike.
type authTokenResponse struct {
	Token        string  `json:"token"`
	AccessToken  string  `json:"access_token"`
	ExpiresIn    float64 `json:"expires_in"`
	IssuedAt     string  `json:"issued_at"`
	RefreshToken string  `json:"refresh_token"`
}

// authStatusError is a token endpoint's answer other than 200.
type authStatusError struct {
	code int
	// oauthError is the "error" of an OAuth2 error body, if any.
	oauthError string
}

func (e *authStatusError) Error() string {
	s := fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
	if e.oauthError != "" {
		s += " (" + e.oauthError + ")"
	}
	return s
}

// fetchToken asks the realm of r for a token for its service and scopes,
// with the host's credentials when there are any and the realm may have
// them. A refresh token is read and kept only while the state is still
// that of r: one realm's refresh token never goes to another.
func (a *authorizer) fetchToken(ctx context.Context, r authRealm, scopes []string) (*authToken, error) {
	realm := r.url
	user, secret, err := a.credentials(ctx)
	if err != nil {
		return nil, err
	}
	tok := &authToken{scopes: scopes}
	if (user != "" || secret != "") && realm.Scheme == "http" && !IsLoopback(realm.Hostname()) {
		user, secret, tok.withheld = "", "", true
	}
	switch {
	case user != "":
		tok.who = fmt.Sprintf("user %q", user)
	case secret != "":
		tok.who = "an identity token"
	}
	start := a.now()

	a.mu.Lock()
	refresh := ""
	if a.gen == r.gen && a.refreshUser == user && tok.who != "" {
		refresh = a.refresh
	}
	a.mu.Unlock()

	var resp *authTokenResponse
	if refresh != "" {
		resp, err = a.postToken(ctx, r, scopes, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if authRefused(err) {
			// The refresh token is spent: fall back on the credentials.
			a.forgetRefresh(refresh)
			refresh = ""
		}
	}
	if refresh == "" {
		switch {
		case tok.who == "":
			resp, err = a.getToken(ctx, r, scopes, "", "")
		case user == "":
			resp, err = a.postToken(ctx, r, scopes, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {secret}})
		case a.opts.passwordGrant:
			resp, err = a.postToken(ctx, r, scopes, url.Values{"grant_type": {"password"}, "username": {user}, "password": {secret}})
			var se *authStatusError
			if errors.As(err, &se) && (se.code == http.StatusNotFound || se.code == http.StatusMethodNotAllowed ||
				se.code == http.StatusBadRequest && se.oauthError != "invalid_grant") {
				resp, err = a.getToken(ctx, r, scopes, user, secret)
			}
		default:
			resp, err = a.getToken(ctx, r, scopes, user, secret)
		}
	}
	if err != nil {
		return nil, a.tokenError(realm, tok, err)
	}

	tok.value = resp.Token
	if tok.value == "" {
		tok.value = resp.AccessToken
	}
	if !validAuthToken(tok.value) {
		return nil, fmt.Errorf("auth %s: token from %s: missing or not printable: %w", a.host, redact(realm), errdefs.ErrUnknown)
	}
	tok.refreshAt = authRefreshAt(start, resp.IssuedAt, resp.ExpiresIn)
	if resp.RefreshToken != "" && tok.who != "" {
		a.mu.Lock()
		if a.gen == r.gen {
			a.refresh, a.refreshUser = resp.RefreshToken, user
		}
		a.mu.Unlock()
	}
	return tok, nil
}

// authRefused reports whether err is a token endpoint's refusal of the
// credentials: 401, 403, or OAuth2's 400 invalid_grant.
func authRefused(err error) bool {
	var se *authStatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.code == http.StatusUnauthorized || se.code == http.StatusForbidden ||
		se.code == http.StatusBadRequest && (se.oauthError == "invalid_grant" || se.oauthError == "unauthorized_client")
}

func (a *authorizer) forgetRefresh(refresh string) {
	a.mu.Lock()
	if a.refresh == refresh {
		a.refresh, a.refreshUser = "", ""
	}
	a.mu.Unlock()
}

// tokenError wraps a failed token request with its kind.
func (a *authorizer) tokenError(realm *url.URL, tok *authToken, err error) error {
	var se *authStatusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case authRefused(err) && tok.who != "":
		return fmt.Errorf("auth %s: token endpoint %s refused %s: %v: %w", a.host, redact(realm), tok.who, se, errdefs.ErrPermissionDenied)
	case authRefused(err):
		return fmt.Errorf("auth %s: token endpoint %s refused an anonymous request: %v: %w", a.host, redact(realm), se, errdefs.ErrUnauthenticated)
	case se.code == http.StatusTooManyRequests || se.code >= 500:
		return fmt.Errorf("auth %s: token endpoint %s: %v: %w", a.host, redact(realm), se, errdefs.ErrUnavailable)
	default:
		return fmt.Errorf("auth %s: token endpoint %s: %v: %w", a.host, redact(realm), se, errdefs.ErrUnknown)
	}
}

// getToken asks for a token the docker way: a GET with the service and
// scopes in the query, and Basic authentication when user is set.
func (a *authorizer) getToken(ctx context.Context, r authRealm, scopes []string, user, secret string) (*authTokenResponse, error) {
	realm := r.url
	u := *realm
	q := u.Query()
	if r.service != "" {
		q.Set("service", r.service)
	}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("auth %s: token request to %s: %v: %w", a.host, redact(realm), err, errdefs.ErrInvalidArgument)
	}
	if user != "" {
		req.SetBasicAuth(user, secret)
	}
	return a.doToken(req, r)
}

// postToken asks for a token with an OAuth2 form holding grant and the
// service, scopes and client id. The request is not redirected: the form
// carries a secret, which must go nowhere but the realm.
func (a *authorizer) postToken(ctx context.Context, r authRealm, scopes []string, grant url.Values) (*authTokenResponse, error) {
	realm := r.url
	form := grant
	form.Set("client_id", authClientID)
	form.Set("access_type", "offline")
	if r.service != "" {
		form.Set("service", r.service)
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("auth %s: token request to %s: %v: %w", a.host, redact(realm), err, errdefs.ErrInvalidArgument)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Without GetBody the client does not replay the form on a 307 or 308
	// but returns the redirect, which doToken refuses.
	req.GetBody = nil
	return a.doToken(req, r)
}

// doToken sends a token request to the realm of r and decodes the answer,
// reading at most remotes.MaxSmallBodySize of it. A realm on the registry
// host gets the host's client and headers; any other realm the others.
func (a *authorizer) doToken(req *http.Request, r authRealm) (*authTokenResponse, error) {
	realm := r.url
	client := a.opts.client
	headers := []http.Header{a.opts.header}
	if r.local {
		if a.opts.hostClient != nil {
			client = a.opts.hostClient
		}
		headers = append(headers, a.opts.hostHeader)
	}
	for _, h := range headers {
		for k, v := range h {
			if k != "Authorization" && k != "Content-Type" {
				req.Header[k] = slices.Clone(v)
			}
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		if cerr := context.Cause(req.Context()); cerr != nil {
			return nil, fmt.Errorf("auth %s: token request to %s: %w", a.host, redact(realm), cerr)
		}
		return nil, fmt.Errorf("auth %s: token request to %s: %w", a.host, redact(realm), connError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		to := "nowhere"
		if loc, err := resp.Location(); err == nil {
			to = redact(loc)
		}
		why := ""
		if req.Method == http.MethodPost {
			why = " (a token request carrying a form is never redirected)"
		}
		return nil, fmt.Errorf("auth %s: token endpoint %s: %d redirect of a %s to %s not followed%s: %w",
			a.host, redact(realm), resp.StatusCode, req.Method, to, why, errdefs.ErrPermissionDenied)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, remotes.MaxSmallBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("auth %s: token response from %s: %v: %w", a.host, redact(realm), err, errdefs.ErrUnavailable)
	}
	if len(body) > remotes.MaxSmallBodySize {
		return nil, fmt.Errorf("auth %s: token response from %s over %d bytes: %w", a.host, redact(realm), remotes.MaxSmallBodySize, errdefs.ErrUnknown)
	}
	if resp.StatusCode != http.StatusOK {
		se := &authStatusError{code: resp.StatusCode}
		var oe struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &oe) == nil && len(oe.Error) < 64 {
			se.oauthError = oe.Error
		}
		return nil, se
	}
	var tr authTokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("auth %s: token response from %s: malformed: %w", a.host, redact(realm), errdefs.ErrUnknown)
	}
	return &tr, nil
}

// authRefreshAt returns when a token fetched at start stops being reused:
// shortly before it expires. It expires expiresIn seconds after it was
// issued: at issuedAt when that is a time in the few seconds before start
// (the endpoint's clock, trusted only to shorten the life), else at start.
func authRefreshAt(start time.Time, issuedAt string, expiresIn float64) time.Time {
	life := authDefaultTokenLife
	if expiresIn > 0 {
		life = authMaxTokenLife
		if expiresIn < authMaxTokenLife.Seconds() {
			life = time.Duration(expiresIn * float64(time.Second))
		}
	}
	base := start
	if t, err := time.Parse(time.RFC3339, issuedAt); err == nil && t.Before(start) && start.Sub(t) < life {
		base = t
	}
	return base.Add(life - min(life/5, authRefreshMargin))
}

// validAuthToken reports whether a token can go in a header as it is.
func validAuthToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// mergeAuthScopes returns the scopes of lists (each element one scope or
// several separated by spaces) sorted, without duplicates, and with the
// actions of scopes on the same resource merged:
// "repository:a:pull" and "repository:a:push" make "repository:a:pull,push".
func mergeAuthScopes(lists ...[]string) []string {
	actions := map[string]map[string]bool{} // "type:name" -> actions
	other := map[string]bool{}              // scopes of another form
	var out []string
	for _, l := range lists {
		for _, s := range l {
			for _, f := range strings.Fields(s) {
				typ, rest, ok := strings.Cut(f, ":")
				i := strings.LastIndexByte(rest, ':')
				if !ok || typ == "" || i <= 0 {
					if !other[f] {
						other[f] = true
						out = append(out, f)
					}
					continue
				}
				res := typ + ":" + rest[:i]
				if actions[res] == nil {
					actions[res] = map[string]bool{}
				}
				for a := range strings.SplitSeq(rest[i+1:], ",") {
					if a != "" {
						actions[res][a] = true
					}
				}
			}
		}
	}
	for res, acts := range actions {
		var list []string
		for a := range acts {
			list = append(list, a)
		}
		slices.Sort(list)
		out = append(out, res+":"+strings.Join(list, ","))
	}
	slices.Sort(out)
	return out
}
