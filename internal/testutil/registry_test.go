package testutil

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRegistryNoAuth(t *testing.T) {
	reg := NewRegistry(t)
	if !strings.HasPrefix(reg.Host(), "127.0.0.1:") || reg.URL() != "http://"+reg.Host() {
		t.Fatalf("Host() = %q, URL() = %q", reg.Host(), reg.URL())
	}
	if reg.TokenServer() != nil {
		t.Fatal("TokenServer() != nil without WithTokenAuth")
	}

	data := randomBytes(10000)
	desc := PushBlob(t, reg.Host(), "test/blob", data)
	if desc.Size != int64(len(data)) {
		t.Fatalf("PushBlob size = %d", desc.Size)
	}
	blobURL := reg.URL() + "/v2/test/blob/blobs/" + desc.Digest.String()

	reg.Reset()
	resp, _ := get(t, http.MethodHead, blobURL, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != desc.Size {
		t.Fatalf("HEAD blob = %s, length %d", resp.Status, resp.ContentLength)
	}
	resp, body := get(t, http.MethodGet, blobURL, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET blob = %s", resp.Status)
	}
	mustEqual(t, "GET blob", body, data)
	resp, body = get(t, http.MethodGet, blobURL, hdr("Range", "bytes=100-"))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("GET blob with Range = %s, want 206", resp.Status)
	}
	mustEqual(t, "GET blob bytes=100-", body, data[100:])

	if n := reg.Count(http.MethodHead, "/blobs/"); n != 1 {
		t.Errorf("Count(HEAD, /blobs/) = %d, want 1", n)
	}
	reqs := reg.Requests()
	if len(reqs) != 3 || reqs[2].Range != "bytes=100-" || reqs[2].Status != 206 || reqs[0].Auth != "" {
		t.Errorf("Requests() = %v", reqs)
	}

	img := RandomImage(t, 2, 1000)
	img.Push(t, reg.Host(), "test/image", "v1")
	resp, body = get(t, http.MethodGet, reg.URL()+"/v2/test/image/manifests/v1",
		hdr("Accept", ocispec.MediaTypeImageManifest))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ocispec.MediaTypeImageManifest {
		t.Fatalf("GET manifest = %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	mustEqual(t, "GET manifest", body, img.Blobs[img.Manifest.Digest])
	if got := resp.Header.Get("Docker-Content-Digest"); got != img.Manifest.Digest.String() {
		t.Errorf("Docker-Content-Digest = %s, want %s", got, img.Manifest.Digest)
	}
	for _, l := range img.Layers {
		_, body := get(t, http.MethodGet, reg.URL()+"/v2/test/image/blobs/"+l.Digest.String(), nil)
		mustEqual(t, "GET layer", body, img.Blobs[l.Digest])
	}
}

func TestPushIndex(t *testing.T) {
	reg := NewRegistry(t)
	idx := RandomIndex(t, 1, 100)
	idx.Push(t, reg.Host(), "multi", "latest")
	resp, body := get(t, http.MethodGet, reg.URL()+"/v2/multi/manifests/latest",
		hdr("Accept", ocispec.MediaTypeImageIndex))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ocispec.MediaTypeImageIndex {
		t.Fatalf("GET index = %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	mustEqual(t, "GET index", body, idx.Blobs[idx.Manifest.Digest])
	for _, p := range idx.Platforms {
		resp, _ := get(t, http.MethodHead, reg.URL()+"/v2/multi/manifests/"+p.Manifest.Digest.String(),
			hdr("Accept", ocispec.MediaTypeImageManifest))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s manifest = %s", p.Manifest.Platform.Architecture, resp.Status)
		}
	}
}

func TestRegistryBasicAuth(t *testing.T) {
	reg := NewRegistry(t, WithBasicAuth("alice", "s3cret"))

	resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("GET /v2/ anonymous = %s, WWW-Authenticate %q; want 401 Basic", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	basic := func(user, pass string) http.Header {
		return hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	if resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/", basic("alice", "wrong")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ with a wrong password = %s, want 401", resp.Status)
	}
	if resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/", basic("alice", "s3cret")); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ with the password = %s, want 200", resp.Status)
	}

	data := randomBytes(100)
	desc := PushBlob(t, reg.Host(), "private/repo", data, WithAuth("alice", "s3cret"))
	resp, body := get(t, http.MethodGet, reg.URL()+"/v2/private/repo/blobs/"+desc.Digest.String(), basic("alice", "s3cret"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET blob = %s", resp.Status)
	}
	mustEqual(t, "GET blob", body, data)
	last := reg.Requests()[len(reg.Requests())-1]
	if last.Auth != "Basic" {
		t.Errorf("last request Auth = %q, want Basic", last.Auth)
	}
}

func TestRegistryTokenAuth(t *testing.T) {
	reg := NewRegistry(t, WithTokenAuth("bob", "hunter2"), WithTokenExpiry(90*time.Second))
	ts := reg.TokenServer()
	img := RandomImage(t, 1, 500)
	img.Push(t, reg.Host(), "team/app", "v1", WithAuth("bob", "hunter2"))

	manifestURL := reg.URL() + "/v2/team/app/manifests/v1"
	accept := hdr("Accept", ocispec.MediaTypeImageManifest)
	resp, _ := get(t, http.MethodGet, manifestURL, accept)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET manifest without a token = %s, want 401", resp.Status)
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	if _, params := parseChallenge(challenge); params["realm"] != ts.URL() || params["scope"] != "repository:team/app:pull" {
		t.Fatalf("challenge = %q", challenge)
	}

	// Wrong password, and no credentials at all, are refused by the realm.
	if status, _ := tokenByHand(t, challenge, "bob", "wrong"); status != http.StatusUnauthorized {
		t.Fatalf("token with a wrong password: status %d, want 401", status)
	}
	if status, _ := tokenByHand(t, challenge, "", ""); status != http.StatusUnauthorized {
		t.Fatalf("anonymous token: status %d, want 401", status)
	}
	status, token := tokenByHand(t, challenge, "bob", "hunter2")
	if status != http.StatusOK || token == "" {
		t.Fatalf("token: status %d, token %q", status, token)
	}
	resp, body := get(t, http.MethodGet, manifestURL, hdr("Accept", ocispec.MediaTypeImageManifest, "Authorization", "Bearer "+token))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest with a token = %s", resp.Status)
	}
	mustEqual(t, "GET manifest", body, img.Blobs[img.Manifest.Digest])

	// The token is for team/app only.
	resp, _ = get(t, http.MethodGet, reg.URL()+"/v2/team/other/manifests/v1", hdr("Authorization", "Bearer "+token))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("GET another repository's manifest = %s, %q; want 401 insufficient_scope", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}

	// The claims say what the registry checks.
	claims := decodeClaims(t, token)
	if claims.Issuer != tokenIssuer || claims.Audience != tokenService || claims.Subject != "bob" ||
		claims.Expiry-claims.IssuedAt != 90 || len(claims.Access) != 1 || claims.Access[0].Name != "team/app" {
		t.Errorf("claims = %+v", claims)
	}

	reqs := ts.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != http.MethodGet || last.Auth != "Basic" || last.User != "bob" || last.Service != tokenService ||
		len(last.Scopes) != 1 || last.Scopes[0] != "repository:team/app:pull" || last.Status != 200 {
		t.Errorf("last token request = %+v", last)
	}
	if anon := reqs[len(reqs)-2]; anon.Auth != "" || anon.Status != 401 {
		t.Errorf("anonymous token request = %+v", anon)
	}

	// ExpireTokens makes the registry refuse the token at once.
	ts.ExpireTokens()
	resp, _ = get(t, http.MethodGet, manifestURL, hdr("Accept", ocispec.MediaTypeImageManifest, "Authorization", "Bearer "+token))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET manifest with an expired token = %s, want 401", resp.Status)
	}
	if r := reg.Requests()[len(reg.Requests())-1]; r.Auth != "Bearer" {
		t.Errorf("log of the refused request: Auth = %q, want Bearer (as sent)", r.Auth)
	}
}

