package config_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/remotes/docker/config"
)

const allCaps = docker.HostCapabilityPull | docker.HostCapabilityResolve | docker.HostCapabilityPush
const mirrorCaps = docker.HostCapabilityPull | docker.HostCapabilityResolve

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// endpoint is what a test checks of a RegistryHost.
type endpoint struct {
	Scheme, Host, Path string
	Caps               docker.HostCapabilities
}

func endpoints(hosts []docker.RegistryHost) []endpoint {
	var out []endpoint
	for _, h := range hosts {
		out = append(out, endpoint{h.Scheme, h.Host, h.Path, h.Capabilities})
	}
	return out
}

func TestDefaults(t *testing.T) {
	hosts := config.ConfigureHosts(context.Background(),
		config.WithPlainHTTP(func(host string) bool { return host == "insecure.test:5000" }))
	tests := []struct {
		name string
		want endpoint
	}{
		{"docker.io", endpoint{"https", "registry-1.docker.io", "/v2", allCaps}},
		{"ghcr.io", endpoint{"https", "ghcr.io", "/v2", allCaps}},
		{"registry.test:5000", endpoint{"https", "registry.test:5000", "/v2", allCaps}},
		{"localhost", endpoint{"http", "localhost", "/v2", allCaps}},
		{"localhost:5000", endpoint{"http", "localhost:5000", "/v2", allCaps}},
		{"LocalHost:5000", endpoint{"http", "LocalHost:5000", "/v2", allCaps}},
		{"127.0.0.1:5000", endpoint{"http", "127.0.0.1:5000", "/v2", allCaps}},
		{"127.8.9.10", endpoint{"http", "127.8.9.10", "/v2", allCaps}},
		{"[::1]:5000", endpoint{"http", "[::1]:5000", "/v2", allCaps}},
		{"128.0.0.1:5000", endpoint{"https", "128.0.0.1:5000", "/v2", allCaps}},
		{"localhost.evil.test", endpoint{"https", "localhost.evil.test", "/v2", allCaps}},
		{"insecure.test:5000", endpoint{"http", "insecure.test:5000", "/v2", allCaps}},
	}
	for _, tt := range tests {
		got, err := hosts(tt.name)
		if err != nil {
			t.Errorf("hosts(%q) = %v", tt.name, err)
			continue
		}
		if e := endpoints(got); len(e) != 1 || e[0] != tt.want {
			t.Errorf("hosts(%q) = %+v, want %+v", tt.name, e, tt.want)
		}
		if got[0].Client == nil || got[0].Authorizer == nil || got[0].Client.CheckRedirect == nil {
			t.Errorf("hosts(%q): client %v, authorizer %v", tt.name, got[0].Client, got[0].Authorizer)
		}
		if tr, ok := got[0].Client.Transport.(*http.Transport); !ok || tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
			t.Errorf("hosts(%q): transport %T without TLS 1.2 at least", tt.name, got[0].Client.Transport)
		}
	}
	for _, bad := range []string{"", "a/b", "..", ".", "_default", "https://ghcr.io", "ghcr.io/team", `a\b`, "user@host", "host:port:x"} {
		if _, err := hosts(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("hosts(%q) = %v, want InvalidArgument", bad, err)
		}
	}
}

