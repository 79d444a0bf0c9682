package docker

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// authTokenRequest is one request the test token server answered.
type authTokenRequest struct {
	Method, Host, Grant, Service, User string
	// Basic is set when the request carried Basic credentials.
	Basic bool
	// Authorization is the request's Authorization header.
	Authorization string
	Scopes        []string
	Status        int
	Header        http.Header
}

// authTokenServer is a token endpoint for the tests: GET with optional
// Basic credentials (docker's flow), POST OAuth2 forms with the password
// and refresh_token grants. Tokens are "tok-N"; a POST answer, or a GET
// answer when getRefresh is set, carries a refresh token "rt-N".
type authTokenServer struct {
	t                 *testing.T
	user, pass        string
	identity          string // an identity token the POST accepts
	anonymousRefused  bool   // a GET without credentials gets 401
	postStatus        int    // when set, every POST gets this status
	getRefresh        bool
	expiresIn         int // 0: leave expires_in out
	issuedAt          string
	body              string // when set, the answer to every request
	arrived, released chan struct{}

	mu       sync.Mutex
	n        int
	reqs     []authTokenRequest
	tokens   map[string][]string // issued token -> scopes
	refreshs map[string]bool
}

func newAuthTokenServer(t *testing.T) *authTokenServer {
	return &authTokenServer{t: t, tokens: map[string][]string{}, refreshs: map[string]bool{}}
}

func (s *authTokenServer) requests() []authTokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *authTokenServer) scopesOf(token string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.tokens[token]
	return sc, ok
}

