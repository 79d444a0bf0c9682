//go:build !arm

package platforms

// goarmVariant is the arm variant this program was built for; empty on
// other architectures.
const goarmVariant = ""
