package testutil

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The registry finds its storage driver and access controllers by name
	// in registries that these packages fill when imported.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// DefaultTokenExpiry is how long a token from the test token server lives
// unless [WithTokenExpiry] says otherwise; it is Docker Hub's figure.
const DefaultTokenExpiry = 5 * time.Minute

// Registry is an in-process distribution/distribution v3 registry with
// in-memory storage, served over plain HTTP on 127.0.0.1. Every repository
// starts empty; deleting manifests and blobs is enabled.
//
// Its embedded [RequestLog] records every request the registry answered.
type Registry struct {
	RequestLog

	srv    *httptest.Server
	tokens *TokenServer
}

// RegistryOpt configures [NewRegistry].
type RegistryOpt func(*registryOptions)

type registryOptions struct {
	basicUser, basicPass string
	basic                bool
	tokenUser, tokenPass string
	token                bool
	tokenExpiry          time.Duration
	edits                []func(*configuration.Configuration)
}

// WithBasicAuth makes the registry require HTTP Basic credentials user and
// pass on every request (distribution's htpasswd access controller, with a
// bcrypt htpasswd file). Default: no auth.
func WithBasicAuth(user, pass string) RegistryOpt {
	return func(o *registryOptions) {
		o.basic, o.basicUser, o.basicPass = true, user, pass
	}
}

// WithTokenAuth makes the registry require Bearer tokens from a test
// [TokenServer] (distribution's token access controller). With user != ""
// the token server issues tokens only to requests that present user and
// pass; with user == "" it issues them to anyone. Either way a token grants
// every action its scope asks for, push included. Default: no auth.
func WithTokenAuth(user, pass string) RegistryOpt {
	return func(o *registryOptions) {
		o.token, o.tokenUser, o.tokenPass = true, user, pass
	}
}

// WithTokenExpiry sets how long tokens from the token server live (its
// expires_in, rounded up to whole seconds, and the JWT's exp). It matters
// only with [WithTokenAuth]. Default: [DefaultTokenExpiry].
func WithTokenExpiry(d time.Duration) RegistryOpt {
	return func(o *registryOptions) { o.tokenExpiry = d }
}

// WithRegistryConfig lets edit change the registry's configuration after
// this package has filled it in and before the registry is built: an
// escape hatch for settings no other option covers.
func WithRegistryConfig(edit func(*configuration.Configuration)) RegistryOpt {
	return func(o *registryOptions) { o.edits = append(o.edits, edit) }
}

var quietLogrus sync.Once

// NewRegistry starts an in-process registry and stops it when the test
// ends. It fails the test if the options conflict or the registry cannot be
// built.
func NewRegistry(t testing.TB, opts ...RegistryOpt) *Registry {
	t.Helper()
	o := registryOptions{tokenExpiry: DefaultTokenExpiry}
	for _, opt := range opts {
		opt(&o)
	}
	if o.basic && o.token {
		t.Fatal("NewRegistry: WithBasicAuth and WithTokenAuth exclude each other")
	}
	if o.tokenExpiry <= 0 {
		t.Fatalf("NewRegistry: WithTokenExpiry(%v): must be positive", o.tokenExpiry)
	}
	quietLogrus.Do(func() { logrus.SetLevel(logrus.FatalLevel) })

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			"delete":   configuration.Parameters{"enabled": true},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
	}
	config.HTTP.Secret = fmt.Sprintf("%x", secret)
	config.Log.AccessLog.Disabled = true

	reg := &Registry{}
	switch {
	case o.basic:
		config.Auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "testutil",
			"path":  writeHtpasswd(t, o.basicUser, o.basicPass),
		}}
	case o.token:
		reg.tokens = newTokenServer(t, o.tokenUser, o.tokenPass, o.tokenExpiry)
		config.Auth = configuration.Auth{"token": reg.tokens.registryParameters(t)}
	}
	for _, edit := range o.edits {
		edit(config)
	}

	app, err := newApp(config)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	var h http.Handler = app
	if reg.tokens != nil {
		h = reg.tokens.enforceExpiry(h)
	}
	reg.srv = httptest.NewServer(logged(&reg.RequestLog, h))
	t.Cleanup(func() {
		reg.srv.CloseClientConnections()
		reg.srv.Close()
	})
	return reg
}

// newApp builds the registry application, turning its panics on a bad
// configuration into an error.
func newApp(config *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registry configuration: %v", p)
		}
	}()
	return handlers.NewApp(context.Background(), config), nil
}

// writeHtpasswd writes an htpasswd file with one bcrypt entry (at the
// lowest cost, so that checking it on every request stays cheap).
func writeHtpasswd(t testing.TB, user, pass string) string {
	t.Helper()
	if user == "" || strings.Contains(user, ":") {
		t.Fatalf("WithBasicAuth(%q): user must be non-empty and without ':'", user)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, fmt.Appendf(nil, "%s:%s\n", user, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Host returns the registry's host as a reference names it: "127.0.0.1:PORT".
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// URL returns the registry's base URL, "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return r.srv.URL }

// TokenServer returns the registry's token server, or nil when the registry
// was not made with [WithTokenAuth].
func (r *Registry) TokenServer() *TokenServer { return r.tokens }
