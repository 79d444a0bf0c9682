package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// The registry finds its storage driver by name in a registry that
	// this package fills when imported.
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Registry is a registry serving in this process.
type Registry struct {
	host string
	srv  *http.Server
}

// Start starts a registry with empty in-memory storage on a free port of
// 127.0.0.1. Close stops it.
func Start() (*Registry, error) {
	logrus.SetLevel(logrus.FatalLevel) // the registry logs through logrus
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
	}
	config.HTTP.Secret = "daemonless-examples" // signs upload state; any value will do here
	config.Log.AccessLog.Disabled = true
	app, err := newApp(config)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return &Registry{host: l.Addr().String(), srv: srv}, nil
}

// Host returns the registry's host:port, the first part of the
// references of its images ("127.0.0.1:41234/example/hello:v1").
func (r *Registry) Host() string { return r.host }

// Close stops the registry; its content is gone.
func (r *Registry) Close() error { return r.srv.Close() }

// newApp builds the registry application; it panics on a configuration
// it cannot use, which becomes an error here.
func newApp(config *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registry configuration: %v", p)
		}
	}()
	return handlers.NewApp(context.Background(), config), nil
}
