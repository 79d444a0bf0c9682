package platforms_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/platforms"
)

func plat(os, arch, variant string) ocispec.Platform {
	return ocispec.Platform{OS: os, Architecture: arch, Variant: variant}
}

func equal(a, b ocispec.Platform) bool {
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant &&
		a.OSVersion == b.OSVersion && slices.Equal(a.OSFeatures, b.OSFeatures)
}

func TestParse(t *testing.T) {
	host := platforms.DefaultSpec()
	for _, tc := range []struct {
		in   string
		want ocispec.Platform
	}{
		{"linux", plat("linux", host.Architecture, host.Variant)},
		{"Linux", plat("linux", host.Architecture, host.Variant)},
		{"darwin", plat("darwin", host.Architecture, host.Variant)},
		{"macos", plat("darwin", host.Architecture, host.Variant)},
		{"arm64", plat("linux", "arm64", "")},
		{"aarch64", plat("linux", "arm64", "")},
		{"amd64", plat("linux", "amd64", "")},
		{"x86_64", plat("linux", "amd64", "")},
		{"arm", plat("linux", "arm", "v7")},
		{"armhf", plat("linux", "arm", "v7")},
		{"armel", plat("linux", "arm", "v6")},
		{"i386", plat("linux", "386", "")},
		{"s390x", plat("linux", "s390x", "")},
		{"linux/amd64", plat("linux", "amd64", "")},
		{"linux/x86-64", plat("linux", "amd64", "")},
		{"linux/amd64/v1", plat("linux", "amd64", "")},
		{"linux/amd64/v3", plat("linux", "amd64", "v3")},
		{"linux/arm64", plat("linux", "arm64", "")},
		{"linux/arm64/v8", plat("linux", "arm64", "")},
		{"linux/arm64/8", plat("linux", "arm64", "")},
		{"linux/aarch64/v8.0", plat("linux", "arm64", "")},
		{"linux/arm64/v8.2", plat("linux", "arm64", "v8.2")},
		{"linux/arm64/v9.0", plat("linux", "arm64", "v9")},
		{"linux/arm", plat("linux", "arm", "v7")},
		{"linux/arm/v7", plat("linux", "arm", "v7")},
		{"linux/arm/7", plat("linux", "arm", "v7")},
		{"linux/arm/v6", plat("linux", "arm", "v6")},
		{"linux/arm/5", plat("linux", "arm", "v5")},
		{"linux/armhf", plat("linux", "arm", "v7")},
		{"LINUX/ARM64/V8", plat("linux", "arm64", "")},
		{"windows/amd64", plat("windows", "amd64", "")},
		{"linux/ppc64le", plat("linux", "ppc64le", "")},
		// Two and three parts are not checked against known names.
		{"plan10/quantum", plat("plan10", "quantum", "")},
		{"linux/riscv64/rva23u64", plat("linux", "riscv64", "rva23u64")},
	} {
		got, err := platforms.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q) = %v", tc.in, err)
			continue
		}
		if !equal(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"/",
		"linux/",
		"/amd64",
		"linux//v7",
		"linux/arm/v7/",
		"linux/amd64/v3/extra",
		"linux/amd 64",
		"linux/*",
		"*",
		"windows(10.0.17763)/amd64",
		"linux/amd64\n",
		"linux/amd64\x00",
		"linux/ämd64",
		"notanos",
		"x86",
		strings.Repeat("a", 300),
	} {
		p, err := platforms.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, p)
			continue
		}
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("Parse(%q) = %v, want InvalidArgument", in, err)
		}
		if named := fmt.Sprintf("%.40q", in); !strings.Contains(err.Error(), named) {
			t.Errorf("Parse(%q) = %v, want the input named", in, err)
		}
	}
}

func TestParseAll(t *testing.T) {
	got, err := platforms.ParseAll([]string{"linux/amd64", "linux/arm/v7"})
	if err != nil || len(got) != 2 || !equal(got[1], plat("linux", "arm", "v7")) {
		t.Fatalf("ParseAll = %+v, %v", got, err)
	}
	if _, err := platforms.ParseAll([]string{"linux/amd64", "linux//"}); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `"linux//"`) {
		t.Fatalf("ParseAll with a malformed entry = %v, want InvalidArgument naming it", err)
	}
}