func (s *authTokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.arrived != nil {
		s.arrived <- struct{}{}
		<-s.released
	}
	rec := authTokenRequest{Method: r.Method, Host: r.Host, Authorization: r.Header.Get("Authorization"), Header: r.Header.Clone()}
	reply := func(status int, body any) {
		rec.Status = status
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if b, ok := body.(string); ok {
			fmt.Fprint(w, b)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}
	issue := func(user string, refresh bool) {
		s.mu.Lock()
		s.n++
		tok := fmt.Sprintf("tok-%d", s.n)
		s.tokens[tok] = rec.Scopes
		body := map[string]any{"token": tok}
		if r.Method == http.MethodPost {
			body = map[string]any{"access_token": tok}
		}
		if refresh {
			rt := fmt.Sprintf("rt-%d", s.n)
			s.refreshs[rt] = true
			body["refresh_token"] = rt
		}
		s.mu.Unlock()
		if s.expiresIn != 0 {
			body["expires_in"] = s.expiresIn
		}
		if s.issuedAt != "" {
			body["issued_at"] = s.issuedAt
		}
		if s.body != "" {
			reply(http.StatusOK, s.body)
			return
		}
		reply(http.StatusOK, body)
	}
	user, pass, basic := r.BasicAuth()
	rec.Basic = basic
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		rec.Service, rec.Scopes, rec.User = q.Get("service"), q["scope"], user
		switch {
		case basic && (user != s.user || pass != s.pass || s.user == ""):
			reply(http.StatusUnauthorized, `{"details":"incorrect username or password"}`)
		case !basic && s.anonymousRefused:
			reply(http.StatusUnauthorized, `{"details":"authentication required"}`)
		default:
			issue(user, s.getRefresh && basic)
		}
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		f := r.PostForm
		rec.Grant, rec.Service, rec.Scopes = f.Get("grant_type"), f.Get("service"), strings.Fields(f.Get("scope"))
		rec.User = f.Get("username")
		if s.postStatus != 0 {
			reply(s.postStatus, `{}`)
			return
		}
		switch rec.Grant {
		case "password":
			if rec.User != s.user || f.Get("password") != s.pass || s.user == "" {
				reply(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
		case "refresh_token":
			rt := f.Get("refresh_token")
			s.mu.Lock()
			ok := s.refreshs[rt] || rt == s.identity && rt != ""
			s.mu.Unlock()
			if !ok {
				reply(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
		default:
			reply(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		issue(rec.User, true)
	default:
		reply(http.StatusMethodNotAllowed, `{}`)
	}
}

// authClock is a settable clock.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *authClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// authStaticCreds returns a credentials function that counts its calls.
func authStaticCreds(user, secret string) (func(string) (string, string, error), *int) {
	var mu sync.Mutex
	n := new(int)
	return func(host string) (string, string, error) {
		mu.Lock()
		*n++
		mu.Unlock()
		return user, secret, nil
	}, n
}

// authChallengeResponse makes the 401 a registry answers a request to
// rawURL with, carrying the challenges and, when sent is set, the
// Authorization header the request had.
func authChallengeResponse(t *testing.T, rawURL, sent string, challenges ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sent != "" {
		req.Header.Set("Authorization", sent)
	}
	h := http.Header{}
	for _, c := range challenges {
		h.Add("WWW-Authenticate", c)
	}
	return &http.Response{StatusCode: http.StatusUnauthorized, Header: h, Request: req}
}

// authorize runs Authorize on a GET to rawURL and returns the header set.
func authorize(t *testing.T, ctx context.Context, a Authorizer, rawURL string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Authorize(ctx, req)
	return req.Header.Get("Authorization"), err
}

// newAuthTestAuthorizer returns an authorizer for registry.test whose
// clock the test sets.
func newAuthTestAuthorizer(t *testing.T, opts ...AuthorizerOpt) (*authorizer, *authClock) {
	t.Helper()
	a, ok := NewAuthorizer("registry.test", opts...).(*authorizer)
	if !ok || a.err != nil {
		t.Fatalf("NewAuthorizer: %v", a.err)
	}
	clock := &authClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	a.now = clock.now
	return a, clock
}

const authTestURL = "https://registry.test/v2/app/manifests/latest"

func bearerChallenge(realm string, extra ...string) string {
	return strings.Join(append([]string{`Bearer realm="` + realm + `"`, `service="registry.test"`}, extra...), ",")
}

func TestAuthorizerTokenFlows(t *testing.T) {
	tests := []struct {
		name string
		// server edits the token server.
		server func(*authTokenServer)
		creds  [2]string
		opts   []AuthorizerOpt
		// want are the token requests: method, grant, user, basic.
		want []authTokenRequest
	}{
		{
			name: "anonymous GET",
			want: []authTokenRequest{{Method: "GET", Status: 200}},
		},
		{
			name:   "basic GET",
			server: func(s *authTokenServer) { s.user, s.pass = "alice", "pw" },
			creds:  [2]string{"alice", "pw"},
			want:   []authTokenRequest{{Method: "GET", User: "alice", Basic: true, Status: 200}},
		},
		{
			name:   "identity token POST",
			server: func(s *authTokenServer) { s.identity = "idtok" },
			creds:  [2]string{"", "idtok"},
			want:   []authTokenRequest{{Method: "POST", Grant: "refresh_token", Status: 200}},
		},
		{
			name:   "password grant POST",
			server: func(s *authTokenServer) { s.user, s.pass = "alice", "pw" },
			creds:  [2]string{"alice", "pw"},
			opts:   []AuthorizerOpt{WithAuthPasswordGrant()},
			want:   []authTokenRequest{{Method: "POST", Grant: "password", User: "alice", Status: 200}},
		},
		{
			name:   "password grant POST 404 falls back to GET",
			server: func(s *authTokenServer) { s.user, s.pass, s.postStatus = "alice", "pw", 404 },
			creds:  [2]string{"alice", "pw"},
			opts:   []AuthorizerOpt{WithAuthPasswordGrant()},
			want: []authTokenRequest{
				{Method: "POST", Grant: "password", User: "alice", Status: 404},
				{Method: "GET", User: "alice", Basic: true, Status: 200},
			},
		},
		{
			name:   "password grant POST 405 falls back to GET",
			server: func(s *authTokenServer) { s.user, s.pass, s.postStatus = "alice", "pw", 405 },
			creds:  [2]string{"alice", "pw"},
			opts:   []AuthorizerOpt{WithAuthPasswordGrant()},
			want: []authTokenRequest{
				{Method: "POST", Grant: "password", User: "alice", Status: 405},
				{Method: "GET", User: "alice", Basic: true, Status: 200},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newAuthTokenServer(t)
			if tt.server != nil {
				tt.server(ts)
			}
			srv := httptest.NewServer(ts)
			defer srv.Close()
			opts := tt.opts
			if tt.creds != [2]string{} {
				creds, _ := authStaticCreds(tt.creds[0], tt.creds[1])
				opts = append(opts, WithAuthCredentials(creds))
			}
			a, _ := newAuthTestAuthorizer(t, opts...)
			ctx := WithScope(context.Background(), RepositoryScope("app", false))
			resp := authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token", `scope="repository:app:pull"`))
			if err := a.AddResponses(ctx, []*http.Response{resp}); err != nil {
				t.Fatalf("AddResponses = %v", err)
			}
			got, err := authorize(t, ctx, a, authTestURL)
			if err != nil {
				t.Fatalf("Authorize = %v", err)
			}
			reqs := ts.requests()
			if want := "Bearer tok-" + fmt.Sprint(len(reqs)-countFailed(reqs)); got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if len(reqs) != len(tt.want) {
				t.Fatalf("token requests = %+v, want %+v", reqs, tt.want)
			}
			for i, w := range tt.want {
				r := reqs[i]
				if r.Method != w.Method || r.Grant != w.Grant || r.User != w.User || r.Basic != w.Basic || r.Status != w.Status {
					t.Errorf("token request %d = %s grant=%q user=%q basic=%v status %d, want %s grant=%q user=%q basic=%v status %d",
						i, r.Method, r.Grant, r.User, r.Basic, r.Status, w.Method, w.Grant, w.User, w.Basic, w.Status)
				}
				if r.Service != "registry.test" || !slices.Equal(r.Scopes, []string{"repository:app:pull"}) {
					t.Errorf("token request %d: service %q scopes %q", i, r.Service, r.Scopes)
				}
			}
		})
	}
}

func countFailed(reqs []authTokenRequest) int {
	n := 0
	for _, r := range reqs {
		if r.Status != http.StatusOK {
			n++
		}
	}
	return n
}

func TestAuthorizerRefreshToken(t *testing.T) {
	ts := newAuthTokenServer(t)
	ts.user, ts.pass, ts.getRefresh = "alice", "pw", true
	srv := httptest.NewServer(ts)
	defer srv.Close()
	creds, calls := authStaticCreds("alice", "pw")
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	ctx := context.Background()
	resp := authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))
	if err := a.AddResponses(ctx, []*http.Response{resp}); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"a", "b"} {
		if _, err := authorize(t, WithScope(ctx, RepositoryScope(repo, false)), a, authTestURL); err != nil {
			t.Fatalf("Authorize(%s) = %v", repo, err)
		}
	}
	// The refresh token is spent: the next fetch goes back to the password.
	ts.mu.Lock()
	clear(ts.refreshs)
	ts.mu.Unlock()
	if _, err := authorize(t, WithScope(ctx, RepositoryScope("c", false)), a, authTestURL); err != nil {
		t.Fatalf("Authorize(c) = %v", err)
	}
	var got []string
	for _, r := range ts.requests() {
		got = append(got, fmt.Sprintf("%s %s %d", r.Method, r.Grant, r.Status))
	}
	want := []string{"GET  200", "POST refresh_token 200", "POST refresh_token 400", "GET  200"}
	if !slices.Equal(got, want) {
		t.Errorf("token requests = %q, want %q", got, want)
	}
	if *calls != 3 {
		t.Errorf("credentials called %d times, want 3 (once per fetch)", *calls)
	}
}

func TestAuthorizerTokenReuse(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		issuedAt  func(time.Time) string
		// reused and refetched are ages at which the token is still used,
		// and at which a new one is fetched.
		reused, refetched time.Duration
	}{
		{"default life of 60s", 0, nil, 47 * time.Second, 48 * time.Second},
		{"expires_in 300", 300, nil, 269 * time.Second, 270 * time.Second},
		{"issued before the request", 300, func(t time.Time) string { return t.Add(-100 * time.Second).Format(time.RFC3339) },
			169 * time.Second, 170 * time.Second},
		{"issued in the future is ignored", 300, func(t time.Time) string { return t.Add(time.Hour).Format(time.RFC3339) },
			269 * time.Second, 270 * time.Second},
		{"issued long ago is ignored", 300, func(t time.Time) string { return t.Add(-time.Hour).Format(time.RFC3339) },
			269 * time.Second, 270 * time.Second},
		{"garbage issued_at is ignored", 300, func(time.Time) string { return "yesterday" },
			269 * time.Second, 270 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newAuthTokenServer(t)
			srv := httptest.NewServer(ts)
			defer srv.Close()
			a, clock := newAuthTestAuthorizer(t)
			ts.expiresIn = tt.expiresIn
			if tt.issuedAt != nil {
				ts.issuedAt = tt.issuedAt(clock.now())
			}
			ctx := WithScope(context.Background(), "repository:app:pull")
			if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
				t.Fatal(err)
			}
			start := clock.now()
			check := func(at time.Duration, want string) {
				t.Helper()
				clock.add(start.Add(at).Sub(clock.now()))
				got, err := authorize(t, ctx, a, authTestURL)
				if err != nil || got != want {
					t.Fatalf("at %v: Authorize = %q, %v; want %q", at, got, err, want)
				}
			}
			check(0, "Bearer tok-1")
			check(tt.reused, "Bearer tok-1")
			check(tt.refetched, "Bearer tok-2")
			if n := len(ts.requests()); n != 2 {
				t.Errorf("%d token requests, want 2", n)
			}
		})
	}
}

