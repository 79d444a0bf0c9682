package platforms

import (
	"slices"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Matcher says whether a platform is acceptable.
type Matcher interface {
	// Match reports whether p is acceptable. p need not be normalised.
	Match(p ocispec.Platform) bool
}

// MatchComparer is a Matcher that also ranks platforms, best first.
type MatchComparer interface {
	Matcher
	// Less reports whether a is preferred to b. An acceptable platform is
	// preferred to one that is not; two platforms that are not acceptable
	// are equal. Less is a strict weak order, fit for a stable sort.
	Less(a, b ocispec.Platform) bool
}

// Only accepts p and the platforms p's machine also runs, preferring p,
// then newer variants to older ones:
//
//   - amd64/vN also accepts amd64/vN-1 down to amd64 (v1), then 386;
//   - arm/vN accepts arm/vN-1 down to arm/v5;
//   - arm64/v8.N accepts arm64/v8.N-1 down to arm64 (v8); arm64/v9.N
//     accepts arm64/v9.N-1 down to arm64/v9, then arm64/v8.N+5 and below;
//     any arm64 then accepts arm/v8 down to arm/v5.
//
// p is normalised first.
func Only(p ocispec.Platform) MatchComparer {
	p = Normalize(p)
	return ordered{name: Format(p), ps: compatible(p)}
}

// OnlyStrict accepts p alone (normalised; see the package documentation).
func OnlyStrict(p ocispec.Platform) MatchComparer {
	p = Normalize(p)
	return ordered{name: Format(p), ps: []ocispec.Platform{p}}
}

// Default is the host's platform (see DefaultSpec) with the older variants
// of the host's own architecture, best first: an arm/v7 host also accepts
// arm/v6 and arm/v5. Unlike Only, it never crosses to another
// architecture: an amd64 host does not accept 386, an arm64 host not arm.
func Default() MatchComparer {
	host := DefaultSpec()
	var ps []ocispec.Platform
	for _, p := range compatible(host) {
		if p.Architecture == host.Architecture {
			ps = append(ps, p)
		}
	}
	return ordered{name: Format(host), ps: ps}
}

// Any accepts any of ps, each strictly as OnlyStrict does, with no
// preference among them.
func Any(ps ...ocispec.Platform) MatchComparer {
	return anyOf{ordered: newOrdered(ps)}
}

// Ordered accepts any of ps, each strictly as OnlyStrict does, preferring
// them in the order given.
func Ordered(ps ...ocispec.Platform) MatchComparer {
	return newOrdered(ps)
}

// All accepts every platform, with no preference.
func All() MatchComparer {
	return all{}
}

// ordered accepts its platforms, ranked by position.
type ordered struct {
	name string
	ps   []ocispec.Platform // normalised
}

func newOrdered(ps []ocispec.Platform) ordered {
	o := ordered{ps: make([]ocispec.Platform, len(ps))}
	names := make([]string, len(ps))
	for i, p := range ps {
		o.ps[i] = Normalize(p)
		names[i] = Format(o.ps[i])
	}
	o.name = strings.Join(names, " or ")
	if len(ps) == 0 {
		o.name = "no platform"
	}
	return o
}

// rank is the position of the first of o's platforms that accepts p, or
// len(o.ps) when none does.
func (o ordered) rank(p ocispec.Platform) int {
	p = Normalize(p)
	for i, q := range o.ps {
		if same(q, p) {
			return i
		}
	}
	return len(o.ps)
}

func (o ordered) Match(p ocispec.Platform) bool { return o.rank(p) < len(o.ps) }

func (o ordered) Less(a, b ocispec.Platform) bool { return o.rank(a) < o.rank(b) }

// String names the platform or platforms o accepts.
func (o ordered) String() string { return o.name }

// anyOf accepts its platforms without preference.
type anyOf struct{ ordered }

func (a anyOf) Less(x, y ocispec.Platform) bool { return a.Match(x) && !a.Match(y) }

type all struct{}

func (all) Match(ocispec.Platform) bool { return true }

func (all) Less(a, b ocispec.Platform) bool { return false }

// String says that every platform is accepted.
func (all) String() string { return "any platform" }

// same reports whether the normalised platform want accepts the
// normalised platform p: the same OS, architecture and variant, and OS
// features that want has too.
func same(want, p ocispec.Platform) bool {
	if want.OS != p.OS || want.Architecture != p.Architecture || want.Variant != p.Variant {
		return false
	}
	for _, f := range p.OSFeatures {
		if _, found := slices.BinarySearch(want.OSFeatures, f); !found {
			return false
		}
	}
	return true
}

// compatible lists the normalised platform p and those p's machine also
// runs, best first, as Only documents.
func compatible(p ocispec.Platform) []ocispec.Platform {
	ps := []ocispec.Platform{p}
	with := func(arch, variant string) {
		q := p
		q.Architecture, q.Variant = arch, variant
		ps = append(ps, q)
	}
	switch p.Architecture {
	case "amd64":
		level := 1
		if p.Variant != "" {
			level = versionNumber(p.Variant)
		}
		for v := level - 1; v >= 1; v-- {
			with("amd64", amd64Variant(v))
		}
		with("386", "")
	case "arm":
		for v := versionNumber(p.Variant) - 1; v >= 5; v-- {
			with("arm", "v"+strconv.Itoa(v))
		}
	case "arm64":
		major, minor, ok := arm64Version(p.Variant)
		if !ok {
			break
		}
		if major == 9 {
			for m := minor - 1; m >= 0; m-- {
				with("arm64", arm64Variant(9, m))
			}
			// Armv9.N has the features of Armv8.N+5.
			major, minor = 8, minor+6
		}
		for m := minor - 1; m >= 0; m-- {
			with("arm64", arm64Variant(8, m))
		}
		for v := 8; v >= 5; v-- {
			with("arm", "v"+strconv.Itoa(v))
		}
	}
	return ps
}

// versionNumber reads "vN" as N, and anything else as 0.
func versionNumber(variant string) int {
	digits, ok := strings.CutPrefix(variant, "v")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n > 99 {
		return 0
	}
	return n
}

func amd64Variant(level int) string {
	if level == 1 {
		return ""
	}
	return "v" + strconv.Itoa(level)
}

// arm64Version reads a normalised arm64 variant: "" is 8.0, "v8.N" is 8.N,
// "v9" is 9.0 and "v9.N" is 9.N.
func arm64Version(variant string) (major, minor int, ok bool) {
	if variant == "" {
		return 8, 0, true
	}
	rest, ok := strings.CutPrefix(variant, "v")
	if !ok {
		return 0, 0, false
	}
	maj, min, hasMinor := strings.Cut(rest, ".")
	major, err := strconv.Atoi(maj)
	if err != nil || (major != 8 && major != 9) {
		return 0, 0, false
	}
	if hasMinor {
		minor, err = strconv.Atoi(min)
		if err != nil || minor < 0 || minor > 9 {
			return 0, 0, false
		}
	}
	return major, minor, true
}

// arm64Variant writes the normalised variant of Armv major.minor.
func arm64Variant(major, minor int) string {
	switch {
	case major == 8 && minor == 0:
		return ""
	case minor == 0:
		return "v" + strconv.Itoa(major)
	}
	return "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor)
}