// testCA is a certificate authority that signs test certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key, in PEM, for a server at 127.0.0.1
// or for a client.
func (ca *testCA) issue(t *testing.T, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestHostsFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "docker.io")
	ca := newTestCA(t)
	cert, key := ca.issue(t, true)
	writeFile(t, filepath.Join(dir, "mirror-ca.pem"), string(ca.pem))
	writeFile(t, filepath.Join(dir, "client.cert"), string(cert))
	writeFile(t, filepath.Join(dir, "client.key"), string(key))
	writeFile(t, filepath.Join(dir, "both.pem"), string(cert)+string(key))
	upstreamCA := writeFile(t, filepath.Join(root, "upstream-ca.pem"), string(ca.pem))
	writeFile(t, filepath.Join(dir, "hosts.toml"), `
server = "https://registry-1.docker.io"
ca = "`+upstreamCA+`"
header = { X-Upstream = "yes" }

[host."https://mirror-b.test:5000"]
  capabilities = ["pull", "resolve"]
  ca = ["mirror-ca.pem"]
  client = [["client.cert", "client.key"], "both.pem"]
  dial_timeout = "5s"
  [host."https://mirror-b.test:5000".header]
    X-Mirror-Token = "abc"
    X-Multi = ["1", "2"]

[host."http://mirror-a.test"]
  capabilities = ["pull", "resolve", "push"]

[host."proxy.test/registry/v2/docker.io"]
  override_path = true
  skip_verify = true

[host."https://prefix.test/some/path/"]
  capabilities = []

[host."https://overridden-root.test"]
  override_path = true
`)
	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root),
		config.WithDefaultHeader(http.Header{"X-Upstream": {"default"}, "User-Agent": {"dctr/test"}}))
	got, err := hosts("docker.io")
	if err != nil {
		t.Fatalf("hosts(docker.io) = %v", err)
	}
	want := []endpoint{
		{"https", "mirror-b.test:5000", "/v2", mirrorCaps},
		{"http", "mirror-a.test", "/v2", allCaps},
		{"https", "proxy.test", "/registry/v2/docker.io", mirrorCaps},
		{"https", "prefix.test", "/some/path/v2", 0},
		{"https", "overridden-root.test", "/", mirrorCaps},
		{"https", "registry-1.docker.io", "/v2", allCaps},
	}
	if e := endpoints(got); !slices.Equal(e, want) {
		t.Fatalf("hosts(docker.io) =\n%+v\nwant\n%+v", e, want)
	}

	tlsOf := func(i int) *tls.Config {
		tr, ok := got[i].Client.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("host %d: transport %T", i, got[i].Client.Transport)
		}
		return tr.TLSClientConfig
	}
	if c := tlsOf(0); c.RootCAs == nil || len(c.Certificates) != 2 || c.InsecureSkipVerify || c.MinVersion < tls.VersionTLS12 {
		t.Errorf("mirror-b TLS: roots %v, %d certificates, skip %v", c.RootCAs != nil, len(c.Certificates), c.InsecureSkipVerify)
	}
	if c := tlsOf(2); !c.InsecureSkipVerify || c.RootCAs != nil {
		t.Errorf("proxy TLS: skip %v, roots %v", c.InsecureSkipVerify, c.RootCAs != nil)
	}
	if c := tlsOf(5); c.RootCAs == nil || len(c.Certificates) != 0 {
		t.Errorf("upstream TLS: roots %v, %d certificates", c.RootCAs != nil, len(c.Certificates))
	}
	if c := tlsOf(1); c.RootCAs != nil || len(c.Certificates) != 0 || c.InsecureSkipVerify {
		t.Errorf("mirror-a shares the default TLS settings, got %+v", c)
	}

	h := got[0].Header
	if h.Get("X-Mirror-Token") != "abc" || !slices.Equal(h.Values("X-Multi"), []string{"1", "2"}) ||
		h.Get("X-Upstream") != "default" || h.Get("User-Agent") != "dctr/test" {
		t.Errorf("mirror-b header = %v", h)
	}
	if h := got[5].Header; h.Get("X-Upstream") != "yes" || h.Get("User-Agent") != "dctr/test" {
		t.Errorf("upstream header = %v", h)
	}
}

func TestHostDirLookup(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	server := func(dir, name, server string) {
		writeFile(t, filepath.Join(dir, name, "hosts.toml"), fmt.Sprintf("server = %q\n", server))
	}
	server(first, "registry.test_5000_", "https://underscore.test")
	server(first, "registry.test:5000", "https://colon.test")
	server(first, "other.test:5000", "https://colon-other.test")
	server(first, "[::1]_5000_", "https://ipv6.test")
	server(second, "only-second.test", "https://second.test")
	server(second, "_default", "https://default.test")
	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(first), config.WithHostDir(second))
	tests := map[string]string{
		"registry.test:5000": "underscore.test",
		"other.test:5000":    "colon-other.test",
		"only-second.test":   "second.test",
		"elsewhere.test":     "default.test",
		"docker.io":          "default.test",
		"[::1]:5000":         "ipv6.test",
	}
	for name, want := range tests {
		got, err := hosts(name)
		if err != nil || len(got) != 1 || got[0].Host != want {
			t.Errorf("hosts(%q) = %+v, %v; want %s", name, endpoints(got), err, want)
		}
	}

	// A _default without server serves each registry from itself.
	third := t.TempDir()
	writeFile(t, filepath.Join(third, "_default", "hosts.toml"), "[host.\"https://mirror.test\"]\n")
	got, err := config.ConfigureHosts(context.Background(), config.WithHostDir(third))("docker.io")
	want := []endpoint{{"https", "mirror.test", "/v2", mirrorCaps}, {"https", "registry-1.docker.io", "/v2", allCaps}}
	if err != nil || !slices.Equal(endpoints(got), want) {
		t.Errorf("hosts(docker.io) with a _default mirror = %+v, %v; want %+v", endpoints(got), err, want)
	}
}

