package testutil

import (
	"os"
	"testing"
)

// RequiresRoot skips the test unless it runs with effective user id 0.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: run as root (CI does)")
	}
}