func TestAuthorizerConcurrentFetch(t *testing.T) {
	ts := newAuthTokenServer(t)
	ts.arrived, ts.released = make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ := newAuthTestAuthorizer(t)
	ctx := WithScope(context.Background(), "repository:app:pull")
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
		t.Fatal(err)
	}

	const callers = 8
	var wg sync.WaitGroup
	results := make(chan string, callers+1)
	call := func() {
		defer wg.Done()
		got, err := authorize(t, ctx, a, authTestURL)
		if err != nil {
			t.Errorf("Authorize = %v", err)
		}
		results <- got
	}
	wg.Add(1)
	go call()
	<-ts.arrived // the first fetch is under way and held
	// A caller whose context ends stops waiting; the fetch goes on.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := authorize(t, cctx, a, authTestURL); !errors.Is(err, context.Canceled) {
		t.Errorf("Authorize(cancelled) = %v, want context.Canceled", err)
	}
	for range callers - 1 {
		wg.Add(1)
		go call()
	}
	runtime.Gosched()
	close(ts.released)
	wg.Wait()
	close(results)
	for got := range results {
		if got != "Bearer tok-1" {
			t.Errorf("Authorization = %q, want Bearer tok-1", got)
		}
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestAuthorizerScopeUnion(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ := newAuthTestAuthorizer(t)
	ctx := WithScope(WithScope(context.Background(), RepositoryScope("app", true)), RepositoryScope("other", false))
	resp := authChallengeResponse(t, authTestURL, "",
		bearerChallenge(srv.URL+"/token", `scope="repository:app:pull repository:base:pull"`))
	if err := a.AddResponses(ctx, []*http.Response{resp}); err != nil {
		t.Fatal(err)
	}
	if _, err := authorize(t, ctx, a, authTestURL); err != nil {
		t.Fatal(err)
	}
	want := []string{"repository:app:pull,push", "repository:base:pull", "repository:other:pull"}
	if got := ts.requests()[0].Scopes; !slices.Equal(got, want) {
		t.Errorf("scopes = %q, want %q", got, want)
	}
	// The same scopes in another order share the token.
	ctx2 := WithScope(WithScope(WithScope(context.Background(), RepositoryScope("other", false)), "repository:app:push"), "repository:app:pull")
	if got, _ := authorize(t, ctx2, a, authTestURL); got != "Bearer tok-1" {
		t.Errorf("Authorize(same scopes) = %q, want the first token", got)
	}
}

func TestAuthorizerHosts(t *testing.T) {
	tests := []struct {
		host, url string
		want      bool
	}{
		{"registry.test", "https://registry.test/v2/", true},
		{"registry.test", "https://REGISTRY.Test/v2/", true},
		{"registry.test", "https://registry.test:443/v2/", true},
		{"registry.test", "http://registry.test:80/v2/", true},
		{"registry.test:443", "https://registry.test/v2/", true},
		{"Registry.Test:5000", "https://registry.test:5000/v2/", true},
		{"registry.test", "https://registry.test:5000/v2/", false},
		{"registry.test", "http://registry.test:443/v2/", false},
		{"registry.test:5000", "https://registry.test/v2/", false},
		{"registry.test", "https://cdn.test/blob", false},
		{"registry.test", "https://registry.test.evil/v2/", false},
		{"registry.test", "https://evil@cdn.test/?registry.test", false},
		{"[::1]:5000", "http://[::1]:5000/v2/", true},
		{"localhost:5000", "http://LOCALHOST:5000/v2/", true},
		{"localhost:5000", "http://localhost:5001/v2/", false},
	}
	for _, tt := range tests {
		a := NewAuthorizer(tt.host, WithAuthAllowPlainHTTP()).(*authorizer)
		if a.err != nil {
			t.Fatalf("NewAuthorizer(%q): %v", tt.host, a.err)
		}
		a.scheme, a.basic = authSchemeBasic, "Basic eDp5"
		got, err := authorize(t, context.Background(), a, tt.url)
		if err != nil || (got != "") != tt.want {
			t.Errorf("authorizer for %q: Authorize(%s) set %q, %v; want set=%v", tt.host, tt.url, got, err, tt.want)
		}
	}
}

func TestAuthorizerRefusesOtherHosts(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	creds, _ := authStaticCreds("alice", "pw")
	ts.user, ts.pass = "alice", "pw"
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	ctx := WithScope(context.Background(), "repository:app:pull")

	// A challenge that came from another host (a redirect target) must
	// not say where our credentials go.
	evil := authChallengeResponse(t, "https://cdn.test/blob", "", bearerChallenge(srv.URL+"/token"))
	if err := a.AddResponses(ctx, []*http.Response{evil}); !errdefs.IsPermissionDenied(err) {
		t.Errorf("AddResponses(challenge from cdn.test) = %v, want PermissionDenied", err)
	}
	if got, err := authorize(t, ctx, a, authTestURL); got != "" || err != nil {
		t.Errorf("Authorize after a foreign challenge = %q, %v; want nothing", got, err)
	}
	if n := len(ts.requests()); n != 0 {
		t.Errorf("%d token requests after a foreign challenge", n)
	}

	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
		t.Fatal(err)
	}
	if got, _ := authorize(t, ctx, a, authTestURL); got != "Bearer tok-1" {
		t.Fatalf("Authorize(registry) = %q", got)
	}
	for _, u := range []string{"https://cdn.test/blob", "https://registry.test:8443/v2/", "http://registry.test:443/v2/"} {
		if got, err := authorize(t, ctx, a, u); got != "" || err != nil {
			t.Errorf("Authorize(%s) = %q, %v; want nothing", u, got, err)
		}
	}
}