func TestLegacyLayout(t *testing.T) {
	root := t.TempDir()
	ca := newTestCA(t)
	cert, key := ca.issue(t, true)
	dir := filepath.Join(root, "registry.test")
	writeFile(t, filepath.Join(dir, "ca.crt"), string(ca.pem))
	writeFile(t, filepath.Join(dir, "client.cert"), string(cert))
	writeFile(t, filepath.Join(dir, "client.key"), string(key))
	writeFile(t, filepath.Join(dir, "both.cert"), string(cert)+string(key))
	writeFile(t, filepath.Join(dir, "README"), "not a certificate")
	// A loopback registry with certificates is https, not plain http.
	writeFile(t, filepath.Join(root, "localhost:5000", "ca.crt"), string(ca.pem))

	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root))
	got, err := hosts("registry.test")
	if err != nil || len(got) != 1 {
		t.Fatalf("hosts = %+v, %v", endpoints(got), err)
	}
	c := got[0].Client.Transport.(*http.Transport).TLSClientConfig
	if c.RootCAs == nil || len(c.Certificates) != 2 {
		t.Errorf("TLS: roots %v, %d certificates; want roots and 2", c.RootCAs != nil, len(c.Certificates))
	}
	got, err = hosts("localhost:5000")
	if err != nil || got[0].Scheme != "https" {
		t.Errorf("hosts(localhost:5000) with a CA = %+v, %v; want https", endpoints(got), err)
	}
}

