package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
)

func TestHeaders(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, reg.addBlob("app", []byte(`{}`))))
	var got []http.Header
	var mu sync.Mutex
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		return false
	})
	ref := reg.host() + "/app:v1"
	if _, _, err := testResolver().Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if ua := got[0].Get("User-Agent"); !strings.HasPrefix(ua, "dctr/") {
		t.Errorf("default User-Agent %q", ua)
	}
	if accept := got[0].Get("Accept"); !strings.Contains(accept, ocispec.MediaTypeImageIndex) || !strings.Contains(accept, remotes.MediaTypeDockerManifest) {
		t.Errorf("Accept %q", accept)
	}
	got = nil
	r := testResolver(
		docker.WithHeader(http.Header{"user-agent": {"mine/1"}, "X-Resolver": {"r"}}),
		docker.WithHosts(func(host string) ([]docker.RegistryHost, error) {
			return []docker.RegistryHost{{Host: host, Scheme: "http", Capabilities: docker.HostCapabilityResolve, Header: http.Header{"X-Host": {"h"}}}}, nil
		}))
	if _, _, err := r.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if h := got[0]; h.Get("User-Agent") != "mine/1" || h.Get("X-Resolver") != "r" || h.Get("X-Host") != "h" {
		t.Errorf("headers %v", h)
	}
}

// learningAuthorizer answers challenges with the token the realm names:
// a challenge `Bearer realm="good"` teaches it the token "good".
type learningAuthorizer struct {
	mu     sync.Mutex
	token  string
	rounds int
}

func (a *learningAuthorizer) Authorize(ctx context.Context, req *http.Request) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if !slices.Contains(docker.Scopes(ctx), "repository:app:pull") {
		return fmt.Errorf("no scope in %q", docker.Scopes(ctx))
	}
	return nil
}

func (a *learningAuthorizer) AddResponses(ctx context.Context, responses []*http.Response) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rounds++
	ch := responses[0].Header.Get("WWW-Authenticate")
	a.token = strings.TrimSuffix(strings.TrimPrefix(ch, `Bearer realm="`), `"`)
	return nil
}

func TestAuthChallenges(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.addManifest("app", "v1", ocispec.MediaTypeImageManifest, imageManifest(t, reg.addBlob("app", []byte(`{}`))))
	for _, tc := range []struct {
		name       string
		challenges []string // the realms the registry names, one per 401
		rounds     int
		ok         bool
	}{
		{name: "one challenge", challenges: []string{"good"}, rounds: 1, ok: true},
		{name: "new challenge", challenges: []string{"stale", "good"}, rounds: 2, ok: true},
		// The authorizer judges a repeated challenge; one that never
		// refuses is stopped by the resolver's bound.
		{name: "same challenge again", challenges: []string{"bad", "bad", "bad", "bad", "bad"}, rounds: 4},
		{name: "endless challenges", challenges: []string{"a", "b", "c", "d", "e", "f"}, rounds: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Header.Get("Authorization") == "Bearer good" {
					return false
				}
				realm := "none"
				if n < len(tc.challenges) {
					realm = tc.challenges[n]
				}
				n++
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
				w.WriteHeader(http.StatusUnauthorized)
				return true
			})
			a := &learningAuthorizer{}
			r := testResolver(docker.WithHosts(func(host string) ([]docker.RegistryHost, error) {
				return []docker.RegistryHost{{Host: host, Scheme: "http", Capabilities: docker.HostCapabilityResolve, Authorizer: a}}, nil
			}))
			_, _, err := r.Resolve(context.Background(), reg.host()+"/app:v1")
			if tc.ok && err != nil || !tc.ok && !errdefs.IsUnauthorized(err) {
				t.Errorf("Resolve = %v", err)
			}
			if a.rounds != tc.rounds {
				t.Errorf("%d rounds of AddResponses, want %d", a.rounds, tc.rounds)
			}
		})
	}
}

func TestFetchContinuesIngest(t *testing.T) {
	ctx := context.Background()
	reg := newFakeRegistry(t)
	data := randomBytes(t, 100_000)
	desc := reg.addBlob("app", data)
	store := newLocalStore(t)
	w, err := store.Writer(ctx, content.WithRef(remotes.RefKey(desc)), content.WithDescriptor(desc))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:40_000])
	w.Close()
	var ranges []string
	var mu sync.Mutex
	reg.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		return false
	})
	if err := remotes.Fetch(ctx, store, fetcherFor(t, testResolver(), reg.host()+"/app"), desc); err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	if !slices.Contains(ranges, "bytes=40000-") {
		t.Errorf("Range headers %q, want one from 40000", ranges)
	}
	if b, _ := content.ReadBlob(ctx, store, desc, 0); !bytes.Equal(b, data) {
		t.Error("blob differs")
	}
}