// authRoutedClient returns a client that connects to addr whatever host
// a URL names, so that tests can use names that are not loopback.
func authRoutedClient(addr string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

func TestAuthorizerInsecureRealm(t *testing.T) {
	tests := []struct {
		name      string
		tls       bool
		realmHost string
		wantCreds bool
	}{
		{"http non-loopback realm gets no credentials", false, "auth.test", false},
		{"https realm gets credentials", true, "auth.test", true},
		{"http localhost realm gets credentials", false, "localhost", true},
		{"http 127.0.0.2 realm gets credentials", false, "127.0.0.2", true},
		{"http ::1 realm gets credentials", false, "[::1]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newAuthTokenServer(t)
			ts.user, ts.pass = "alice", "pw"
			srv := httptest.NewUnstartedServer(ts)
			scheme := "http"
			if tt.tls {
				srv.StartTLS()
				scheme = "https"
			} else {
				srv.Start()
			}
			defer srv.Close()
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			realm := scheme + "://" + tt.realmHost + ":" + port + "/token"
			creds, _ := authStaticCreds("alice", "pw")
			a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds), WithAuthClient(authRoutedClient(srv.Listener.Addr().String())))
			ctx := WithScope(context.Background(), "repository:app:pull")
			if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))}); err != nil {
				t.Fatal(err)
			}
			got, err := authorize(t, ctx, a, authTestURL)
			if err != nil || got != "Bearer tok-1" {
				t.Fatalf("Authorize = %q, %v", got, err)
			}
			r := ts.requests()[0]
			if r.Basic != tt.wantCreds || (r.Authorization != "") != tt.wantCreds {
				t.Errorf("token request to %s: Authorization %q, want credentials=%v", realm, r.Authorization, tt.wantCreds)
			}
			if !tt.wantCreds {
				// The registry refuses the anonymous token: the error says why.
				sent := authChallengeResponse(t, authTestURL, got, bearerChallenge(realm, `error="insufficient_scope"`))
				err := a.AddResponses(ctx, []*http.Response{sent})
				if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), "plain-http") {
					t.Errorf("AddResponses(refused) = %v, want PermissionDenied about plain http", err)
				}
			}
		})
	}
}

