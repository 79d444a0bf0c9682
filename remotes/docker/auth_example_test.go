package docker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/daemonless/containerd/remotes/docker"
)

// ExampleNewAuthorizer drives an authorizer the way a resolver does:
// send, and on a 401 learn the challenge and send again.
func ExampleNewAuthorizer() {
	var srv *httptest.Server
	mux := http.NewServeMux()
	// The token endpoint gives a token to alice.
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if user, pass, _ := r.BasicAuth(); user != "alice" || pass != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Println("token for", r.URL.Query()["scope"])
		fmt.Fprint(w, `{"token":"t0k3n","expires_in":300}`)
	})
	// The registry wants that token.
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k3n" {
			w.Header().Set("WWW-Authenticate",
				`Bearer realm="`+srv.URL+`/token",service="example",scope="repository:team/app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	host := strings.TrimPrefix(srv.URL, "http://")
	auth := docker.NewAuthorizer(host, docker.WithAuthCredentials(
		func(string) (string, string, error) { return "alice", "s3cret", nil }))
	ctx := docker.WithScope(context.Background(), docker.RepositoryScope("team/app", false))

	var challenges []*http.Response
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/team/app/manifests/latest", nil)
		if err := auth.Authorize(ctx, req); err != nil {
			fmt.Println(err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
		if resp.StatusCode != http.StatusUnauthorized {
			return
		}
		challenges = append([]*http.Response{resp}, challenges...)
		if err := auth.AddResponses(ctx, challenges); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// 401 Unauthorized
	// token for [repository:team/app:pull]
	// 200 OK
}
