package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// authRecorder is a server that records the requests it gets and answers
// 500: a host that must not be reached.
type authRecorder struct {
	mu   sync.Mutex
	reqs []string // method, path and body of each request
	hdrs []http.Header
}

func (s *authRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path+" "+string(body))
	s.hdrs = append(s.hdrs, r.Header.Clone())
	s.mu.Unlock()
	w.WriteHeader(http.StatusInternalServerError)
}

func (s *authRecorder) requests() ([]string, []http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...), append([]http.Header(nil), s.hdrs...)
}

// TestAuthorizerTokenPostNotRedirected checks that a token endpoint that
// answers an OAuth2 POST with 307 or 308 to another host does not get the
// form (an identity token, a password) sent on.
func TestAuthorizerTokenPostNotRedirected(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds [2]string
		opts  []AuthorizerOpt
	}{
		{"identity token", [2]string{"", "SECRET-IDENTITY"}, nil},
		{"password grant", [2]string{"alice", "SECRET-PASSWORD"}, []AuthorizerOpt{WithAuthPasswordGrant()}},
	} {
		for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(fmt.Sprintf("%s %d", tc.name, code), func(t *testing.T) {
				evil := &authRecorder{}
				evilSrv := httptest.NewServer(evil)
				defer evilSrv.Close()
				realm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, evilSrv.URL+"/steal", code)
				}))
				defer realm.Close()
				creds, _ := authStaticCreds(tc.creds[0], tc.creds[1])
				a, _ := newAuthTestAuthorizer(t, append(tc.opts, WithAuthCredentials(creds))...)
				ctx := WithScope(context.Background(), "repository:app:pull")
				if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(realm.URL+"/token"))}); err != nil {
					t.Fatal(err)
				}
				_, err := authorize(t, ctx, a, authTestURL)
				if err == nil || !strings.Contains(err.Error(), "redirect") {
					t.Errorf("Authorize = %v, want an error about the redirect", err)
				}
				if err != nil && strings.Contains(err.Error(), "SECRET") {
					t.Errorf("Authorize error %q shows the secret", err)
				}
				if got, _ := evil.requests(); len(got) != 0 {
					t.Errorf("the redirect target got %q", got)
				}
			})
		}
	}
}

