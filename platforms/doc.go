// Package platforms provides the parsing, formatting and matching of the
// platforms an image is built for: an operating system, an architecture
// and, for some architectures, a variant ("linux/arm64", "linux/arm/v7").
//
// Platforms are values of the OCI image-spec type ocispec.Platform. This
// package does no I/O: choosing a manifest from an index with a matcher
// is the job of package images.
//
// # Syntax
//
// A platform is written os, arch, os/arch or os/arch/variant. Each part is
// made of letters, digits, '.', '_' and '-'. A lone word that names a known
// operating system takes the host's architecture ("linux" on an arm64 host
// is linux/arm64); a lone word that names a known architecture runs on
// linux ("arm64" is linux/arm64). Windows' os(version) form is not
// supported.
//
// # Normalisation
//
// [Parse] and [Normalize] bring a platform to one canonical spelling, and
// matchers compare canonical spellings, so "linux/aarch64" matches an index
// entry "linux/arm64/v8":
//
//	given                 canonical
//	x86_64, x86-64        amd64 (variant v1 dropped)
//	aarch64, arm64/v8     arm64 (variant v8 or v8.0 dropped)
//	armhf, arm            arm/v7
//	armel                 arm/v6
//	i386, i686            386
//	macos                 darwin
//
// Names are lower-cased and OS features are sorted, without duplicates.
//
// # Matching
//
// A [Matcher] says whether a platform is acceptable; a [MatchComparer]
// also ranks acceptable platforms, best first, so that a caller choosing
// from an index can sort the entries and take the first. [Only] accepts a
// platform and those its machine also runs: older variants of the same
// architecture (amd64/v3 runs v2 and v1, arm/v7 runs v6 and v5), arm64
// runs 32-bit arm down to v5, and amd64 runs 386, as in containerd.
// [Default] is the host's platform with older variants of the host's own
// architecture only: an amd64 host chooses amd64 and never 386.
// [OnlyStrict] accepts its platform alone, [Any] any of several with no
// preference, [Ordered] any of several in the order given, and [All]
// everything.
//
// OS features of a platform being matched must all be among those of the
// matcher's platform; the OS version is not compared.
//
// The matchers of this package also implement fmt.Stringer, naming what
// they accept ("linux/arm64"), so that error messages can say what was
// asked for.
package platforms