func TestMustParse(t *testing.T) {
	if got := platforms.MustParse("linux/arm64"); !equal(got, plat("linux", "arm64", "")) {
		t.Errorf("MustParse(linux/arm64) = %+v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"linux//\") did not panic")
		}
	}()
	platforms.MustParse("linux//")
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   ocispec.Platform
		want string
	}{
		{plat("linux", "amd64", ""), "linux/amd64"},
		{plat("linux", "arm", "v7"), "linux/arm/v7"},
		{plat("linux", "arm64", "v8"), "linux/arm64/v8"}, // Format does not normalise
		{plat("linux", "", ""), "linux"},
		{plat("", "amd64", ""), "unknown/amd64"},
		{ocispec.Platform{}, "unknown"},
		{ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1"}, "windows/amd64"},
	} {
		if got := platforms.Format(tc.in); got != tc.want {
			t.Errorf("Format(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, s := range []string{"linux/amd64", "linux/amd64/v3", "linux/arm/v7", "linux/arm/v6", "linux/arm64", "linux/arm64/v8.2", "windows/amd64", "linux/s390x"} {
		p, err := platforms.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", s, err)
		}
		if got := platforms.Format(p); got != s {
			t.Errorf("Format(Parse(%q)) = %q", s, got)
		}
	}
}

func TestNormalize(t *testing.T) {
	features := []string{"b", "a", "b"}
	for _, tc := range []struct {
		in, want ocispec.Platform
	}{
		{plat("Linux", "X86_64", ""), plat("linux", "amd64", "")},
		{plat("linux", "amd64", "V1"), plat("linux", "amd64", "")},
		{plat("linux", "amd64", "v2"), plat("linux", "amd64", "v2")},
		{plat("linux", "aarch64", "v8"), plat("linux", "arm64", "")},
		{plat("linux", "arm", ""), plat("linux", "arm", "v7")},
		{plat("linux", "arm", "6"), plat("linux", "arm", "v6")},
		{plat("linux", "armhf", ""), plat("linux", "arm", "v7")},
		{plat("linux", "armel", ""), plat("linux", "arm", "v6")},
		{plat("linux", "i686", ""), plat("linux", "386", "")},
		{plat("macos", "arm64", ""), plat("darwin", "arm64", "")},
		{plat("", "", ""), plat("", "", "")},
		{
			ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1", OSFeatures: features},
			ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1", OSFeatures: []string{"a", "b"}},
		},
	} {
		if got := platforms.Normalize(tc.in); !equal(got, tc.want) {
			t.Errorf("Normalize(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if !slices.Equal(features, []string{"b", "a", "b"}) {
		t.Errorf("Normalize changed its argument's OSFeatures to %v", features)
	}
}

func TestDefaultSpec(t *testing.T) {
	got := platforms.DefaultSpec()
	want := platforms.Normalize(plat(runtime.GOOS, runtime.GOARCH, ""))
	if got.OS != want.OS || got.Architecture != want.Architecture {
		t.Errorf("DefaultSpec() = %+v, want %s/%s", got, want.OS, want.Architecture)
	}
	if runtime.GOARCH != "arm" && got.Variant != "" {
		t.Errorf("DefaultSpec() = %+v, want no variant on %s", got, runtime.GOARCH)
	}
	if runtime.GOARCH == "arm" && got.Variant == "" {
		t.Errorf("DefaultSpec() = %+v, want the GOARM variant", got)
	}
	if s := platforms.DefaultString(); s != platforms.Format(got) {
		t.Errorf("DefaultString() = %q, want %q", s, platforms.Format(got))
	}
	if p, err := platforms.Parse(platforms.DefaultString()); err != nil || !equal(p, got) {
		t.Errorf("Parse(DefaultString()) = %+v, %v; want %+v", p, err, got)
	}
}
