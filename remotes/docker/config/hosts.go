package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes/docker"
)

const (
	// MaxHostsFileSize bounds a hosts.toml file, and each certificate and
	// key file.
	MaxHostsFileSize = 1 << 20
	// DefaultTimeout bounds connecting to a host: dialing and the TLS
	// handshake.
	DefaultTimeout = 30 * time.Second
	// dockerHub is the registry name Docker Hub goes by, and
	// dockerHubHost the host that serves it.
	dockerHub     = "docker.io"
	dockerHubHost = "registry-1.docker.io"
	// hostsFileName is the file of a host directory.
	hostsFileName = "hosts.toml"
	// defaultDirName is the host directory for registries without one.
	defaultDirName = "_default"
)

// HostOpt configures ConfigureHosts.
type HostOpt func(*hostOptions) error

type hostOptions struct {
	dirs       []string
	creds      func(host string) (string, string, error)
	plainHTTP  func(host string) bool
	skipVerify bool
	header     http.Header
	transport  http.RoundTripper
	timeout    time.Duration
	authOpts   []docker.AuthorizerOpt
}

// WithHostDir adds a hosts directory to read (see the package
// documentation), such as "/etc/containerd/certs.d". Given more than
// once, the directories are searched in order and the first that has a
// directory for the registry, or a _default one, is used. The default is
// none: every registry gets the defaults.
func WithHostDir(dir string) HostOpt {
	return func(o *hostOptions) error {
		if dir == "" {
			return fmt.Errorf("hosts directory: empty: %w", errdefs.ErrInvalidArgument)
		}
		o.dirs = append(o.dirs, dir)
		return nil
	}
}

// WithCredentials sets where each endpoint's Authorizer gets credentials:
// creds is called with the endpoint's host[:port] ("registry-1.docker.io",
// "mirror.internal:5000"), as docker.WithAuthCredentials says. The default
// is none: tokens are asked for anonymously.
func WithCredentials(creds func(host string) (username, secret string, err error)) HostOpt {
	return func(o *hostOptions) error {
		o.creds = creds
		return nil
	}
}

// WithPlainHTTP makes endpoints named without a scheme use plain http
// when plain returns true for their host[:port]. The default uses http
// for loopback hosts only.
//
// Such an endpoint, like one that hosts.toml names with an http:// URL,
// also sends the credentials of a Basic challenge over plain http
// (docker.WithAuthAllowPlainHTTP): the user asked for plain http to that
// host, and so accepts that what goes to it can be read on the way.
// Credentials still never go to a plain-http token realm that is not a
// loopback host.
func WithPlainHTTP(plain func(host string) bool) HostOpt {
	return func(o *hostOptions) error {
		o.plainHTTP = plain
		return nil
	}
}

// WithSkipVerify, when skip is true, skips the verification of every
// https endpoint's certificate, whatever hosts.toml says. The default is
// false: hosts.toml's skip_verify decides, and verification is on
// without it.
//
// Neither this nor an endpoint's own TLS settings (skip_verify, ca,
// client) apply to a token realm on another host than the endpoint's
// (scheme, host and port): such a realm is verified against the roots of
// the base transport (the system's, or those of WithTransport) and is
// offered no client certificate.
func WithSkipVerify(skip bool) HostOpt {
	return func(o *hostOptions) error {
		o.skipVerify = skip
		return nil
	}
}

// WithDefaultHeader adds header to every endpoint's Header and to its
// token requests, wherever the token realm is; a header of hosts.toml
// with the same name replaces it for that endpoint. The headers of
// hosts.toml go to a token realm only when it is on the endpoint's own
// scheme, host and port. The default is none.
func WithDefaultHeader(header http.Header) HostOpt {
	return func(o *hostOptions) error {
		for k, v := range header {
			k = http.CanonicalHeaderKey(k)
			o.header[k] = append(o.header[k], v...)
		}
		return nil
	}
}

// WithTransport sets the transport requests go through. An
// *http.Transport is cloned for endpoints with TLS settings or a
// dial_timeout of their own, and used as it is by the others; any other
// RoundTripper is used as it is, and an endpoint that needs TLS settings
// then fails with FailedPrecondition. WithTimeout does not change it. The
// default is a clone of http.DefaultTransport (proxies from the
// environment) requiring TLS 1.2 or later.
func WithTransport(rt http.RoundTripper) HostOpt {
	return func(o *hostOptions) error {
		if rt == nil {
			return fmt.Errorf("transport: nil: %w", errdefs.ErrInvalidArgument)
		}
		o.transport = rt
		return nil
	}
}

// WithTimeout bounds connecting to an endpoint: dialing and the TLS
// handshake. It does not bound a request, whose body may take long to
// move: the request's context does. The default is DefaultTimeout.
func WithTimeout(d time.Duration) HostOpt {
	return func(o *hostOptions) error {
		if d <= 0 {
			return fmt.Errorf("timeout %v: %w", d, errdefs.ErrInvalidArgument)
		}
		o.timeout = d
		return nil
	}
}

// WithAuthorizerOpts adds options to every endpoint's Authorizer, after
// the client, credentials and header this package gives it. The default
// is none.
func WithAuthorizerOpts(opts ...docker.AuthorizerOpt) HostOpt {
	return func(o *hostOptions) error {
		o.authOpts = append(o.authOpts, opts...)
		return nil
	}
}

// configurer is the state behind the function ConfigureHosts returns.
type configurer struct {
	opts hostOptions
	err  error
	// base is the transport of endpoints without settings of their own;
	// baseClone, when not nil, is what those with settings clone.
	base      http.RoundTripper
	baseClone *http.Transport
	// authClient, over base, sends token requests to realms on other
	// hosts than their endpoint's.
	authClient *http.Client

	mu    sync.Mutex
	cache map[string]cachedHosts
}

type cachedHosts struct {
	stamp string
	hosts []docker.RegistryHost
}