func TestTokenAuthAnonymous(t *testing.T) {
	reg := NewRegistry(t, WithTokenAuth("", ""))
	desc := PushBlob(t, reg.Host(), "public/repo", []byte("hello"))
	blobURL := reg.URL() + "/v2/public/repo/blobs/" + desc.Digest.String()
	resp, _ := get(t, http.MethodGet, blobURL, nil)
	status, token := tokenByHand(t, resp.Header.Get("WWW-Authenticate"), "", "")
	if status != http.StatusOK {
		t.Fatalf("anonymous token: status %d", status)
	}
	resp, body := get(t, http.MethodGet, blobURL, hdr("Authorization", "Bearer "+token))
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("GET blob with an anonymous token = %s, %q", resp.Status, body)
	}
	for _, r := range reg.TokenServer().Requests() {
		if r.Auth != "" || r.User != "" {
			t.Errorf("token request %+v carried credentials", r)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	// A token that lives a nanosecond has expired by the time it reaches
	// the registry, which distribution alone would accept for 60 s more.
	reg := NewRegistry(t, WithTokenAuth("", ""), WithTokenExpiry(time.Nanosecond))
	resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/", nil)
	_, token := tokenByHand(t, resp.Header.Get("WWW-Authenticate"), "", "")
	if c := decodeClaims(t, token); c.Expiry-c.IssuedAt != 1 {
		t.Errorf("exp - iat = %d, want 1 (expires_in rounds up to a second)", c.Expiry-c.IssuedAt)
	}
	resp, _ = get(t, http.MethodGet, reg.URL()+"/v2/", hdr("Authorization", "Bearer "+token))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ with an expired token = %s, want 401", resp.Status)
	}
}

