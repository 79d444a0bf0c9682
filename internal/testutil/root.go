package testutil

import (
	"os"
	"strings"
	"testing"
)

// RequiresRoot skips the test unless it runs with effective user id 0.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: run as root (CI does)")
	}
}

// MountsBelow lists the mount points at or below dir, as this thread's
// mount namespace has them.
func MountsBelow(t testing.TB, dir string) []string {
	t.Helper()
	info, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(info)) {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}