func TestAuthorizerTokenRedirect(t *testing.T) {
	target := newAuthTokenServer(t)
	other := httptest.NewServer(target)
	defer other.Close()
	for _, sameHost := range []bool{false, true} {
		t.Run(fmt.Sprintf("same host %v", sameHost), func(t *testing.T) {
			target.mu.Lock()
			target.reqs = nil
			target.mu.Unlock()
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/token" {
					to := other.URL + "/issue?" + r.URL.RawQuery
					if sameHost {
						to = srv.URL + "/issue?" + r.URL.RawQuery
					}
					http.Redirect(w, r, to, http.StatusTemporaryRedirect)
					return
				}
				target.ServeHTTP(w, r)
			}))
			defer srv.Close()
			target.user, target.pass = "alice", "pw"
			creds, _ := authStaticCreds("alice", "pw")
			var followed int
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { followed++; return nil }}
			a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds), WithAuthClient(client))
			ctx := context.Background()
			if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
				t.Fatal(err)
			}
			if _, err := authorize(t, ctx, a, authTestURL); err != nil {
				t.Fatalf("Authorize = %v", err)
			}
			r := target.requests()[0]
			if r.Basic != sameHost {
				t.Errorf("redirected token request carried credentials: %v, want %v", r.Basic, sameHost)
			}
			if followed != 1 {
				t.Errorf("the client's own CheckRedirect ran %d times, want 1", followed)
			}
		})
	}
}

