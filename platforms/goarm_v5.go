//go:build arm && !arm.6

package platforms

// goarmVariant is the arm variant this program was built for (GOARM=5).
const goarmVariant = "v5"