func TestTokenOAuthPOST(t *testing.T) {
	reg := NewRegistry(t, WithTokenAuth("carol", "pw"))
	ts := reg.TokenServer()
	post := func(form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(ts.URL(), form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	scope := "repository:oauth/repo:pull,push"
	status, body := post(url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"nope"},
		"service": {tokenService}, "scope": {scope}, "client_id": {"testutil"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("POST with a wrong password = %d %v, want 400 invalid_grant", status, body)
	}
	status, body = post(url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"pw"},
		"service": {tokenService}, "scope": {scope}, "client_id": {"testutil"}})
	access, _ := body["access_token"].(string)
	refresh, _ := body["refresh_token"].(string)
	if status != http.StatusOK || access == "" || refresh == "" || body["expires_in"] != float64(300) {
		t.Fatalf("POST password grant = %d %v", status, body)
	}
	resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/oauth/repo/tags/list", hdr("Authorization", "Bearer "+access))
	if resp.StatusCode != http.StatusNotFound { // authorized; the repository does not exist
		t.Fatalf("GET tags with an OAuth token = %s, want 404", resp.Status)
	}

	ts.ExpireTokens()
	status, body = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"service": {tokenService}, "scope": {scope}, "client_id": {"testutil"}})
	access2, _ := body["access_token"].(string)
	if status != http.StatusOK || access2 == "" || access2 == access {
		t.Fatalf("POST refresh_token grant = %d %v", status, body)
	}
	resp, _ = get(t, http.MethodGet, reg.URL()+"/v2/oauth/repo/tags/list", hdr("Authorization", "Bearer "+access2))
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET tags with a refreshed token = %s, want 404", resp.Status)
	}
	if status, _ := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus"}}); status != http.StatusBadRequest {
		t.Fatalf("POST with a bogus refresh token = %d, want 400", status)
	}
	reqs := ts.Requests()
	if r := reqs[2]; r.Method != http.MethodPost || r.GrantType != "refresh_token" || r.User != "carol" || r.Auth != "" {
		t.Errorf("refresh request = %+v", r)
	}
}

func TestWithRegistryConfig(t *testing.T) {
	reg := NewRegistry(t, WithRegistryConfig(func(c *configuration.Configuration) {
		c.HTTP.Headers = http.Header{"X-Testutil": {"yes"}}
	}))
	resp, _ := get(t, http.MethodGet, reg.URL()+"/v2/", nil)
	if resp.Header.Get("X-Testutil") != "yes" {
		t.Fatalf("GET /v2/ header X-Testutil = %q, want yes", resp.Header.Get("X-Testutil"))
	}
}

func decodeClaims(t *testing.T, token string) tokenClaims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
