package docker

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAuthChallenges(t *testing.T) {
	type ch = authChallenge
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		values []string
		want   []ch
	}{
		{"empty", []string{""}, nil},
		{"only separators", []string{" , ,\t"}, nil},
		{"scheme alone", []string{"Basic"}, []ch{{scheme: "basic", params: p()}}},
		{"basic realm", []string{`Basic realm="Registry Realm"`},
			[]ch{{scheme: "basic", params: p("realm", "Registry Realm")}}},
		{"docker hub bearer", []string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull"`},
			[]ch{{scheme: "bearer", params: p("realm", "https://auth.docker.io/token", "service", "registry.docker.io", "scope", "repository:library/redis:pull"),
				scopes: []string{"repository:library/redis:pull"}}}},
		{"scheme and names case-insensitive", []string{`BEARER Realm="r", SERVICE=s`},
			[]ch{{scheme: "bearer", params: p("realm", "r", "service", "s")}}},
		{"whitespace around = and commas", []string{"Bearer  realm = \"r\" ,\tservice\t=\ts ,"},
			[]ch{{scheme: "bearer", params: p("realm", "r", "service", "s")}}},
		{"two challenges in one header", []string{`Basic realm="b", Bearer realm="https://a/token", service="x"`},
			[]ch{{scheme: "basic", params: p("realm", "b")}, {scheme: "bearer", params: p("realm", "https://a/token", "service", "x")}}},
		{"challenges across headers", []string{`Negotiate`, `Bearer realm="r"`},
			[]ch{{scheme: "negotiate", params: p()}, {scheme: "bearer", params: p("realm", "r")}}},
		{"escapes in quoted string", []string{`Basic realm="a \"quoted\" \\ name"`},
			[]ch{{scheme: "basic", params: p("realm", `a "quoted" \ name`)}}},
		{"comma inside quotes", []string{`Bearer realm="r", scope="repository:a:pull,push"`},
			[]ch{{scheme: "bearer", params: p("realm", "r", "scope", "repository:a:pull,push"), scopes: []string{"repository:a:pull,push"}}}},
		{"several scopes in one param and repeated params", []string{`Bearer realm="r", scope="repository:a:pull repository:b:pull", scope="repository:c:push", realm="other"`},
			[]ch{{scheme: "bearer", params: p("realm", "r", "scope", "repository:a:pull repository:b:pull"),
				scopes: []string{"repository:a:pull", "repository:b:pull", "repository:c:push"}}}},
		{"token value", []string{`Bearer realm=r,error=invalid_token`},
			[]ch{{scheme: "bearer", params: p("realm", "r", "error", "invalid_token")}}},
		{"empty quoted value", []string{`Bearer realm=""`}, []ch{{scheme: "bearer", params: p("realm", "")}}},
		{"token68", []string{"Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg==, Basic realm=x"},
			[]ch{{scheme: "negotiate", token68: "YIIBhwYGKwYBBQUCoIIBezCCAXeg==", params: p()}, {scheme: "basic", params: p("realm", "x")}}},
		{"token68 without padding", []string{"Custom abc/+.~_-9"},
			[]ch{{scheme: "custom", token68: "abc/+.~_-9", params: p()}}},
		{"param after comma belongs to the challenge", []string{`Basic, realm="x"`},
			[]ch{{scheme: "basic", params: p("realm", "x")}}},

		// Malformed: keep what was complete before the fault.
		{"unterminated quote", []string{`Basic realm="b", Bearer realm="r`},
			[]ch{{scheme: "basic", params: p("realm", "b")}}},
		{"escape at end", []string{`Bearer realm="r\`}, nil},
		{"control character in quotes", []string{"Bearer realm=\"r\x01\""}, nil},
		{"newline in quotes", []string{"Bearer realm=\"a\nb\""}, nil},
		{"missing comma between params", []string{`Basic realm="b", Bearer realm="r" service="s"`},
			[]ch{{scheme: "basic", params: p("realm", "b")}}},
		{"param without a scheme", []string{`realm="r"`}, nil},
		{"missing value", []string{`Bearer realm=,service=s`}, []ch{{scheme: "bearer", token68: "realm=", params: p("service", "s")}}},
		{"value not a token", []string{`Bearer realm=https://x/token`}, nil},
		{"garbage", []string{`"quoted" Basic`}, nil},
		{"bad header does not spoil the next", []string{`Bearer realm="r`, `Basic realm="b"`},
			[]ch{{scheme: "basic", params: p("realm", "b")}}},
		{"oversized header ignored", []string{`Bearer realm="` + strings.Repeat("a", maxAuthHeaderSize) + `"`, `Basic`},
			[]ch{{scheme: "basic", params: p()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseAuthChallenges(tt.values)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAuthChallenges(%q)\n got %+v\nwant %+v", tt.values, got, tt.want)
			}
		})
	}
}

func FuzzParseAuthChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull"`,
		`Basic realm="a \"b\"", Negotiate abc==`,
		`Bearer realm="r`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseAuthChallenges([]string{s}) {
			if c.scheme == "" || c.scheme != strings.ToLower(c.scheme) {
				t.Fatalf("parseAuthChallenges(%q): scheme %q", s, c.scheme)
			}
			for k := range c.params {
				if k != strings.ToLower(k) {
					t.Fatalf("parseAuthChallenges(%q): param %q not lowercased", s, k)
				}
			}
		}
	})
}

func TestMergeAuthScopes(t *testing.T) {
	tests := []struct {
		in   [][]string
		want []string
	}{
		{nil, nil},
		{[][]string{{"repository:a:pull"}, {"repository:a:pull"}}, []string{"repository:a:pull"}},
		{[][]string{{"repository:a:push"}, {"repository:a:pull"}}, []string{"repository:a:pull,push"}},
		{[][]string{{"repository:b:pull repository:a:pull,push"}, {"registry:catalog:*"}},
			[]string{"registry:catalog:*", "repository:a:pull,push", "repository:b:pull"}},
		{[][]string{{"repository:localhost:5000/a:pull"}}, []string{"repository:localhost:5000/a:pull"}},
		{[][]string{{"odd", "odd", ""}}, []string{"odd"}},
	}
	for _, tt := range tests {
		if got := mergeAuthScopes(tt.in...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("mergeAuthScopes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