func TestBadHostsFiles(t *testing.T) {
	tests := []struct {
		name, content string
		check         func(error) bool
		line          int
	}{
		{"syntax", "server = \"https://a.test\"\n\n[host.\"https://m\"\n", errdefs.IsInvalidArgument, 3},
		{"unterminated string", "server = \"https://a.test\n", errdefs.IsInvalidArgument, 1},
		{"wrong type", "server = \"https://a.test\"\nskip_verify = \"yes\"\n", errdefs.IsInvalidArgument, 2},
		{"capabilities not a list", "capabilities = \"pull\"\n", errdefs.IsInvalidArgument, 1},
		{"unknown capability", "server = \"https://a.test\"\n[host.\"https://m\"]\n  capabilities = [\"pull\", \"fly\"]\n", errdefs.IsInvalidArgument, 3},
		{"ca of numbers", "\n\nca = [1]\n", errdefs.IsInvalidArgument, 3},
		{"client triple", "[host.\"https://m\"]\nclient = [[\"a\", \"b\", \"c\"]]\n", errdefs.IsInvalidArgument, 2},
		{"header number", "[host.\"https://m\"]\n[host.\"https://m\".header]\nX-A = 1\n", errdefs.IsInvalidArgument, 2},
		{"server not a URL", "\nserver = \"ftp://a.test\"\n", errdefs.IsInvalidArgument, 2},
		{"mirror with a query", "[host.\"https://m.test/?q=1\"]\n", errdefs.IsInvalidArgument, 1},
		{"bad dial timeout", "[host.\"https://m\"]\n\ndial_timeout = \"soon\"\n", errdefs.IsInvalidArgument, 3},
		{"table twice", "[host.\"https://m\"]\n[host.\"https://n\"]\n[host.\"https://m\"]\n", errdefs.IsInvalidArgument, 3},
		{"too large", "# " + strings.Repeat("x", config.MaxHostsFileSize), errdefs.IsInvalidArgument, 0},
		{"missing CA file", "ca = \"nowhere.pem\"\n", errdefs.IsNotFound, 0},
		{"CA file without PEM", "ca = \"hosts.toml\"\n", errdefs.IsInvalidArgument, 0},
		{"client without key", "client = \"hosts.toml\"\n", errdefs.IsInvalidArgument, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			file := writeFile(t, filepath.Join(root, "registry.test", "hosts.toml"), tt.content)
			_, err := config.ConfigureHosts(context.Background(), config.WithHostDir(root))("registry.test")
			if !tt.check(err) {
				t.Fatalf("hosts = %v", err)
			}
			if strings.Contains(err.Error(), "config.") {
				t.Errorf("error %q shows Go names", err)
			}
			if tt.line > 0 && !strings.Contains(err.Error(), fmt.Sprintf("%s: line %d:", file, tt.line)) {
				t.Errorf("error %q does not name %s line %d", err, file, tt.line)
			}
			if tt.line == 0 && !strings.Contains(err.Error(), filepath.Join(root, "registry.test")) {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}

// get sends a GET through the first endpoint of hosts(name) and returns
// the error, if any.
func get(t *testing.T, hosts docker.RegistryHosts, name string) error {
	t.Helper()
	got, err := hosts(name)
	if err != nil {
		t.Fatalf("hosts(%q) = %v", name, err)
	}
	h := got[0]
	resp, err := h.Client.Get(h.Scheme + "://" + h.Host + h.Path + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func TestCAFileUsed(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	root := t.TempDir()
	server := fmt.Sprintf("server = %q\n", srv.URL)
	writeFile(t, filepath.Join(root, "with-ca.test", "hosts.toml"), server+"ca = \"ca.pem\"\n")
	writeFile(t, filepath.Join(root, "with-ca.test", "ca.pem"), string(caPEM))
	writeFile(t, filepath.Join(root, "without-ca.test", "hosts.toml"), server)
	writeFile(t, filepath.Join(root, "skip-verify.test", "hosts.toml"), server+"skip_verify = true\n")
	writeFile(t, filepath.Join(root, "legacy.test", "ca.crt"), string(caPEM))
	host := strings.TrimPrefix(srv.URL, "https://")
	writeFile(t, filepath.Join(root, host, "ca.crt"), string(caPEM))

	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root))
	if err := get(t, hosts, "with-ca.test"); err != nil {
		t.Errorf("GET with the CA file = %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := get(t, hosts, "without-ca.test"); err == nil || !strings.Contains(err.Error(), unknown.Error()[:20]) {
		t.Errorf("GET without the CA file = %v, want an unknown authority", err)
	}
	if err := get(t, hosts, "skip-verify.test"); err != nil {
		t.Errorf("GET with skip_verify = %v", err)
	}
	if err := get(t, hosts, host); err != nil {
		t.Errorf("GET %s with a legacy ca.crt = %v", host, err)
	}
	skip := config.ConfigureHosts(context.Background(), config.WithHostDir(root), config.WithSkipVerify(true))
	if err := get(t, skip, "without-ca.test"); err != nil {
		t.Errorf("GET with WithSkipVerify = %v", err)
	}
}

func TestClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, false)
	clientCert, clientKey := ca.issue(t, true)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()

	root := t.TempDir()
	base := fmt.Sprintf("server = %q\nca = \"ca.pem\"\n", srv.URL)
	for _, name := range []string{"with-client.test", "without-client.test"} {
		writeFile(t, filepath.Join(root, name, "ca.pem"), string(ca.pem))
	}
	writeFile(t, filepath.Join(root, "with-client.test", "hosts.toml"), base+"client = [[\"c.cert\", \"c.key\"]]\n")
	writeFile(t, filepath.Join(root, "with-client.test", "c.cert"), string(clientCert))
	writeFile(t, filepath.Join(root, "with-client.test", "c.key"), string(clientKey))
	writeFile(t, filepath.Join(root, "without-client.test", "hosts.toml"), base)

	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root))
	if err := get(t, hosts, "with-client.test"); err != nil {
		t.Errorf("GET with a client certificate = %v", err)
	}
	if err := get(t, hosts, "without-client.test"); err == nil {
		t.Errorf("GET without a client certificate succeeded")
	}
}