// TestCheckRedirectBody checks that CheckRedirect refuses to send a
// request body to another scheme, host or port, even when the request
// could be replayed, and lets it go within the host.
func TestCheckRedirectBody(t *testing.T) {
	evil := &authRecorder{}
	evilSrv := httptest.NewServer(evil)
	defer evilSrv.Close()
	var got []string
	var mu sync.Mutex
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, evilSrv.URL+"/steal", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, srv.URL+"/there", http.StatusPermanentRedirect)
		default:
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r.Method+" "+string(b))
			mu.Unlock()
		}
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: CheckRedirect(nil)}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		req, _ := http.NewRequest(method, srv.URL+"/away", strings.NewReader("secret=1"))
		if req.GetBody == nil {
			t.Fatal("the test request cannot be replayed")
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errdefs.IsPermissionDenied(err) {
			t.Errorf("%s with a body redirected to another host: Do = %v, want PermissionDenied", method, err)
		}
	}
	// A body-less DELETE is not sent on either: its method is not safe.
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/away", nil)
	if resp, err := client.Do(req); !errdefs.IsPermissionDenied(err) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("DELETE redirected to another host: Do = %v, want PermissionDenied", err)
	}
	if r, _ := evil.requests(); len(r) != 0 {
		t.Errorf("the other host got %q", r)
	}
	// A GET goes on, and so does a body within the host.
	resp, err := client.Get(srv.URL + "/away")
	if err != nil {
		t.Fatalf("GET redirected to another host: %v", err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/here", strings.NewReader("data"))
	if resp, err = client.Do(req); err != nil {
		t.Fatalf("PUT redirected within the host: %v", err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "PUT data" {
		t.Errorf("the registry got %q, want the PUT with its body", got)
	}
}

// TestCheckRedirectHeaders checks that a redirect to another host keeps
// only the headers that describe the content asked for.
func TestCheckRedirectHeaders(t *testing.T) {
	other := &authRecorder{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	same := &authRecorder{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, otherSrv.URL+"/blob", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, srv.URL+"/there", http.StatusFound)
		default:
			same.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: CheckRedirect(nil)}
	for _, path := range []string{"/away", "/here"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Api-Key", "SECRET")
		req.Header.Set("Authorization", "Bearer SECRET")
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		req.Header.Set("Range", "bytes=10-")
		req.Header.Set("User-Agent", "dctr/test")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_, hs := other.requests()
	if len(hs) != 1 {
		t.Fatalf("the other host got %d requests", len(hs))
	}
	h := hs[0]
	for _, k := range []string{"X-Api-Key", "Authorization"} {
		if v := h.Get(k); v != "" {
			t.Errorf("the other host got %s: %q", k, v)
		}
	}
	for _, k := range []string{"Accept", "Range", "User-Agent"} {
		if h.Get(k) == "" {
			t.Errorf("the other host lost %s", k)
		}
	}
	_, hs = same.requests()
	if len(hs) != 1 || hs[0].Get("X-Api-Key") != "SECRET" || hs[0].Get("Authorization") != "Bearer SECRET" {
		t.Errorf("a redirect within the host lost the headers: %v", hs)
	}
}

// TestAuthorizerChallengeScopesBounded checks that the scopes challenges
// name do not pile up: each challenge keeps at most maxChallengeScopes
// well-formed ones, which replace those of the challenge before.
func TestAuthorizerChallengeScopesBounded(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ := newAuthTestAuthorizer(t)
	ctx := WithScope(context.Background(), "repository:app:pull")
	realm := srv.URL + "/token"

	start := time.Now()
	const challenges = 24
	for i := range challenges {
		var sb strings.Builder
		prefix := bearerChallenge(realm) + `,scope="`
		for j := 0; len(prefix)+sb.Len()+400 < maxAuthHeaderSize; j++ {
			switch j % 3 {
			case 0:
				fmt.Fprintf(&sb, "repository:r%d-%d:pull ", i, j)
			case 1:
				fmt.Fprintf(&sb, "junk%d-%d ", i, j) // not type:name:actions
			default:
				fmt.Fprintf(&sb, "repository:%s:pull ", strings.Repeat("x", 300)) // too long
			}
		}
		resp := authChallengeResponse(t, authTestURL, "", prefix+sb.String()+`"`)
		if err := a.AddResponses(ctx, []*http.Response{resp}); err != nil {
			t.Fatalf("AddResponses(challenge %d) = %v", i, err)
		}
	}
	if _, err := authorize(t, ctx, a, authTestURL); err != nil {
		t.Fatalf("Authorize = %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("%d challenges and a token took %v", challenges, d)
	}
	reqs := ts.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	scopes := reqs[0].Scopes
	if len(scopes) > maxChallengeScopes+1 {
		t.Errorf("token request asked for %d scopes, want at most %d", len(scopes), maxChallengeScopes+1)
	}
	for _, s := range scopes {
		if s != "repository:app:pull" && !strings.HasPrefix(s, fmt.Sprintf("repository:r%d-", challenges-1)) {
			t.Errorf("token request asked for %q, which is malformed or only an earlier challenge named", s)
			break
		}
	}
}

// TestAuthorizerChallengeScopesLeastPrivilege checks that a token for one
// repository does not ask for the scopes a challenge named for another.
func TestAuthorizerChallengeScopesLeastPrivilege(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	a, _ := newAuthTestAuthorizer(t)
	realm := srv.URL + "/token"
	ctxA := WithScope(context.Background(), "repository:a:pull")
	ctxB := WithScope(context.Background(), "repository:b:pull")

	resp := authChallengeResponse(t, authTestURL, "", bearerChallenge(realm, `scope="repository:a:pull,push repository:shared:pull"`))
	if err := a.AddResponses(ctxA, []*http.Response{resp}); err != nil {
		t.Fatal(err)
	}
	if _, err := authorize(t, ctxB, a, authTestURL); err != nil {
		t.Fatal(err)
	}
	if _, err := authorize(t, ctxA, a, authTestURL); err != nil {
		t.Fatal(err)
	}
	reqs := ts.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d token requests, want 2", len(reqs))
	}
	if got := strings.Join(reqs[0].Scopes, " "); got != "repository:b:pull" {
		t.Errorf("token for b asked for %q, want repository:b:pull only", got)
	}
	if got, want := strings.Join(reqs[1].Scopes, " "), "repository:a:pull,push repository:shared:pull"; got != want {
		t.Errorf("token for a asked for %q, want %q", got, want)
	}
}

// TestAuthorizerCancelledContext checks that an ended context stops
// AddResponses and Authorize before they do any work.
func TestAuthorizerCancelledContext(t *testing.T) {
	creds, calls := authStaticCreds("alice", "pw")
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", `Basic realm="r"`)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AddResponses(cancelled) = %v, want context.Canceled", err)
	}
	if *calls != 0 || a.scheme != "" {
		t.Errorf("AddResponses(cancelled) read credentials %d times, learnt scheme %q", *calls, a.scheme)
	}
	if err := a.AddResponses(context.Background(), []*http.Response{authChallengeResponse(t, authTestURL, "", `Basic realm="r"`)}); err != nil {
		t.Fatal(err)
	}
	if got, err := authorize(t, ctx, a, authTestURL); !errors.Is(err, context.Canceled) || got != "" {
		t.Errorf("Authorize(cancelled) = %q, %v; want context.Canceled", got, err)
	}
}

// TestAuthorizerBasicPlainHTTP checks that a password goes over plain
// http only to a loopback host, or with WithAuthAllowPlainHTTP.
func TestAuthorizerBasicPlainHTTP(t *testing.T) {
	ctx := context.Background()
	basic := `Basic realm="registry"`
	creds, _ := authStaticCreds("alice", "PASSWORD")

	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, "http://registry.test/v2/", "", basic)})
	if !errdefs.IsPermissionDenied(err) || !strings.Contains(err.Error(), "plain HTTP") {
		t.Errorf("AddResponses(basic over http) = %v, want PermissionDenied about plain HTTP", err)
	}
	if got, _ := authorize(t, ctx, a, "http://registry.test/v2/app/manifests/latest"); got != "" {
		t.Errorf("Authorize(http) = %q after a refused challenge", got)
	}

	// Learnt over https, the password still does not go over http.
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", basic)}); err != nil {
		t.Fatal(err)
	}
	got, err := authorize(t, ctx, a, "http://registry.test/v2/app/manifests/latest")
	if got != "" || !errdefs.IsPermissionDenied(err) {
		t.Errorf("Authorize(http) = %q, %v; want nothing and PermissionDenied", got, err)
	}
	if got, err := authorize(t, ctx, a, authTestURL); got == "" || err != nil {
		t.Errorf("Authorize(https) = %q, %v; want the credentials", got, err)
	}

	// Opted in, or on a loopback host, it does.
	a, _ = newAuthTestAuthorizer(t, WithAuthCredentials(creds), WithAuthAllowPlainHTTP())
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, "http://registry.test/v2/", "", basic)}); err != nil {
		t.Fatalf("AddResponses(basic over http, allowed) = %v", err)
	}
	if got, err := authorize(t, ctx, a, "http://registry.test/v2/app/manifests/latest"); got == "" || err != nil {
		t.Errorf("Authorize(http, allowed) = %q, %v", got, err)
	}
	for _, host := range []string{"localhost:5000", "127.0.0.1:5000", "[::1]:5000"} {
		a := NewAuthorizer(host, WithAuthCredentials(creds))
		u := "http://" + host + "/v2/"
		if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, u, "", basic)}); err != nil {
			t.Errorf("AddResponses(basic over http to %s) = %v", host, err)
		}
		if got, err := authorize(t, ctx, a, u); got == "" || err != nil {
			t.Errorf("Authorize(%s) = %q, %v", u, got, err)
		}
	}
}

