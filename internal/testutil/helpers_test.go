package testutil

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// get sends one request with plain net/http and returns the response
// with its body read.
func get(t *testing.T, method, u string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return resp, body
}

// hdr builds a header from key, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// tokenByHand runs the Docker token flow the way a client does: it parses
// the challenge of a 401, asks the realm for a token (with Basic
// credentials when user != "") and returns the token server's status and
// token.
func tokenByHand(t *testing.T, challenge, user, pass string) (int, string) {
	t.Helper()
	scheme, params := parseChallenge(challenge)
	if scheme != "Bearer" || params["realm"] == "" || params["service"] == "" {
		t.Fatalf("challenge %q: want Bearer with realm and service", challenge)
	}
	u, err := url.Parse(params["realm"])
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("service", params["service"])
	if params["scope"] != "" {
		q.Set("scope", params["scope"])
	}
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
			t.Fatalf("token response: %v", err)
		}
	}
	return resp.StatusCode, tr.Token
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d bytes (equal: false)", what, len(got), len(want))
	}
}
