package platforms_test

import (
	"fmt"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/platforms"
)

// Parse user input, in any common spelling, into a canonical platform.
func ExampleParse() {
	for _, s := range []string{"linux/aarch64", "linux/armhf", "linux/amd64/v3", "arm64", "linux//"} {
		p, err := platforms.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(platforms.Format(p))
	}
	// Output:
	// linux/arm64
	// linux/arm/v7
	// linux/amd64/v3
	// linux/arm64
	// platform "linux//": empty part: invalid argument
}

// Choose from an index's platforms: sort them by the matcher, best first,
// and take the first one it accepts.
func ExampleOnly() {
	index := []ocispec.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm", Variant: "v6"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
	}
	m := platforms.Only(platforms.MustParse("linux/arm/v8"))
	slices.SortStableFunc(index, func(a, b ocispec.Platform) int {
		switch {
		case m.Less(a, b):
			return -1
		case m.Less(b, a):
			return 1
		}
		return 0
	})
	for _, p := range index {
		fmt.Println(platforms.Format(p), m.Match(p))
	}
	// Output:
	// linux/arm/v7 true
	// linux/arm/v6 true
	// linux/amd64 false
	// linux/arm64/v8 false
}
