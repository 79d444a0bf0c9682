package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The issuer and service the token server and the registry agree on.
const (
	tokenIssuer  = "testutil-token-server"
	tokenService = "testutil-registry"
)

// TokenServer is the token endpoint (the realm) of a registry made with
// [WithTokenAuth]. It speaks both flows that clients use:
//
//   - GET ?service=&scope= with an optional Basic Authorization header (the
//     Docker token flow); it answers {token, access_token, expires_in,
//     issued_at}, plus a refresh_token when the client asks with
//     offline_token=true and presented credentials.
//   - POST of an OAuth2 form with grant_type=password (username, password)
//     or grant_type=refresh_token (refresh_token); it answers
//     {access_token, refresh_token, expires_in, issued_at, scope}.
//
// When the server has a user, a GET without the right Basic credentials is
// answered 401 and a POST with wrong ones 400 invalid_grant; without a user
// every request gets a token. A token grants every action its scopes ask
// for. Its methods are safe for concurrent use.
type TokenServer struct {
	user, pass string
	expiry     time.Duration
	srv        *httptest.Server
	certDER    []byte
	signer     jose.Signer

	mu       sync.Mutex
	reqs     []TokenRequest
	serial   int
	issued   map[string]time.Time // jti -> when the token stops being accepted
	refreshs map[string]string    // refresh token -> user
}

// TokenRequest is one request the token server answered.
type TokenRequest struct {
	// Method is GET (Docker token flow) or POST (OAuth2 form).
	Method string
	// Auth is "Basic" when the request carried a Basic Authorization
	// header, else "".
	Auth string
	// User is the username the request presented (Basic header, or
	// username form field), or for a refresh_token grant the user the
	// refresh token belongs to; "" when anonymous.
	User string
	// GrantType is the OAuth2 grant_type of a POST, "" for a GET.
	GrantType string
	// Service is the service the client named.
	Service string
	// Scopes are the scopes the client asked for, one per element.
	Scopes []string
	// Status is the status code the server answered with.
	Status int
}

func newTokenServer(t testing.TB, user, pass string, expiry time.Duration) *TokenServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tokenIssuer},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	// The x5c header carries the signing certificate; the registry checks
	// it chains to its rootcertbundle and then verifies with its key.
	opts := (&jose.SignerOptions{}).WithType("JWT").
		WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(der)})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &TokenServer{
		user: user, pass: pass, expiry: expiry,
		certDER:  der,
		signer:   signer,
		issued:   map[string]time.Time{},
		refreshs: map[string]string{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// URL returns the token endpoint, the realm of the registry's challenges.
func (s *TokenServer) URL() string { return s.srv.URL + "/token" }

// Requests returns a copy of the requests the token server answered so far.
func (s *TokenServer) Requests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.reqs...)
}

// ExpireTokens makes the registry reject every access token issued so far,
// as if each had expired; refresh tokens stay valid.
func (s *TokenServer) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti := range s.issued {
		s.issued[jti] = time.Time{}
	}
}

// registryParameters writes the certificate bundle and returns the
// registry's token auth configuration.
func (s *TokenServer) registryParameters(t testing.TB) configuration.Parameters {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "token-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.certDER})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return configuration.Parameters{
		"realm":          s.URL(),
		"service":        tokenService,
		"issuer":         tokenIssuer,
		"rootcertbundle": bundle,
	}
}

// enforceExpiry strips from requests to h the Bearer tokens this server
// issued that have expired or were expired by ExpireTokens, so that h
// challenges them: distribution would accept them for 60 s more.
func (s *TokenServer) enforceExpiry(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if strings.EqualFold(scheme, "bearer") && !s.live(raw) {
			r = r.Clone(r.Context())
			r.Header.Del("Authorization")
		}
		h.ServeHTTP(w, r)
	})
}

// live reports whether raw is not one of this server's tokens that has
// stopped being valid. A token of unknown origin is left to the registry.
func (s *TokenServer) live(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return true
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return true
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.issued[c.JTI]
	return !ok || time.Now().Before(until)
}

// accessClaim is one entry of a token's "access" claim.
type accessClaim struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// tokenClaims are the claims distribution's token access controller reads:
// iss and aud must match its issuer and service, exp and nbf bound the
// time, and access lists what the bearer may do.
type tokenClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  string        `json:"aud"`
	Expiry    int64         `json:"exp"`
	NotBefore int64         `json:"nbf"`
	IssuedAt  int64         `json:"iat"`
	ID        string        `json:"jti"`
	Access    []accessClaim `json:"access"`
}

func (s *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	rec := TokenRequest{Method: r.Method}
	defer func() {
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}()
	reply := func(status int, body any) {
		rec.Status = status
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	if r.URL.Path != "/token" {
		reply(http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}

	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		rec.Service = q.Get("service")
		rec.Scopes = splitScopes(q["scope"])
		user, pass, ok := r.BasicAuth()
		if ok {
			rec.Auth, rec.User = "Basic", user
		}
		if !s.authenticate(ok, user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="testutil-token-server"`)
			reply(http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{
				"code": "UNAUTHORIZED", "message": "incorrect username or password",
			}}})
			return
		}
		token, expiresIn, issuedAt, err := s.issue(user, rec.Scopes)
		if err != nil {
			reply(http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		body := map[string]any{
			"token":        token,
			"access_token": token,
			"expires_in":   expiresIn,
			"issued_at":    issuedAt,
		}
		if q.Get("offline_token") == "true" && ok {
			body["refresh_token"] = s.newRefreshToken(user)
		}
		reply(http.StatusOK, body)

	case http.MethodPost:
		if _, _, ok := r.BasicAuth(); ok {
			rec.Auth = "Basic"
		}
		if err := r.ParseForm(); err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		f := r.PostForm
		rec.GrantType = f.Get("grant_type")
		rec.Service = f.Get("service")
		rec.Scopes = splitScopes(f["scope"])
		var user, refresh string
		switch rec.GrantType {
		case "password":
			user = f.Get("username")
			rec.User = user
			if !s.authenticate(true, user, f.Get("password")) {
				reply(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
			refresh = s.newRefreshToken(user)
		case "refresh_token":
			refresh = f.Get("refresh_token")
			s.mu.Lock()
			u, ok := s.refreshs[refresh]
			s.mu.Unlock()
			if !ok {
				reply(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
			user = u
			rec.User = user
		default:
			reply(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		token, expiresIn, issuedAt, err := s.issue(user, rec.Scopes)
		if err != nil {
			reply(http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		reply(http.StatusOK, map[string]any{
			"access_token":  token,
			"refresh_token": refresh,
			"expires_in":    expiresIn,
			"issued_at":     issuedAt,
			"scope":         strings.Join(rec.Scopes, " "),
		})

	default:
		w.Header().Set("Allow", "GET, POST")
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

// authenticate reports whether a request that presented (user, pass), or
// nothing when !presented, may have a token.
func (s *TokenServer) authenticate(presented bool, user, pass string) bool {
	if s.user == "" {
		return true
	}
	return presented && user == s.user && pass == s.pass
}

func (s *TokenServer) newRefreshToken(user string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	rt := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.refreshs[rt] = user
	s.mu.Unlock()
	return rt
}

// issue signs a token for user granting scopes, and returns it with its
// expires_in (whole seconds, at least 1) and issued_at.
func (s *TokenServer) issue(user string, scopes []string) (token string, expiresIn int64, issuedAt string, err error) {
	now := time.Now()
	until := now.Add(s.expiry)
	expiresIn = int64((s.expiry + time.Second - 1) / time.Second)

	s.mu.Lock()
	s.serial++
	jti := strconv.Itoa(s.serial)
	s.issued[jti] = until
	s.mu.Unlock()

	claims := tokenClaims{
		Issuer:    tokenIssuer,
		Subject:   user,
		Audience:  tokenService,
		Expiry:    now.Unix() + expiresIn,
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        jti,
		Access:    []accessClaim{},
	}
	for _, sc := range scopes {
		if a, ok := parseScope(sc); ok {
			claims.Access = append(claims.Access, a)
		}
	}
	token, err = jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", 0, "", fmt.Errorf("signing token: %w", err)
	}
	return token, expiresIn, now.UTC().Format(time.RFC3339), nil
}

// splitScopes flattens scope parameters, each of which may hold several
// space-separated scopes.
func splitScopes(params []string) []string {
	var out []string
	for _, p := range params {
		out = append(out, strings.Fields(p)...)
	}
	return out
}

// parseScope parses "type:name:action,action"; name may itself hold colons.
func parseScope(s string) (accessClaim, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok {
		return accessClaim{}, false
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return accessClaim{}, false
	}
	if j := strings.IndexByte(typ, '('); j >= 0 { // "repository(plugin)"
		typ = typ[:j]
	}
	return accessClaim{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")}, true
}