// ConfigureHosts returns the RegistryHosts the options describe (see the
// package documentation for the defaults and the files read). ctx is not
// kept; no file is read before the returned function is called. Options
// that fail make every call of that function fail with their error.
func ConfigureHosts(ctx context.Context, opts ...HostOpt) docker.RegistryHosts {
	c := &configurer{
		opts:  hostOptions{header: http.Header{}, timeout: DefaultTimeout},
		cache: map[string]cachedHosts{},
	}
	for _, opt := range opts {
		if err := opt(&c.opts); err != nil {
			c.err = fmt.Errorf("registry hosts: %w", err)
			return c.hosts
		}
	}
	switch t := c.opts.transport.(type) {
	case nil:
		tr := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
			MaxIdleConns: 100, IdleConnTimeout: 90 * time.Second, ExpectContinueTimeout: time.Second}
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.DialContext = (&net.Dialer{Timeout: c.opts.timeout, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = c.opts.timeout
		c.base, c.baseClone = tr, tr
	case *http.Transport:
		c.base, c.baseClone = t, t
	default:
		c.base = t
	}
	c.authClient = &http.Client{Transport: c.base, CheckRedirect: docker.CheckRedirect(nil)}
	return c.hosts
}

// hosts is the RegistryHosts.
func (c *configurer) hosts(name string) ([]docker.RegistryHost, error) {
	if c.err != nil {
		return nil, c.err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	dir, stamp, err := c.hostDir(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cached, ok := c.cache[name]
	c.mu.Unlock()
	if ok && cached.stamp == stamp {
		return cloneHosts(cached.hosts), nil
	}

	specs := []hostSpec{{}}
	if dir != "" {
		file := filepath.Join(dir, hostsFileName)
		data, err := readBounded(file, MaxHostsFileSize)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if specs, err = legacyHostDir(dir); err != nil {
				return nil, fmt.Errorf("registry %s: %w", name, err)
			}
		case err != nil:
			return nil, fmt.Errorf("registry %s: hosts file %s: %w", name, file, err)
		default:
			if specs, err = parseHostsFile(file, data); err != nil {
				return nil, fmt.Errorf("registry %s: %w", name, err)
			}
		}
	}
	hosts := make([]docker.RegistryHost, 0, len(specs))
	for _, s := range specs {
		h, err := c.build(name, s)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", name, err)
		}
		hosts = append(hosts, h)
	}
	c.mu.Lock()
	c.cache[name] = cachedHosts{stamp: stamp, hosts: hosts}
	c.mu.Unlock()
	return cloneHosts(hosts), nil
}

// cloneHosts copies hosts so that callers cannot change the cache.
func cloneHosts(hosts []docker.RegistryHost) []docker.RegistryHost {
	out := slices.Clone(hosts)
	for i := range out {
		out[i].Header = out[i].Header.Clone()
	}
	return out
}

// checkName checks a registry name: host[:port], nothing else.
func checkName(name string) error {
	u, err := url.Parse("//" + name)
	if err != nil || name == "" || len(name) > 300 || u.Host != name || u.Hostname() == "" ||
		strings.ContainsAny(name, `/\`) || strings.Trim(u.Hostname(), ".") == "" || name == defaultDirName {
		return fmt.Errorf("registry %q: not a host[:port]: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// hostDir returns the host directory for name, "" for none, and a stamp
// that changes when the directory or its hosts.toml does.
func (c *configurer) hostDir(name string) (dir, stamp string, err error) {
	candidates := []string{name, defaultDirName}
	if u, _ := url.Parse("//" + name); u.Port() != "" {
		// containerd's spelling of a port in a directory name, which
		// also suits file systems that do not allow ":".
		i := strings.LastIndexByte(name, ':')
		candidates = slices.Insert(candidates, 0, name[:i]+"_"+name[i+1:]+"_")
	}
	for _, root := range c.opts.dirs {
		for _, cand := range candidates {
			d := filepath.Join(root, cand)
			fi, err := os.Stat(d)
			if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
				continue
			}
			if err != nil {
				return "", "", fmt.Errorf("registry %s: hosts directory %s: %w", name, d, osKind(err))
			}
			stamp := fmt.Sprintf("%s %d", d, fi.ModTime().UnixNano())
			if hf, err := os.Stat(filepath.Join(d, hostsFileName)); err == nil {
				stamp += fmt.Sprintf(" %d %d", hf.ModTime().UnixNano(), hf.Size())
			}
			return d, stamp, nil
		}
	}
	return "", "", nil
}

// build makes the RegistryHost of one endpoint of registry name.
func (c *configurer) build(name string, s hostSpec) (docker.RegistryHost, error) {
	h := docker.RegistryHost{Host: s.host, Scheme: s.scheme, Path: s.path}
	if h.Host == "" {
		h.Host = name
		if name == dockerHub {
			h.Host = dockerHubHost
		}
	}
	if h.Path == "" {
		h.Path = "/v2"
	}
	// plainAsked is set when the user asked for plain http to this host.
	plainAsked := h.Scheme == "http"
	if h.Scheme == "" {
		h.Scheme = "https"
		hostname := h.Host
		if u, err := url.Parse("//" + h.Host); err == nil {
			hostname = u.Hostname()
		}
		if !s.hasTLS() {
			switch {
			case docker.IsLoopback(hostname):
				h.Scheme = "http"
			case c.opts.plainHTTP != nil && c.opts.plainHTTP(h.Host):
				h.Scheme, plainAsked = "http", true
			}
		}
	}
	switch {
	case s.capsSet:
		h.Capabilities = s.caps
	case s.mirror:
		h.Capabilities = docker.HostCapabilityPull | docker.HostCapabilityResolve
	default:
		h.Capabilities = docker.HostCapabilityPull | docker.HostCapabilityResolve | docker.HostCapabilityPush
	}
	if len(c.opts.header) > 0 || len(s.header) > 0 {
		h.Header = c.opts.header.Clone()
		if h.Header == nil {
			h.Header = http.Header{}
		}
		maps.Copy(h.Header, s.header)
	}

	rt, err := c.transport(h, s)
	if err != nil {
		return h, fmt.Errorf("host %s: %w", h.Host, err)
	}
	h.Client = &http.Client{Transport: rt, CheckRedirect: docker.CheckRedirect(nil)}
	// The endpoint's TLS settings and headers are for the endpoint: a
	// token realm on another host gets neither.
	authOpts := []docker.AuthorizerOpt{docker.WithAuthClient(c.authClient), docker.WithAuthHostClient(h.Client)}
	if c.opts.creds != nil {
		authOpts = append(authOpts, docker.WithAuthCredentials(c.opts.creds))
	}
	if len(c.opts.header) > 0 {
		authOpts = append(authOpts, docker.WithAuthHeader(c.opts.header))
	}
	if len(s.header) > 0 {
		authOpts = append(authOpts, docker.WithAuthHostHeader(s.header))
	}
	if plainAsked {
		authOpts = append(authOpts, docker.WithAuthAllowPlainHTTP())
	}
	h.Authorizer = docker.NewAuthorizer(h.Host, append(authOpts, c.opts.authOpts...)...)
	return h, nil
}

// transport returns the transport of endpoint h.
func (c *configurer) transport(h docker.RegistryHost, s hostSpec) (http.RoundTripper, error) {
	needTLS := h.Scheme == "https" && (s.hasTLS() || c.opts.skipVerify)
	if !needTLS && s.dial == 0 {
		return c.base, nil
	}
	if c.baseClone == nil {
		return nil, fmt.Errorf("TLS settings or a dial timeout need an *http.Transport, and the transport given is a %T: %w", c.base, errdefs.ErrFailedPrecondition)
	}
	tr := c.baseClone.Clone()
	if s.dial > 0 {
		tr.DialContext = (&net.Dialer{Timeout: s.dial, KeepAlive: 30 * time.Second}).DialContext
	}
	if !needTLS {
		return tr, nil
	}
	cfg := tr.TLSClientConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if c.opts.skipVerify || s.skipVerify != nil && *s.skipVerify {
		cfg.InsecureSkipVerify = true
	}
	if len(s.ca) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if cfg.RootCAs != nil {
			pool = cfg.RootCAs.Clone()
		}
		for _, f := range s.ca {
			data, err := readBounded(f, MaxHostsFileSize)
			if err != nil {
				return nil, fmt.Errorf("CA file %s: %w", f, err)
			}
			if !pool.AppendCertsFromPEM(data) {
				return nil, fmt.Errorf("CA file %s: no PEM certificate in it: %w", f, errdefs.ErrInvalidArgument)
			}
		}
		cfg.RootCAs = pool
	}
	for _, pair := range s.clients {
		cert, err := loadClientCert(pair)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// loadClientCert loads a client certificate and its key: from two files,
// or both from the first when the second is "".
func loadClientCert(pair [2]string) (tls.Certificate, error) {
	certPEM, err := readBounded(pair[0], MaxHostsFileSize)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client certificate %s: %w", pair[0], err)
	}
	keyPEM, keyFile := certPEM, pair[0]
	if pair[1] != "" {
		keyFile = pair[1]
		if keyPEM, err = readBounded(pair[1], MaxHostsFileSize); err != nil {
			return tls.Certificate{}, fmt.Errorf("client key %s: %w", pair[1], err)
		}
	}
	if b, _ := pem.Decode(certPEM); b == nil {
		return tls.Certificate{}, fmt.Errorf("client certificate %s: no PEM in it: %w", pair[0], errdefs.ErrInvalidArgument)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error of X509KeyPair never quotes the key.
		return tls.Certificate{}, fmt.Errorf("client certificate %s with key %s: %v: %w", pair[0], keyFile, err, errdefs.ErrInvalidArgument)
	}
	return cert, nil
}