func TestRedirectDropsAuthorization(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
		}
	}
	storage := httptest.NewServer(record("storage"))
	defer storage.Close()
	var registry *httptest.Server
	registry = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/away":
			http.Redirect(w, r, storage.URL+"/blob", http.StatusTemporaryRedirect)
		case "/v2/here":
			http.Redirect(w, r, registry.URL+"/v2/same", http.StatusTemporaryRedirect)
		default:
			record("registry")(w, r)
		}
	}))
	defer registry.Close()

	hosts, err := config.ConfigureHosts(context.Background())(strings.TrimPrefix(registry.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v2/away", "/v2/here"} {
		req, _ := http.NewRequest(http.MethodGet, registry.URL+p, nil)
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := hosts[0].Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if seen["storage"] != "" {
		t.Errorf("the storage host got Authorization %q", seen["storage"])
	}
	if seen["registry"] != "Bearer secret" {
		t.Errorf("a redirect within the registry lost Authorization: %q", seen["registry"])
	}
}

func TestCaching(t *testing.T) {
	root := t.TempDir()
	file := writeFile(t, filepath.Join(root, "registry.test", "hosts.toml"), "server = \"https://one.test\"\n")
	hosts := config.ConfigureHosts(context.Background(), config.WithHostDir(root), config.WithDefaultHeader(http.Header{"X-A": {"1"}}))
	a, err := hosts("registry.test")
	if err != nil {
		t.Fatal(err)
	}
	a[0].Header.Set("X-A", "changed")
	b, _ := hosts("registry.test")
	if a[0].Authorizer != b[0].Authorizer || a[0].Client != b[0].Client {
		t.Errorf("a second call built new endpoints: tokens and connections are lost")
	}
	if b[0].Header.Get("X-A") != "1" {
		t.Errorf("a caller's change reached the cache: %v", b[0].Header)
	}
	writeFile(t, file, "server = \"https://two.test:5000\"\n")
	c, err := hosts("registry.test")
	if err != nil || c[0].Host != "two.test:5000" {
		t.Errorf("after the file changed: %+v, %v", endpoints(c), err)
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	for name, opt := range map[string]config.HostOpt{
		"empty dir":     config.WithHostDir(""),
		"zero timeout":  config.WithTimeout(0),
		"nil transport": config.WithTransport(nil),
	} {
		if _, err := config.ConfigureHosts(ctx, opt)("registry.test"); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: hosts = %v, want InvalidArgument", name, err)
		}
	}

	// Options reach what they configure.
	got, err := config.ConfigureHosts(ctx, config.WithTimeout(time.Second),
		config.WithAuthorizerOpts(docker.WithAuthClient(nil)))("registry.test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://registry.test/v2/", nil)
	if err := got[0].Authorizer.Authorize(ctx, req); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Authorize with a bad authorizer option = %v, want InvalidArgument", err)
	}

	// A RoundTripper that is not an *http.Transport cannot take TLS settings.
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "tls.test", "hosts.toml"), "skip_verify = true\n")
	rt := roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, fmt.Errorf("unused") })
	hosts := config.ConfigureHosts(ctx, config.WithHostDir(root), config.WithTransport(rt))
	if _, err := hosts("tls.test"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("hosts(tls.test) with a custom RoundTripper = %v, want FailedPrecondition", err)
	}
	if got, err := hosts("plain.test"); err != nil || fmt.Sprintf("%p", got[0].Client.Transport) != fmt.Sprintf("%p", rt) {
		t.Errorf("hosts(plain.test) = %v; want the given transport", err)
	}

	// The credentials reach each endpoint's authorizer, asked by its host.
	var asked []string
	creds := func(host string) (string, string, error) {
		asked = append(asked, host)
		return "alice", "pw", nil
	}
	got, err = config.ConfigureHosts(ctx, config.WithCredentials(creds))("docker.io")
	if err != nil {
		t.Fatal(err)
	}
	challenge := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {`Basic realm="hub"`}}}
	challenge.Request, _ = http.NewRequest(http.MethodGet, "https://registry-1.docker.io/v2/", nil)
	if err := got[0].Authorizer.AddResponses(ctx, []*http.Response{challenge}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, "https://registry-1.docker.io/v2/library/redis/manifests/latest", nil)
	if err := got[0].Authorizer.Authorize(ctx, req); err != nil {
		t.Fatal(err)
	}
	if u, p, _ := req.BasicAuth(); u != "alice" || p != "pw" || !slices.Equal(asked, []string{"registry-1.docker.io"}) {
		t.Errorf("basic auth %q %q, credentials asked for %q", u, p, asked)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
