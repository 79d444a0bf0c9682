package testutil

import (
	"debug/elf"
	"fmt"
	"os"
	"testing"
)

// BusyboxPath is where Debian's busybox-static installs a static busybox.
const BusyboxPath = "/bin/busybox"

// BusyboxApplets are the links to busybox a busybox test image holds in
// /bin.
var BusyboxApplets = []string{"sh", "echo", "true", "false", "sleep", "cat", "id", "ls", "kill", "env", "pwd", "hostname", "touch", "wc"}

// staticBusybox returns the host's static busybox, or why it has none.
func staticBusybox() ([]byte, error) {
	f, err := elf.Open(BusyboxPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked", BusyboxPath)
		}
	}
	return os.ReadFile(BusyboxPath)
}

// RequiresContainers skips the test unless it can run containers: root,
// and a static busybox at BusyboxPath to build test images from.
func RequiresContainers(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containers: run the tests as root (CI does)")
	}
	if _, err := staticBusybox(); err != nil {
		t.Skipf("needs a static busybox (Debian: busybox-static): %v", err)
	}
}

// BusyboxLayer returns the entries of a base layer holding the host's
// static busybox as /bin/busybox with BusyboxApplets linked to it, the
// directories a container mounts over, and an /etc/passwd and /etc/group
// with root, an "app" user (1000:1000, also in group "extra", 2000) and
// nobody.
func BusyboxLayer(t testing.TB) []Entry {
	t.Helper()
	bb, err := staticBusybox()
	if err != nil {
		t.Skipf("needs a static busybox (Debian: busybox-static): %v", err)
	}
	entries := []Entry{
		Dir("bin/", 0o755),
		{Header: File("bin/busybox", 0o755, "").Header, Body: bb},
	}
	for _, a := range BusyboxApplets {
		entries = append(entries, Symlink("bin/"+a, "busybox"))
	}
	for _, d := range []string{"dev/", "proc/", "sys/", "run/", "etc/", "home/", "home/app/"} {
		entries = append(entries, Dir(d, 0o755))
	}
	entries = append(entries,
		Dir("tmp/", 0o1777),
		File("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
		File("etc/group", 0o644, "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n"),
		File("etc/motd", 0o644, "hello from a busybox container\n"),
	)
	return entries
}

// BusyboxImage returns an image of BusyboxLayer whose command is
// /bin/sh.
func BusyboxImage(t testing.TB) Image {
	t.Helper()
	return LayerImage(t, BusyboxLayer(t))
}
