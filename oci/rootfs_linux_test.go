package oci

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenInRootResolvers checks both resolvers, openat2 and the
// securejoin fallback, against links leading out of the root.
func TestOpenInRootResolvers(t *testing.T) {
	host := t.TempDir()
	hostFile := filepath.Join(host, "secret")
	os.WriteFile(hostFile, []byte("host"), 0o644)

	root := t.TempDir()
	writeFiles(t, root, map[string]string{"etc/real": "inside", hostFile: "image copy"})
	for name, target := range map[string]string{
		"etc/abs":     hostFile,
		"etc/up":      strings.Repeat("../", 30) + hostFile[1:],
		"etc/rel":     "real",
		"etc/absreal": "/etc/real",
		"etc/gone":    "/no/such/file",
		"etc/hostdir": host,
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for resolver, open := range map[string]func(root, rel string) (int, error){
		"openat2":    openat2InRoot,
		"securejoin": openJoinedInRoot,
	} {
		for _, tc := range []struct {
			rel, want string
		}{
			{"etc/real", "inside"},
			{"etc/rel", "inside"},
			{"etc/absreal", "inside"},
			{"etc/abs", "image copy"},
			{"etc/up", "image copy"},
			{"etc/hostdir/secret", "image copy"},
			{"../../../../" + hostFile[1:], "image copy"},
			{"etc/gone", ""},
		} {
			fd, err := open(root, tc.rel)
			if err == unix.ENOSYS {
				t.Skipf("%s: not supported by this kernel", resolver)
			}
			if tc.want == "" {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s(%s) = %v, want not exist", resolver, tc.rel, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s(%s) = %v", resolver, tc.rel, err)
				continue
			}
			got, err := os.ReadFile(filepath.Join("/proc/self/fd", strconv.Itoa(fd)))
			unix.Close(fd)
			if err != nil || string(got) != tc.want {
				t.Errorf("%s(%s) read %q, %v; want %q", resolver, tc.rel, got, err, tc.want)
			}
		}
	}
}
