package config_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/remotes/docker/config"
)

// tokenRealm is a token endpoint that records what reached it.
type tokenRealm struct {
	mu          sync.Mutex
	requests    int
	clientCerts int
	headers     []http.Header
}

func (r *tokenRealm) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	if req.TLS != nil {
		r.clientCerts += len(req.TLS.PeerCertificates)
	}
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	fmt.Fprint(w, `{"token":"tok"}`)
}

func (r *tokenRealm) seen() (requests, clientCerts int, headers []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.clientCerts, append([]http.Header(nil), r.headers...)
}

// challengeHandler answers /v2/ with a Bearer challenge naming realm(),
// serves /token with token when it is set, and redirects /v2/away to
// away().
func challengeHandler(realm, away func() string, token http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			token.ServeHTTP(w, r)
		case "/v2/away":
			http.Redirect(w, r, away(), http.StatusTemporaryRedirect)
		default:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="registry"`, realm()))
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
}

// authorizeThrough sends a GET to /v2/ of the first endpoint of
// hosts(name), gives its challenge to the endpoint's authorizer, and
// returns what Authorize then says.
func authorizeThrough(t *testing.T, hosts docker.RegistryHosts, name string) error {
	t.Helper()
	got, err := hosts(name)
	if err != nil {
		t.Fatalf("hosts(%q) = %v", name, err)
	}
	h := got[0]
	ctx := docker.WithScope(context.Background(), "repository:app:pull")
	u := h.Scheme + "://" + h.Host + h.Path + "/"
	resp, err := h.Client.Get(u)
	if err != nil {
		t.Fatalf("GET %s = %v", u, err)
	}
	resp.Body.Close()
	if err := h.Authorizer.AddResponses(ctx, []*http.Response{resp}); err != nil {
		t.Fatalf("AddResponses = %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return h.Authorizer.Authorize(ctx, req)
}

// TestTokenRealmTLS checks that an endpoint's TLS settings — skip_verify
// and a client certificate — reach a token realm on the endpoint's own
// host, and not one on another host.
func TestTokenRealmTLS(t *testing.T) {
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, false)
	clientCert, clientKey := ca.issue(t, true)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	realm := &tokenRealm{}
	realmSrv := httptest.NewUnstartedServer(realm)
	realmSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	realmSrv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	realmSrv.StartTLS()
	defer realmSrv.Close()

	own := &tokenRealm{}
	var registry *httptest.Server
	useOwn := false
	registry = httptest.NewUnstartedServer(challengeHandler(func() string {
		if useOwn {
			return registry.URL + "/token"
		}
		return realmSrv.URL + "/token"
	}, nil, own))
	registry.Config.ErrorLog = log.New(io.Discard, "", 0)
	registry.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	registry.StartTLS()
	defer registry.Close()

	root := t.TempDir()
	dir := filepath.Join(root, "registry.test")
	writeFile(t, filepath.Join(dir, "hosts.toml"), fmt.Sprintf("server = %q\nskip_verify = true\nclient = [[\"c.cert\", \"c.key\"]]\n", registry.URL))
	writeFile(t, filepath.Join(dir, "c.cert"), string(clientCert))
	writeFile(t, filepath.Join(dir, "c.key"), string(clientKey))

	// The realm's CA is not known: its certificate is refused, although
	// the registry's skip_verify would have let it through.
	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root))
	err = authorizeThrough(t, hosts, "registry.test")
	var unknown x509.UnknownAuthorityError
	if err == nil || !strings.Contains(err.Error(), unknown.Error()[:20]) {
		t.Errorf("Authorize with a realm on another host = %v, want an unknown authority", err)
	}
	if n, _, _ := realm.seen(); n != 0 {
		t.Errorf("the realm got %d requests over an unverified connection", n)
	}

	// Its CA configured for every host, the realm is trusted, and still
	// gets no client certificate.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	hosts = config.ConfigureHosts(context.Background(), config.WithHostDir(root), config.WithTransport(tr))
	if err := authorizeThrough(t, hosts, "registry.test"); err != nil {
		t.Errorf("Authorize with a trusted realm on another host = %v", err)
	}
	if n, certs, _ := realm.seen(); n != 1 || certs != 0 {
		t.Errorf("the realm got %d requests, %d client certificates; want 1 request and none", n, certs)
	}

	// A realm on the registry host itself gets the host's settings.
	useOwn = true
	hosts = config.ConfigureHosts(context.Background(), config.WithHostDir(root))
	if err := authorizeThrough(t, hosts, "registry.test"); err != nil {
		t.Errorf("Authorize with the realm on the registry host = %v", err)
	}
	if n, certs, _ := own.seen(); n != 1 || certs != 1 {
		t.Errorf("the registry's own realm got %d requests, %d client certificates; want 1 and 1", n, certs)
	}
}

// TestHostHeadersStayOnHost checks that the headers hosts.toml gives a
// host go neither to a token realm nor to a redirect target on another
// host, while WithDefaultHeader's go everywhere.
func TestHostHeadersStayOnHost(t *testing.T) {
	other := &tokenRealm{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	own := &tokenRealm{}
	var registry *httptest.Server
	useOwn := false
	registry = httptest.NewServer(challengeHandler(func() string {
		if useOwn {
			return registry.URL + "/token"
		}
		return otherSrv.URL + "/token"
	}, func() string { return otherSrv.URL + "/blob" }, own))
	defer registry.Close()

	root := t.TempDir()
	writeFile(t, filepath.Join(root, "registry.test", "hosts.toml"),
		fmt.Sprintf("server = %q\n[header]\nX-Api-Key = \"SECRET\"\n", registry.URL))
	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root),
		config.WithDefaultHeader(http.Header{"User-Agent": {"dctr/test"}}))

	if err := authorizeThrough(t, hosts, "registry.test"); err != nil {
		t.Fatalf("Authorize with a realm on another host = %v", err)
	}
	useOwn = true
	hosts = config.ConfigureHosts(context.Background(), config.WithHostDir(root),
		config.WithDefaultHeader(http.Header{"User-Agent": {"dctr/test"}}))
	if err := authorizeThrough(t, hosts, "registry.test"); err != nil {
		t.Fatalf("Authorize with the realm on the registry host = %v", err)
	}
	got, _ := hosts("registry.test")
	req, _ := http.NewRequest(http.MethodGet, registry.URL+"/v2/away", nil)
	for k, v := range got[0].Header {
		req.Header[k] = v
	}
	resp, err := got[0].Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	_, _, hs := other.seen()
	if len(hs) != 2 {
		t.Fatalf("the other host got %d requests, want a token request and a redirect", len(hs))
	}
	for i, h := range hs {
		if h.Get("X-Api-Key") != "" || h.Get("User-Agent") != "dctr/test" {
			t.Errorf("request %d to the other host: X-Api-Key %q, User-Agent %q", i, h.Get("X-Api-Key"), h.Get("User-Agent"))
		}
	}
	if _, _, hs := own.seen(); len(hs) != 1 || hs[0].Get("X-Api-Key") != "SECRET" || hs[0].Get("User-Agent") != "dctr/test" {
		t.Errorf("the registry's own realm got %v, want its X-Api-Key and the User-Agent", hs)
	}
}

// TestBasicOverPlainHTTP checks that Basic credentials go over plain http
// to a host the user configured for plain http, and to no other.
func TestBasicOverPlainHTTP(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "file.test", "hosts.toml"), "server = \"http://file.test:5000\"\n")
	writeFile(t, filepath.Join(root, "mirrored.test", "hosts.toml"), "[host.\"http://mirror.test\"]\n")
	creds := func(string) (string, string, error) { return "alice", "pw", nil }
	hosts := config.ConfigureHosts(ctx, config.WithHostDir(root), config.WithCredentials(creds),
		config.WithPlainHTTP(func(h string) bool { return h == "flag.test" }))
	for _, tc := range []struct {
		name    string
		index   int
		allowed bool
	}{
		{"file.test", 0, true},     // hosts.toml names an http:// server
		{"mirrored.test", 0, true}, // an http:// mirror
		{"flag.test", 0, true},     // WithPlainHTTP
		{"mirrored.test", 1, false},
		{"other.test", 0, false},
	} {
		got, err := hosts(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		h := got[tc.index]
		u := "http://" + h.Host + "/v2/"
		challenge := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {`Basic realm="r"`}}}
		challenge.Request, _ = http.NewRequest(http.MethodGet, u, nil)
		err = h.Authorizer.AddResponses(ctx, []*http.Response{challenge})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		aerr := h.Authorizer.Authorize(ctx, req)
		sent := req.Header.Get("Authorization") != ""
		if tc.allowed && (err != nil || aerr != nil || !sent) {
			t.Errorf("%s (%s): AddResponses = %v, Authorize = %v, sent %v; want the credentials sent", tc.name, u, err, aerr, sent)
		}
		if !tc.allowed && (!errdefs.IsPermissionDenied(err) || sent) {
			t.Errorf("%s (%s): AddResponses = %v, sent %v; want PermissionDenied and nothing sent", tc.name, u, err, sent)
		}
	}
}
