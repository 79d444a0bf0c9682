package platforms

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxSpecifierLength bounds the text Parse accepts, in bytes.
const maxSpecifierLength = 256

// Parse reads a platform written os, arch, os/arch or os/arch/variant
// (see the package documentation) and returns it normalised. Malformed
// text and a lone word that is neither a known operating system nor a
// known architecture are InvalidArgument errors naming the input.
func Parse(s string) (ocispec.Platform, error) {
	if s == "" {
		return ocispec.Platform{}, fmt.Errorf("platform %q: empty: %w", s, errdefs.ErrInvalidArgument)
	}
	if len(s) > maxSpecifierLength {
		return ocispec.Platform{}, fmt.Errorf("platform %.40q...: longer than %d bytes: %w", s, maxSpecifierLength, errdefs.ErrInvalidArgument)
	}
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return ocispec.Platform{}, fmt.Errorf("platform %q: more parts than os/arch/variant: %w", s, errdefs.ErrInvalidArgument)
	}
	for _, part := range parts {
		if part == "" {
			return ocispec.Platform{}, fmt.Errorf("platform %q: empty part: %w", s, errdefs.ErrInvalidArgument)
		}
		if c, ok := badChar(part); ok {
			return ocispec.Platform{}, fmt.Errorf("platform %q: character %q: only letters, digits, '.', '_' and '-' are allowed: %w", s, c, errdefs.ErrInvalidArgument)
		}
	}
	switch len(parts) {
	case 1:
		word := strings.ToLower(parts[0])
		if os := normalizeOS(word); isKnownOS(os) {
			host := DefaultSpec()
			return Normalize(ocispec.Platform{OS: os, Architecture: host.Architecture, Variant: host.Variant}), nil
		}
		arch, variant := normalizeArch(word, "")
		if isKnownArch(arch) {
			return Normalize(ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}), nil
		}
		return ocispec.Platform{}, fmt.Errorf("platform %q: neither a known operating system nor a known architecture: %w", s, errdefs.ErrInvalidArgument)
	case 2:
		return Normalize(ocispec.Platform{OS: parts[0], Architecture: parts[1]}), nil
	default:
		return Normalize(ocispec.Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}), nil
	}
}

// ParseAll parses each of ss with Parse, in order, and fails on the first
// that does not parse.
func ParseAll(ss []string) ([]ocispec.Platform, error) {
	ps := make([]ocispec.Platform, 0, len(ss))
	for _, s := range ss {
		p, err := Parse(s)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// MustParse is Parse for constants: it panics when s does not parse.
func MustParse(s string) ocispec.Platform {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Format writes p as os/arch/variant, leaving out an empty architecture or
// variant ("linux/amd64", "linux/arm/v7"). An empty operating system is
// written "unknown". Format does not normalise p; OS version and features
// are not written.
func Format(p ocispec.Platform) string {
	s := p.OS
	if s == "" {
		s = "unknown"
	}
	if p.Architecture != "" {
		s += "/" + p.Architecture
	}
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Normalize returns p in canonical spelling, as the package documentation
// describes. Empty fields stay empty; p's OSFeatures slice is not
// modified.
func Normalize(p ocispec.Platform) ocispec.Platform {
	p.OS = normalizeOS(strings.ToLower(p.OS))
	p.Architecture, p.Variant = normalizeArch(strings.ToLower(p.Architecture), strings.ToLower(p.Variant))
	if len(p.OSFeatures) > 0 {
		p.OSFeatures = slices.Compact(slices.Sorted(slices.Values(p.OSFeatures)))
	}
	return p
}

// DefaultSpec returns the platform this program runs on: runtime.GOOS and
// runtime.GOARCH, and for 32-bit arm the variant the program was built for
// (GOARM). It is normalised.
func DefaultSpec() ocispec.Platform {
	return Normalize(ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH, Variant: goarmVariant})
}

// DefaultString returns Format(DefaultSpec()).
func DefaultString() string {
	return Format(DefaultSpec())
}

func normalizeOS(os string) string {
	if os == "macos" {
		return "darwin"
	}
	return os
}

// normalizeArch takes a lower-cased architecture and variant.
func normalizeArch(arch, variant string) (string, string) {
	switch arch {
	case "i386", "i686":
		return "386", variant
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "v9.0":
			variant = "v9"
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "":
			variant = "v7"
		case "5", "6", "7", "8":
			variant = "v" + variant
		}
		return "arm", variant
	}
	return arch, variant
}

// badChar returns the first character of part outside [A-Za-z0-9._-].
func badChar(part string) (rune, bool) {
	for _, c := range part {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return c, true
		}
	}
	return 0, false
}

// isKnownOS reports whether os is a GOOS value (go tool dist list).
func isKnownOS(os string) bool {
	switch os {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
		"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos":
		return true
	}
	return false
}

// isKnownArch reports whether arch, normalised, is a GOARCH value.
func isKnownArch(arch string) bool {
	switch arch {
	case "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64",
		"mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le",
		"ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm":
		return true
	}
	return false
}