func TestAuthorizerRefusals(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	realm := srv.URL + "/token"
	ctx := WithScope(context.Background(), "repository:app:pull")

	t.Run("token endpoint refuses the password", func(t *testing.T) {
		ts.user, ts.pass = "alice", "right"
		creds, _ := authStaticCreds("alice", "wrong-secret")
		a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))}); err != nil {
			t.Fatal(err)
		}
		_, err := authorize(t, ctx, a, authTestURL)
		if !errdefs.IsPermissionDenied(err) {
			t.Fatalf("Authorize = %v, want PermissionDenied", err)
		}
		for _, s := range []string{"registry.test", `"alice"`} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %s", err, s)
			}
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("error %q shows the secret", err)
		}
	})

	t.Run("token endpoint refuses an identity token", func(t *testing.T) {
		creds, _ := authStaticCreds("", "stale-identity")
		a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))}); err != nil {
			t.Fatal(err)
		}
		_, err := authorize(t, ctx, a, authTestURL)
		if !errdefs.IsPermissionDenied(err) || strings.Contains(err.Error(), "stale-identity") {
			t.Fatalf("Authorize = %v, want PermissionDenied without the token", err)
		}
	})

	t.Run("token endpoint refuses anonymous", func(t *testing.T) {
		ts.anonymousRefused = true
		defer func() { ts.anonymousRefused = false }()
		a, _ := newAuthTestAuthorizer(t)
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))}); err != nil {
			t.Fatal(err)
		}
		if _, err := authorize(t, ctx, a, authTestURL); !errdefs.IsUnauthorized(err) {
			t.Fatalf("Authorize = %v, want Unauthenticated", err)
		}
	})

	for _, tc := range []struct {
		name  string
		creds [2]string
		check func(error) bool
	}{
		{"registry refuses the token of a user", [2]string{"alice", "right"}, errdefs.IsPermissionDenied},
		{"registry refuses an anonymous token", [2]string{}, errdefs.IsUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.user, ts.pass = "alice", "right"
			creds, _ := authStaticCreds(tc.creds[0], tc.creds[1])
			a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
			first := authChallengeResponse(t, authTestURL, "", bearerChallenge(realm, `scope="repository:app:pull"`))
			if err := a.AddResponses(ctx, []*http.Response{first}); err != nil {
				t.Fatal(err)
			}
			tok, err := authorize(t, ctx, a, authTestURL)
			if err != nil {
				t.Fatal(err)
			}
			again := authChallengeResponse(t, authTestURL, tok, bearerChallenge(realm, `scope="repository:app:pull"`, `error="insufficient_scope"`))
			err = a.AddResponses(ctx, []*http.Response{again, first})
			if !tc.check(err) {
				t.Fatalf("AddResponses(same challenge again) = %v", err)
			}
			if tc.creds[0] != "" && !strings.Contains(err.Error(), `"alice"`) {
				t.Errorf("error %q does not name the user", err)
			}
		})
	}

	t.Run("a wider scope is not a refusal", func(t *testing.T) {
		a, _ := newAuthTestAuthorizer(t)
		first := authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))
		if err := a.AddResponses(ctx, []*http.Response{first}); err != nil {
			t.Fatal(err)
		}
		tok, _ := authorize(t, ctx, a, authTestURL)
		wider := authChallengeResponse(t, authTestURL, tok, bearerChallenge(realm, `scope="repository:app:pull,push"`, `error="insufficient_scope"`))
		if err := a.AddResponses(ctx, []*http.Response{wider}); err != nil {
			t.Fatalf("AddResponses(wider scope) = %v", err)
		}
		tok2, err := authorize(t, ctx, a, authTestURL)
		if err != nil || tok2 == tok {
			t.Fatalf("Authorize after a wider challenge = %q, %v; want a new token", tok2, err)
		}
		last := ts.requests()[len(ts.requests())-1]
		if !slices.Equal(last.Scopes, []string{"repository:app:pull,push"}) {
			t.Errorf("token request scopes %q", last.Scopes)
		}
	})

	t.Run("an invalid token is fetched again once", func(t *testing.T) {
		a, _ := newAuthTestAuthorizer(t)
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm))}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			tok, err := authorize(t, ctx, a, authTestURL)
			if err != nil {
				t.Fatal(err)
			}
			err = a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, tok, bearerChallenge(realm, `error="invalid_token"`))})
			if i == 0 && err != nil {
				t.Fatalf("first invalid_token: AddResponses = %v, want a retry", err)
			}
			if i == 1 && !errdefs.IsUnauthorized(err) {
				t.Fatalf("second invalid_token: AddResponses = %v, want Unauthenticated", err)
			}
		}
	})
}

