package remotes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes"
)

const testDigest = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want remotes.Ref
		str  string
	}{
		{"redis", remotes.Ref{Name: "docker.io/library/redis", Domain: "docker.io", Path: "library/redis", Tag: "latest"}, "docker.io/library/redis:latest"},
		{"redis:alpine", remotes.Ref{Name: "docker.io/library/redis", Domain: "docker.io", Path: "library/redis", Tag: "alpine"}, "docker.io/library/redis:alpine"},
		{"bitnami/redis:7", remotes.Ref{Name: "docker.io/bitnami/redis", Domain: "docker.io", Path: "bitnami/redis", Tag: "7"}, "docker.io/bitnami/redis:7"},
		{"docker.io/library/redis:latest", remotes.Ref{Name: "docker.io/library/redis", Domain: "docker.io", Path: "library/redis", Tag: "latest"}, "docker.io/library/redis:latest"},
		{"localhost:5000/app", remotes.Ref{Name: "localhost:5000/app", Domain: "localhost:5000", Path: "app", Tag: "latest"}, "localhost:5000/app:latest"},
		{"ghcr.io/o/r/deep@" + testDigest, remotes.Ref{Name: "ghcr.io/o/r/deep", Domain: "ghcr.io", Path: "o/r/deep", Digest: testDigest}, "ghcr.io/o/r/deep@" + testDigest},
		{"redis:7@" + testDigest, remotes.Ref{Name: "docker.io/library/redis", Domain: "docker.io", Path: "library/redis", Tag: "7", Digest: testDigest}, "docker.io/library/redis:7@" + testDigest},
		{"[::1]:5000/app:v1", remotes.Ref{Name: "[::1]:5000/app", Domain: "[::1]:5000", Path: "app", Tag: "v1"}, "[::1]:5000/app:v1"},
	} {
		got, err := remotes.ParseRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRef(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
	}
}

func TestParseRefInvalid(t *testing.T) {
	for _, in := range []string{
		"", "Redis", "redis:", "redis@sha256:abc", "redis@md5:" + strings.Repeat("0", 32),
		"a/" + strings.Repeat("b", 2000), "redis:" + strings.Repeat("t", 200), "/redis", "redis//x",
		strings.Repeat("0", 64),
	} {
		_, err := remotes.ParseRef(in)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("ParseRef(%q) = %v, want InvalidArgument", in, err)
			continue
		}
		if want := in[:min(len(in), 20)]; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRef(%q) = %v, does not name the input", in, err)
		}
	}
}

func TestParseLocator(t *testing.T) {
	for _, tc := range []struct {
		locator, object string
		want            string
		invalid         bool
	}{
		{"docker.io/library/redis", "latest", "docker.io/library/redis:latest", false},
		{"docker.io/library/redis", "", "docker.io/library/redis:latest", false},
		{"redis", "7", "docker.io/library/redis:7", false},
		{"docker.io/library/redis", testDigest, "docker.io/library/redis@" + testDigest, false},
		{"docker.io/library/redis", "7@" + testDigest, "docker.io/library/redis:7@" + testDigest, false},
		{"localhost:5000/app", "v1", "localhost:5000/app:v1", false},
		{"docker.io/library/redis:7", "latest", "", true},
		{"docker.io/library/redis@" + testDigest, "", "", true},
		{"localhost:5000", "v1", "", true},
		{"docker.io/library/redis", "sha256:nothex", "", true},
		{"docker.io/library/redis", "bad tag", "", true},
	} {
		got, err := remotes.ParseLocator(tc.locator, tc.object)
		if tc.invalid {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("ParseLocator(%q, %q) = %v, %v; want InvalidArgument", tc.locator, tc.object, got, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseLocator(%q, %q) = %q, %v; want %q", tc.locator, tc.object, got, err, tc.want)
		}
	}
}

func ExampleParseRef() {
	ref, err := remotes.ParseRef("redis:7-alpine")
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Domain)
	fmt.Println(ref.Path)
	fmt.Println(ref.Object())
	fmt.Println(ref)
	// Output:
	// docker.io
	// library/redis
	// 7-alpine
	// docker.io/library/redis:7-alpine
}

func ExampleParseLocator() {
	ref, err := remotes.ParseLocator("docker.io/library/redis", "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa")
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Tag == "", ref.Digest.Encoded()[:12])
	// Output:
	// true 7cc4b5aefd1d
}
