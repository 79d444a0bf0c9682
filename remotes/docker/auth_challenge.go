package docker

import "strings"

// maxAuthHeaderSize bounds one WWW-Authenticate value; a longer one is
// ignored whole rather than parsed in part.
const maxAuthHeaderSize = 16 << 10

// authChallenge is one challenge of a WWW-Authenticate header (RFC 9110
// section 11.6.1): a scheme with either a token68 or parameters.
type authChallenge struct {
	// scheme is the auth-scheme, lowercased: "bearer", "basic".
	scheme string
	// token68 is the challenge's token68, for schemes that use that form.
	token68 string
	// params maps lowercased parameter names to their values; of a name
	// given twice the first value counts.
	params map[string]string
	// scopes holds the scopes of every scope parameter, split at spaces,
	// in the order they came.
	scopes []string
}

func (c *authChallenge) add(name, value string) {
	if name == "scope" {
		c.scopes = append(c.scopes, strings.Fields(value)...)
	}
	if _, ok := c.params[name]; !ok {
		c.params[name] = value
	}
}

// parseAuthChallenges returns the challenges of the WWW-Authenticate
// header values, in order. Values over maxAuthHeaderSize are skipped; a
// malformed value keeps the challenges it completed before the fault and
// loses the one at the fault and any after it.
func parseAuthChallenges(values []string) []authChallenge {
	var out []authChallenge
	for _, v := range values {
		if len(v) > maxAuthHeaderSize {
			continue
		}
		out = append(out, parseAuthHeader(v)...)
	}
	return out
}

// parseAuthHeader parses one WWW-Authenticate value:
//
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// with challenges and parameters in one comma-separated list.
func parseAuthHeader(s string) []authChallenge {
	var (
		out []authChallenge
		cur *authChallenge
		i   int
	)
	for {
		i = skipAuthListSep(s, i)
		if i >= len(s) {
			if cur != nil {
				out = append(out, *cur)
			}
			return out
		}
		name, j := scanAuthToken(s, i)
		if name == "" {
			return out
		}
		k := skipAuthOWS(s, j)
		if cur != nil && k < len(s) && s[k] == '=' {
			var value string
			k = skipAuthOWS(s, k+1)
			if k < len(s) && s[k] == '"' {
				var ok bool
				if value, k, ok = scanAuthQuoted(s, k); !ok {
					return out
				}
			} else if value, k = scanAuthToken(s, k); value == "" {
				return out
			}
			cur.add(strings.ToLower(name), value)
			if k = skipAuthOWS(s, k); k < len(s) && s[k] != ',' {
				return out
			}
			i = k
			continue
		}
		// A token not followed by "=" starts the next challenge.
		if cur != nil {
			out = append(out, *cur)
		}
		cur = &authChallenge{scheme: strings.ToLower(name), params: map[string]string{}}
		i = j
		if j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			start := skipAuthOWS(s, j)
			t, end := scanAuthToken68(s, start)
			if after := skipAuthOWS(s, end); t != "" && (after == len(s) || s[after] == ',') {
				cur.token68, i = t, after
			}
		}
	}
}

func skipAuthOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func skipAuthListSep(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

// scanAuthToken returns the token (RFC 9110 tchar run) at s[i:] and the
// index after it; "" when there is none.
func scanAuthToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isAuthTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

func isAuthTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// scanAuthToken68 returns the token68 at s[i:] and the index after it.
func scanAuthToken68(s string, i int) (string, int) {
	j := i
	for j < len(s) {
		c := s[j]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0 {
			j++
			continue
		}
		break
	}
	if j == i {
		return "", i
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	return s[i:j], j
}

// scanAuthQuoted returns the unescaped content of the quoted-string that
// starts at s[i] (a '"'), the index after its closing quote, and whether
// it was well formed: closed, and free of control characters other than
// tab.
func scanAuthQuoted(s string, i int) (string, int, bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\':
			j++
			if j == len(s) || isAuthCTL(s[j]) {
				return "", j, false
			}
			b.WriteByte(s[j])
		case isAuthCTL(c):
			return "", j, false
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

func isAuthCTL(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }
