//go:build arm.6 && !arm.7

package platforms

// goarmVariant is the arm variant this program was built for (GOARM=6).
const goarmVariant = "v6"
