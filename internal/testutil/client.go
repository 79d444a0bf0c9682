package testutil

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// PushOpt configures how the push helpers ([PushBlob], [PushManifest],
// [Image.Push]) talk to a registry.
type PushOpt func(*pushOptions)

type pushOptions struct {
	user, pass string
}

// WithAuth makes the push helpers answer a registry's 401 with user and
// pass: directly for a Basic challenge, through the realm's GET token flow
// for a Bearer one. Default: anonymous (Bearer challenges still get an
// anonymous token).
func WithAuth(user, pass string) PushOpt {
	return func(o *pushOptions) { o.user, o.pass = user, pass }
}

// newPushClient returns an HTTP client that answers auth challenges as
// opts say.
func newPushClient(opts []PushOpt) *http.Client {
	var o pushOptions
	for _, opt := range opts {
		opt(&o)
	}
	return &http.Client{Transport: &authTransport{
		base: http.DefaultTransport,
		user: o.user, pass: o.pass,
		auth: map[string]string{},
	}}
}

// authTransport retries a request that got 401 once, with the
// Authorization the challenge asks for, and reuses it for the same host.
type authTransport struct {
	base       http.RoundTripper
	user, pass string

	mu   sync.Mutex
	auth map[string]string // host -> Authorization header
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	cached := a.auth[req.URL.Host]
	a.mu.Unlock()
	first := req.Clone(req.Context())
	if cached != "" {
		first.Header.Set("Authorization", cached)
	}
	resp, err := a.base.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	header, err := a.authorize(req, resp.Header.Get("WWW-Authenticate"))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	retry.Header.Set("Authorization", header)
	a.mu.Lock()
	a.auth[req.URL.Host] = header
	a.mu.Unlock()
	return a.base.RoundTrip(retry)
}

// authorize returns the Authorization header that answers challenge.
func (a *authTransport) authorize(req *http.Request, challenge string) (string, error) {
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic":
		if a.user == "" {
			return "", fmt.Errorf("%s %s: basic auth challenge and no credentials", req.Method, req.URL)
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.pass)), nil
	case "bearer":
		token, err := fetchToken(req, params, a.user, a.pass)
		if err != nil {
			return "", err
		}
		return "Bearer " + token, nil
	}
	return "", fmt.Errorf("%s %s: unsupported challenge %q", req.Method, req.URL, challenge)
}

// fetchToken gets a token from the realm of a Bearer challenge with the
// Docker token flow (GET, Basic credentials when user != "").
func fetchToken(orig *http.Request, params map[string]string, user, pass string) (string, error) {
	realm, err := url.Parse(params["realm"])
	if err != nil || realm.Scheme == "" {
		return "", fmt.Errorf("bearer challenge with bad realm %q", params["realm"])
	}
	q := realm.Query()
	if params["service"] != "" {
		q.Set("service", params["service"])
	}
	for _, s := range strings.Fields(params["scope"]) {
		q.Add("scope", s)
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(orig.Context(), http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return "", fmt.Errorf("GET %s: %s: %s", realm, resp.Status, body)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", fmt.Errorf("GET %s: %w", realm, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return "", errors.New("token response without a token")
	}
	return tr.Token, nil
}

// parseChallenge parses a WWW-Authenticate value with one challenge,
// `Bearer realm="…",service="…",scope="…"`, into its scheme and its
// parameters (names lowercased).
func parseChallenge(h string) (scheme string, params map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params = map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " ,")
		if rest == "" {
			return scheme, params
		}
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return scheme, params
		}
		name = strings.ToLower(strings.TrimSpace(name))
		var value strings.Builder
		if strings.HasPrefix(after, `"`) {
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				value.WriteByte(after[i])
			}
			rest = after[min(i+1, len(after)):]
		} else {
			v, r, _ := strings.Cut(after, ",")
			value.WriteString(strings.TrimSpace(v))
			rest = r
		}
		params[name] = value.String()
	}
}
