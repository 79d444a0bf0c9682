//go:build arm.7

package platforms

// goarmVariant is the arm variant this program was built for (GOARM=7).
const goarmVariant = "v7"