// TestAuthorizerRealmHostOptions checks that the host's client and headers
// go to a token realm on the host itself, and the others to realms
// elsewhere.
func TestAuthorizerRealmHostOptions(t *testing.T) {
	ts := newAuthTokenServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	counting := func(n *int) *http.Client {
		var mu sync.Mutex
		return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			*n++
			mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		})}
	}
	for _, tc := range []struct {
		name, registry string
		local          bool
	}{
		{"realm on the registry host", host, true},
		{"realm on another host", "registry.test", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var viaDefault, viaHost int
			a := NewAuthorizer(tc.registry,
				WithAuthClient(counting(&viaDefault)), WithAuthHostClient(counting(&viaHost)),
				WithAuthHeader(http.Header{"User-Agent": {"dctr/test"}, "X-Both": {"default"}}),
				WithAuthHostHeader(http.Header{"X-Api-Key": {"SECRET"}, "X-Both": {"host"}}))
			u := "http://" + tc.registry + "/v2/app/manifests/latest"
			ctx := WithScope(context.Background(), "repository:app:pull")
			if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, u, "", bearerChallenge(srv.URL+"/token"))}); err != nil {
				t.Fatal(err)
			}
			if _, err := authorize(t, ctx, a, u); err != nil {
				t.Fatal(err)
			}
			reqs := ts.requests()
			h := reqs[len(reqs)-1].Header
			wantKey, wantBoth := "", "default"
			if tc.local {
				wantKey, wantBoth = "SECRET", "host"
			}
			if h.Get("X-Api-Key") != wantKey || h.Get("X-Both") != wantBoth || h.Get("User-Agent") != "dctr/test" {
				t.Errorf("token request header %v, want X-Api-Key %q, X-Both %q", h, wantKey, wantBoth)
			}
			if (viaHost == 1) != tc.local || viaHost+viaDefault != 1 {
				t.Errorf("token request sent by the host's client %d times, the default %d times", viaHost, viaDefault)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAuthorizerRefreshTokenGeneration checks that a refresh token from
// one realm is not offered to the realm a later challenge names.
func TestAuthorizerRefreshTokenGeneration(t *testing.T) {
	ts1 := newAuthTokenServer(t)
	ts1.user, ts1.pass, ts1.getRefresh = "alice", "pw", true
	ts1.arrived, ts1.released = make(chan struct{}), make(chan struct{})
	srv1 := httptest.NewServer(ts1)
	defer srv1.Close()
	ts2 := newAuthTokenServer(t)
	ts2.user, ts2.pass = "alice", "pw"
	srv2 := httptest.NewServer(ts2)
	defer srv2.Close()

	creds, _ := authStaticCreds("alice", "pw")
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(creds))
	ctx := WithScope(context.Background(), "repository:app:pull")
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv1.URL+"/token"))}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := authorize(t, ctx, a, authTestURL)
		done <- err
	}()
	<-ts1.arrived // the fetch from the first realm is under way
	if err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", bearerChallenge(srv2.URL+"/token"))}); err != nil {
		t.Fatal(err)
	}
	close(ts1.released)
	if err := <-done; err != nil {
		t.Fatalf("Authorize(first realm) = %v", err)
	}
	if _, err := authorize(t, ctx, a, authTestURL); err != nil {
		t.Fatalf("Authorize(second realm) = %v", err)
	}
	for _, r := range ts2.requests() {
		if r.Grant == "refresh_token" {
			t.Errorf("the second realm was offered the first realm's refresh token: %+v", r)
		}
	}
}

// TestAuthorizerCredentialsCancelled checks that AddResponses returns when
// its context ends, even while the credentials lookup is still running.
func TestAuthorizerCredentialsCancelled(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(string) (string, string, error) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return "alice", "pw", nil
	}
	a, _ := newAuthTestAuthorizer(t, WithAuthCredentials(slow))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.AddResponses(ctx, []*http.Response{authChallengeResponse(t, authTestURL, "", `Basic realm="r"`)})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("AddResponses returned %v after its context ended", d-50*time.Millisecond)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AddResponses = %v, want context.DeadlineExceeded", err)
	}
}
