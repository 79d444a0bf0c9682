package platforms_test

import (
	"fmt"
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/platforms"
)

// sorted returns the formatted candidates m accepts, best first, and the
// rest in their original order.
func sorted(t *testing.T, m platforms.MatchComparer, in []string) (accepted, rejected []string) {
	t.Helper()
	ps := make([]ocispec.Platform, len(in))
	for i, c := range in {
		ps[i] = platforms.MustParse(c)
	}
	slices.SortStableFunc(ps, func(a, b ocispec.Platform) int {
		switch {
		case m.Less(a, b):
			return -1
		case m.Less(b, a):
			return 1
		}
		return 0
	})
	for _, p := range ps {
		if m.Match(p) {
			if rejected != nil {
				t.Errorf("%v: %s sorted after %v, which it does not accept", m, platforms.Format(p), rejected)
			}
			accepted = append(accepted, platforms.Format(p))
		} else {
			rejected = append(rejected, platforms.Format(p))
		}
	}
	return accepted, rejected
}

// candidates are the platforms of an imaginary index, in its order.
func candidates() []string {
	return []string{
		"linux/386", "linux/arm/v5", "linux/amd64/v2", "linux/arm64/v8.1", "linux/arm/v6",
		"linux/s390x", "linux/amd64", "linux/arm/v8", "linux/arm64", "linux/amd64/v4",
		"linux/arm/v7", "linux/arm64/v9", "linux/amd64/v3", "windows/amd64", "linux/arm64/v8.6",
	}
}