func TestAuthorizerBasic(t *testing.T) {
	ctx := context.Background()
	basic := `Basic realm="registry"`

	creds, calls := authStaticCreds("alice", "pw")
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	if got, _ := authorize(t, ctx, a, authTestURL); got != "" {
		t.Fatalf("Authorize before any challenge = %q", got)
	}
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", basic)}); err != nil {
		t.Fatal(err)
	}
	got, err := authorize(t, ctx, a, authTestURL)
	if want := "Basic YWxpY2U6cHc="; got != want || err != nil {
		t.Fatalf("Authorize = %q, %v; want %q", got, err, want)
	}
	for range 3 {
		authorize(t, ctx, a, authTestURL)
	}
	if *calls != 1 {
		t.Errorf("credentials read %d times, want 1", *calls)
	}
	err = a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, got, basic)})
	if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), `"alice"`) || strings.Contains(err.Error(), "pw") {
		t.Errorf("AddResponses(refused basic) = %v, want PermissionDenied naming alice", err)
	}

	for _, c := range [][2]string{{}, {"", "identity-token"}} {
		creds, _ := authStaticCreds(c[0], c[1])
		a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
		err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", basic)})
		if !errdefs.IsUnauthorized(err) {
			t.Errorf("AddResponses(basic, credentials %q) = %v, want Unauthenticated", c, err)
		}
	}

	// A Bearer challenge is preferred over a Basic one.
	ts := newAuthTokenServer(t)
	ts.user, ts.pass = "alice", "pw"
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ = newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	resp := authChallengeResponse(t, authTestURL, "", basic+", "+bearerChallenge(srv.URL+"/token"))
	if err := a.AddResponses(ctx, []*http.Response{resp}); err != nil {
		t.Fatal(err)
	}
	if got, err := authorize(t, ctx, a, authTestURL); !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("Authorize with Basic and Bearer challenges = %q, %v; want a bearer token", got, err)
	}
}

func TestAuthorizerChallengeErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		headers []string
		check   func(error) bool
	}{
		{"no challenge", nil, errdefs.IsNotImplemented},
		{"unknown scheme", []string{`Negotiate abc==`}, errdefs.IsNotImplemented},
		{"unknown schemes", []string{`Digest realm="x", nonce="y"`, `HOBA`}, errdefs.IsNotImplemented},
		{"bearer without realm", []string{`Bearer service="x"`}, errdefs.IsNotImplemented},
		{"bearer with a relative realm", []string{`Bearer realm="/token"`}, errdefs.IsNotImplemented},
		{"bearer with a ftp realm", []string{`Bearer realm="ftp://auth.test/token"`}, errdefs.IsNotImplemented},
		{"malformed header", []string{`Bearer realm="https://auth.test/token`}, errdefs.IsNotImplemented},
		{"bearer accepted", []string{`Bearer realm="https://auth.test/token"`}, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		a, _ := newAuthTestAuthorizer(t)
		err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", tt.headers...)})
		if !tt.check(err) {
			t.Errorf("%s: AddResponses(%q) = %v", tt.name, tt.headers, err)
		}
	}

	a, _ := newAuthTestAuthorizer(t)
	ok := authChallengeResponse(t, authTestURL, "", `Bearer realm="https://auth.test/token"`)
	notChallenge := *ok
	notChallenge.StatusCode = http.StatusForbidden
	noRequest := *ok
	noRequest.Request = nil
	for name, rs := range map[string][]*http.Response{
		"none": nil, "nil": {nil}, "403": {&notChallenge}, "no request": {&noRequest},
	} {
		if err := a.AddResponses(ctx, rs); err == nil {
			t.Errorf("AddResponses(%s) = nil, want an error", name)
		}
	}
}

func TestAuthorizerTokenErrors(t *testing.T) {
	tests := []struct {
		name  string
		h     http.HandlerFunc
		check func(error) bool
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, errdefs.IsUnavailable},
		{"too many requests", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, errdefs.IsUnavailable},
		{"not found", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, errdefs.IsUnknown},
		{"malformed json", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token":`) }, errdefs.IsUnknown},
		{"no token", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"expires_in":60}`) }, errdefs.IsUnknown},
		{"token with a newline", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token":"a\nb"}`) }, errdefs.IsUnknown},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"token":"%s"}`, strings.Repeat("a", 1<<20))
		}, errdefs.IsUnknown},
		{"access_token only", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"access_token":"at","expires_in":1.5e2}`)
		},
			func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			a, _ := newAuthTestAuthorizer(t)
			ctx := context.Background()
			if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
				t.Fatal(err)
			}
			if _, err := authorize(t, ctx, a, authTestURL); !tt.check(err) {
				t.Errorf("Authorize = %v", err)
			}
		})
	}
}

func TestAuthorizerOptions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		host string
		opts []AuthorizerOpt
	}{
		{"", nil},
		{"https://registry.test", nil},
		{"registry.test/v2", nil},
		{"registry.test", []AuthorizerOpt{WithAuthClient(nil)}},
	} {
		a := NewAuthorizer(tc.host, tc.opts...)
		if _, err := authorize(t, ctx, a, authTestURL); !errdefs.IsInvalidArgument(err) {
			t.Errorf("NewAuthorizer(%q): Authorize = %v, want InvalidArgument", tc.host, err)
		}
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", `Basic`)}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("NewAuthorizer(%q): AddResponses = %v, want InvalidArgument", tc.host, err)
		}
	}

	// A failing credentials function fails the authorization that needs it.
	boom := errors.New("keychain locked")
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(func(string) (string, string, error) { return "", "", boom }))
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", `Basic realm="r"`)}); !errors.Is(err, boom) {
		t.Errorf("AddResponses with failing credentials = %v", err)
	}
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge("https://auth.test/token"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := authorize(t, ctx, a, authTestURL); !errors.Is(err, boom) {
		t.Errorf("Authorize with failing credentials = %v", err)
	}

	// WithAuthHeader reaches the token endpoint, not the registry.
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ = newAuthTestAuthorizer(t, WithAuthHeader(http.Header{"user-agent": {"dctr/test"}, "X-Extra": {"1"}}))
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, authTestURL, nil)
	if err := a.Authorize(ctx, req); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("X-Extra") != "" {
		t.Errorf("the token request header reached the registry request")
	}
	h := ts.requests()[0].Header
	if h.Get("User-Agent") != "dctr/test" || h.Get("X-Extra") != "1" {
		t.Errorf("token request header = %v", h)
	}
}

// TestAuthorizerRegistry runs the whole cycle against a registry that
// checks the tokens it is sent, as a resolver would drive it.
func TestAuthorizerRegistry(t *testing.T) {
	ts := newAuthTokenServer(t)
	ts.user, ts.pass, ts.expiresIn = "alice", "pw", 300
	mux := http.NewServeMux()
	mux.Handle("/token", ts)
	var srv *httptest.Server
	var registryRequests int
	mux.HandleFunc("/v2/{repo}/manifests/{ref}", func(w http.ResponseWriter, r *http.Request) {
		registryRequests++
		want := "repository:" + r.PathValue("repo") + ":pull"
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		scopes, ok := ts.scopesOf(tok)
		if ok && slices.ContainsFunc(scopes, func(s string) bool { return s == want || strings.HasPrefix(s, want+",") }) {
			fmt.Fprint(w, "manifest")
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="registry",scope="%s"`, srv.URL, want))
		w.WriteHeader(http.StatusUnauthorized)
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	creds, _ := authStaticCreds("alice", "pw")
	a := NewAuthorizer(host, WithAuthCredentials(creds))

	get := func(ctx context.Context, repo string) (int, error) {
		var responses []*http.Response
		for range 4 {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/"+repo+"/manifests/latest", nil)
			if err := a.Authorize(ctx, req); err != nil {
				return 0, err
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				return resp.StatusCode, nil
			}
			responses = append([]*http.Response{resp}, responses...)
			if err := a.AddResponses(ctx, responses); err != nil {
				return 0, err
			}
		}
		return 0, fmt.Errorf("no end to challenges")
	}
	ctx := context.Background()
	for _, repo := range []string{"app", "app", "base"} {
		code, err := get(WithScope(ctx, RepositoryScope(repo, false)), repo)
		if code != http.StatusOK || err != nil {
			t.Fatalf("GET %s = %d, %v", repo, code, err)
		}
	}
	// app: 401 then 200; app again: 200 with the cached token; base: 200
	// with a token for base alone, got at once from the context's scope.
	if registryRequests != 4 {
		t.Errorf("%d registry requests, want 4", registryRequests)
	}
	if n := len(ts.requests()); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}