func TestOnlyOrder(t *testing.T) {
	for _, tc := range []struct {
		platform string
		want     []string
	}{
		{"linux/amd64", []string{"linux/amd64", "linux/386"}},
		{"linux/amd64/v3", []string{"linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"}},
		{"linux/386", []string{"linux/386"}},
		{"linux/arm/v7", []string{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm/v6", []string{"linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm/v5", []string{"linux/arm/v5"}},
		{"linux/arm", []string{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm/v8", []string{"linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm64", []string{"linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/aarch64/v8", []string{"linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm64/v8.2", []string{"linux/arm64/v8.1", "linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/arm64/v9.1", []string{"linux/arm64/v9", "linux/arm64/v8.6", "linux/arm64/v8.1", "linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}},
		{"linux/s390x", []string{"linux/s390x"}},
		{"windows/amd64", []string{"windows/amd64"}},
		{"linux/ppc64le", nil},
	} {
		m := platforms.Only(platforms.MustParse(tc.platform))
		got, rejected := sorted(t, m, candidates())
		if !slices.Equal(got, tc.want) {
			t.Errorf("Only(%s) sorts %v, want %v", tc.platform, got, tc.want)
		}
		if len(got)+len(rejected) != len(candidates()) {
			t.Errorf("Only(%s): %d accepted + %d rejected of %d", tc.platform, len(got), len(rejected), len(candidates()))
		}
	}
}

func TestOnlyStrict(t *testing.T) {
	for _, tc := range []struct {
		platform string
		want     []string
	}{
		{"linux/amd64", []string{"linux/amd64"}},
		{"linux/amd64/v3", []string{"linux/amd64/v3"}},
		{"linux/arm/v7", []string{"linux/arm/v7"}},
		{"linux/aarch64", []string{"linux/arm64"}},
		{"linux/ppc64le", nil},
	} {
		got, _ := sorted(t, platforms.OnlyStrict(platforms.MustParse(tc.platform)), candidates())
		if !slices.Equal(got, tc.want) {
			t.Errorf("OnlyStrict(%s) accepts %v, want %v", tc.platform, got, tc.want)
		}
	}
	// Platforms from an index are matched in whatever spelling they have.
	m := platforms.OnlyStrict(platforms.MustParse("linux/arm64"))
	for _, p := range []ocispec.Platform{
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "aarch64"},
		{OS: "Linux", Architecture: "ARM64", Variant: "8"},
	} {
		if !m.Match(p) {
			t.Errorf("OnlyStrict(linux/arm64).Match(%+v) = false", p)
		}
	}
}

func TestDefault(t *testing.T) {
	host := platforms.DefaultSpec()
	m := platforms.Default()
	if !m.Match(host) {
		t.Fatalf("Default().Match(%+v) = false", host)
	}
	if s := fmt.Sprint(m); s != platforms.DefaultString() {
		t.Errorf("Default() prints as %q, want %q", s, platforms.DefaultString())
	}
	// Default accepts what Only accepts, within the host's architecture.
	only := platforms.Only(host)
	for _, c := range append(candidates(), platforms.DefaultString()) {
		p := platforms.MustParse(c)
		want := only.Match(p) && p.Architecture == host.Architecture
		if got := m.Match(p); got != want {
			t.Errorf("Default().Match(%s) = %v, want %v (host %s)", c, got, want, platforms.DefaultString())
		}
	}
	if host.Architecture == "amd64" && m.Match(platforms.MustParse(host.OS+"/386")) {
		t.Errorf("Default() on an amd64 host accepts 386")
	}
}

func TestAny(t *testing.T) {
	m := platforms.Any(platforms.MustParse("linux/arm64"), platforms.MustParse("linux/amd64"))
	got, _ := sorted(t, m, candidates())
	// No preference: the accepted keep their original order.
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(got, want) {
		t.Errorf("Any(arm64, amd64) sorts %v, want %v", got, want)
	}
	if m.Match(platforms.MustParse("linux/386")) {
		t.Error("Any(arm64, amd64) accepts 386")
	}
	if s := fmt.Sprint(m); s != "linux/arm64 or linux/amd64" {
		t.Errorf("Any prints as %q", s)
	}
	if platforms.Any().Match(platforms.MustParse("linux/amd64")) {
		t.Error("Any() accepts linux/amd64")
	}
}

func TestOrdered(t *testing.T) {
	m := platforms.Ordered(platforms.MustParse("linux/arm64"), platforms.MustParse("linux/amd64"))
	got, _ := sorted(t, m, candidates())
	if want := []string{"linux/arm64", "linux/amd64"}; !slices.Equal(got, want) {
		t.Errorf("Ordered(arm64, amd64) sorts %v, want %v", got, want)
	}
}

func TestAll(t *testing.T) {
	m := platforms.All()
	got, rejected := sorted(t, m, candidates())
	if len(rejected) != 0 || len(got) != len(candidates()) {
		t.Errorf("All() rejects %v", rejected)
	}
	if !m.Match(ocispec.Platform{}) {
		t.Error("All().Match(empty platform) = false")
	}
	if fmt.Sprint(m) != "any platform" {
		t.Errorf("All() prints as %q", fmt.Sprint(m))
	}
}

func TestOSFeatures(t *testing.T) {
	m := platforms.Only(ocispec.Platform{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k", "b"}})
	for _, tc := range []struct {
		features []string
		want     bool
	}{
		{nil, true},
		{[]string{"win32k"}, true},
		{[]string{"b", "win32k"}, true},
		{[]string{"win32k", "win32k"}, true},
		{[]string{"c"}, false},
		{[]string{"b", "c"}, false},
	} {
		p := ocispec.Platform{OS: "windows", Architecture: "amd64", OSFeatures: tc.features}
		if got := m.Match(p); got != tc.want {
			t.Errorf("Only(windows/amd64 +b +win32k).Match(features %v) = %v, want %v", tc.features, got, tc.want)
		}
	}
}

func TestOnlyString(t *testing.T) {
	if s := fmt.Sprint(platforms.Only(ocispec.Platform{OS: "linux", Architecture: "aarch64"})); s != "linux/arm64" {
		t.Errorf("Only(linux/aarch64) prints as %q", s)
	}
	if s := fmt.Sprint(platforms.OnlyStrict(ocispec.Platform{OS: "linux", Architecture: "armhf"})); s != "linux/arm/v7" {
		t.Errorf("OnlyStrict(linux/armhf) prints as %q", s)
	}
}
