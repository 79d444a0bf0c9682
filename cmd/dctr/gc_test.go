package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/daemonless/containerd/internal/testutil"
)

// TestNamespacesVerbs: create with labels, ls (with a namespace used
// without create), label, rm refused while not empty, rm.
func TestNamespacesVerbs(t *testing.T) {
	c := newCLI(t)
	c.ok(nil, "namespaces", "create", "team-a", "owner=a")
	checkFailure(t, c.run(nil, "namespaces", "create", "team-a"), exitFailure, "team-a", "already exists")
	checkFailure(t, c.run(nil, "namespaces", "create", "-bad"), exitUsage, "-bad")
	c.ingest([]byte("held"), "-n", "used", "r1")
	rows := lines(c.ok(nil, "ns", "ls"))
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "NAME") || !strings.Contains(rows[1], "team-a") || !strings.Contains(rows[1], "owner=a") || !strings.HasPrefix(rows[2], "used ") {
		t.Fatalf("dctr ns ls:\n%s", strings.Join(rows, "\n"))
	}
	if got := lines(c.ok(nil, "ns", "ls", "-q")); !slices.Equal(got, []string{"team-a", "used"}) {
		t.Errorf("dctr ns ls -q = %q", got)
	}
	if out := c.ok(nil, "ns", "label", "team-a", "tier=gold", "owner="); out != "tier=gold\n" {
		t.Errorf("dctr ns label = %q; want tier=gold", out)
	}
	checkFailure(t, c.run(nil, "ns", "label", "nobody", "k=v"), exitFailure, "nobody", "not found")

	r := c.run(nil, "ns", "rm", "used", "team-a")
	if r.code != exitFailure || r.stdout != "team-a\n" || !strings.Contains(r.stderr, `"used" is not empty: it holds 1 content record`) {
		t.Fatalf("dctr ns rm used team-a: %v", r)
	}
	c.ok(nil, "-n", "used", "gc")
	if out := c.ok(nil, "ns", "rm", "used"); out != "used\n" {
		t.Errorf("dctr ns rm used = %q", out)
	}
	if out := c.ok(nil, "ns", "ls", "-q"); out != "" {
		t.Errorf("namespaces left: %q", out)
	}
}

// TestLeasesVerbs: create (named, random, never expiring), ls, rm --sync
// collecting what only the lease held.
func TestLeasesVerbs(t *testing.T) {
	c := newCLI(t)
	if out := c.ok(nil, "leases", "create", "--id", "build", "--label", "kind=ci", "--expires", "1h"); out != "build\n" {
		t.Fatalf("dctr leases create --id build = %q", out)
	}
	random := strings.TrimSpace(c.ok(nil, "leases", "create", "--expires", "0"))
	if !regexp.MustCompile(`^[0-9]+-[0-9a-f]+$`).MatchString(random) {
		t.Errorf("random lease id %q", random)
	}
	checkFailure(t, c.run(nil, "leases", "create", "--id", "build"), exitFailure, "build", "already exists")
	checkFailure(t, c.run(nil, "leases", "create", "--id", "a/b"), exitUsage, "a/b")
	rows := lines(c.ok(nil, "leases", "ls"))
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "ID") {
		t.Fatalf("dctr leases ls:\n%s", strings.Join(rows, "\n"))
	}
	byID := map[string]string{}
	for _, row := range rows[1:] {
		byID[strings.Fields(row)[0]] = row
	}
	if row := byID["build"]; !strings.Contains(row, "in 59 minutes") || !strings.Contains(row, "kind=ci") || strings.Contains(row, "gc.expire") {
		t.Errorf("row of lease build: %q", row)
	}
	if row := byID[random]; !strings.Contains(row, " - ") {
		t.Errorf("row of a lease that never expires: %q", row)
	}
	if got := lines(c.ok(nil, "leases", "ls", "-q", "--filter", "labels.kind==ci")); !slices.Equal(got, []string{"build"}) {
		t.Errorf("dctr leases ls -q --filter = %q", got)
	}
	out := c.ok(nil, "leases", "rm", "--sync", "build", random)
	if !strings.HasPrefix(out, "build\n"+random+"\ngc: removed 0 blobs, 0 snapshots, 0 ingests, 0 leases; freed 0 B in ") {
		t.Errorf("dctr leases rm --sync printed:\n%s", out)
	}
	checkFailure(t, c.run(nil, "leases", "rm", "build"), exitFailure, "build", "not found")
}

// TestGCDryRun: dctr gc --dry-run lists what dctr gc then removes.
func TestGCDryRun(t *testing.T) {
	c := newCLI(t)
	d := c.ingest(randomBytes(7, 3000), "loose")
	dry := c.ok(nil, "gc", "--dry-run")
	want := regexp.MustCompile(`(?m)^content +default +` + regexp.QuoteMeta(d.String()) + ` +2.9 KiB$`)
	if !want.MatchString(dry) || !strings.Contains(dry, "would remove 1 blob, 0 snapshots, 0 ingests, 0 leases; would free 2.9 KiB in ") {
		t.Fatalf("dctr gc --dry-run printed:\n%s", dry)
	}
	if got := c.listed(); len(got) != 1 {
		t.Fatalf("a dry run removed the blob: %q", got)
	}
	out := c.ok(nil, "gc")
	if !want.MatchString(out) || !strings.Contains(out, "removed 1 blob, 0 snapshots, 0 ingests, 0 leases; freed 2.9 KiB in ") {
		t.Fatalf("dctr gc printed:\n%s", out)
	}
	if got := c.listed(); len(got) != 0 {
		t.Errorf("blobs after dctr gc: %q", got)
	}
	if out := c.ok(nil, "gc"); !strings.HasPrefix(out, "removed 0 blobs, 0 snapshots, 0 ingests, 0 leases; freed 0 B") {
		t.Errorf("second dctr gc printed:\n%s", out)
	}
}

// TestGCBarEmptyStore is the bar of issue 8: after dctr images rm --sync
// of every image and dctr gc, the root's content and snapshot directories
// hold nothing but their empty structure — directories, the
// snapshotters' metadata databases and the overlay check's marker —: no
// blob, no ingest, no snapshot directory, 0 bytes of regular files
// besides those.
func TestGCBarEmptyStore(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newRemoteCLI(t)
	shared := testutil.Tar(t, testutil.Dir("base/", 0o755), testutil.File("base/f", 0o644, strings.Repeat("s", 20_000)))
	var refs []string
	for i := range 3 {
		img := testutil.TarImage(t, shared, testutil.Tar(t, testutil.File(fmt.Sprint("f", i), 0o644, strings.Repeat("x", 30_000+i))))
		ref := fmt.Sprintf("%s/bar/%d:v1", reg.Host(), i)
		img.Push(t, reg.Host(), fmt.Sprintf("bar/%d", i), "v1")
		refs = append(refs, ref)
	}
	idx := testutil.RandomIndex(t, 2, 50_000)
	idx.Push(t, reg.Host(), "bar/index", "v1")
	refs = append(refs, reg.Host()+"/bar/index:v1")
	for _, ref := range refs[:3] {
		c.ok(nil, "images", "pull", ref)
	}
	c.ok(nil, "images", "pull", "--all-platforms", refs[3])
	c.ok(nil, "-n", "other", "images", "pull", refs[0]) // shared with another namespace
	if n := storeBytes(t, c.root); n < 100_000 {
		t.Fatalf("the store holds %d bytes after the pulls", n)
	}

	out := c.ok(nil, append([]string{"images", "rm", "--sync"}, refs...)...)
	if !strings.HasPrefix(out, strings.Join(refs, "\n")+"\ngc: removed ") {
		t.Fatalf("dctr images rm --sync printed:\n%s", out)
	}
	out = c.ok(nil, "-n", "other", "images", "rm", "--sync", refs[0])
	if !regexp.MustCompile(`gc: removed [1-9][0-9]* blobs, [1-9][0-9]* snapshots, 0 ingests, 0 leases; freed [0-9.]+ KiB`).MatchString(out) {
		t.Fatalf("dctr images rm --sync of the last image printed:\n%s", out)
	}
	if out := c.ok(nil, "gc"); !strings.HasPrefix(out, "removed 0 blobs, 0 snapshots, 0 ingests, 0 leases; freed 0 B") {
		t.Errorf("dctr gc after images rm --sync printed:\n%s", out)
	}
	if n := storeBytes(t, c.root); n != 0 {
		t.Errorf("the store holds %d bytes besides its structure", n)
	}
}

// TestGCBesidePullsInOtherProcesses: dctr gc in a loop, each run its own
// process, beside dctr processes pulling and unpacking images that share
// layers (and deleting some): every pull succeeds, no gc fails, and the
// images pulled last are whole: every blob and every layer's snapshot
// there, nothing left for a last gc to remove but what the deleted
// images held.
func TestGCBesidePullsInOtherProcesses(t *testing.T) {
	reg := testutil.NewRegistry(t)
	c := newRemoteCLI(t)
	shared := testutil.Tar(t, testutil.File("shared", 0o644, strings.Repeat("s", 50_000)))
	var imgs []testutil.Image
	for i := range 4 {
		img := testutil.TarImage(t, shared, testutil.Tar(t, testutil.File("own", 0o644, strings.Repeat(fmt.Sprint(i), 20_000))))
		img.Push(t, reg.Host(), fmt.Sprintf("procs/%d", i), "v1")
		imgs = append(imgs, img)
	}
	done := make(chan struct{})
	gcErrs := make(chan string, 1)
	runs := 0
	go func() {
		defer close(gcErrs)
		for {
			select {
			case <-done:
				return
			default:
			}
			if r := c.run(nil, "gc"); r.code != 0 {
				gcErrs <- r.String()
				return
			}
			runs++
		}
	}()
	pulls := make(chan string, 4*3)
	for i := range imgs {
		go func() {
			ref := fmt.Sprintf("%s/procs/%d:v1", reg.Host(), i)
			for round := range 3 {
				if r := c.run(nil, "images", "pull", ref); r.code != 0 {
					pulls <- r.String()
					continue
				}
				if round < 2 {
					if r := c.run(nil, "images", "rm", ref); r.code != 0 {
						pulls <- r.String()
						continue
					}
				}
				pulls <- ""
			}
		}()
	}
	for range 4 * 3 {
		if failed := <-pulls; failed != "" {
			t.Error(failed)
		}
	}
	close(done)
	if failed := <-gcErrs; failed != "" {
		t.Fatalf("dctr gc beside the pulls: %s", failed)
	}
	if runs < 2 {
		t.Errorf("dctr gc ran %d times beside the pulls", runs)
	}
	t.Logf("dctr gc ran %d times beside 12 pulls", runs)
	blobs := lines(c.ok(nil, "content", "ls", "-q"))
	snaps := lines(c.ok(nil, "snapshots", "ls", "-q"))
	for i, img := range imgs {
		for _, d := range append([]string{img.Manifest.Digest.String(), img.Config.Digest.String()}, img.Layers[0].Digest.String(), img.Layers[1].Digest.String()) {
			if !slices.Contains(blobs, d) {
				t.Errorf("image %d: blob %s missing", i, d)
			}
		}
	}
	if len(snaps) != 5 {
		t.Errorf("snapshots: %q; want the shared layer and each image's own", snaps)
	}
	if out := c.ok(nil, "gc", "--dry-run"); !strings.Contains(out, "would remove 0 blobs, 0 snapshots, 0 ingests, 0 leases") {
		t.Errorf("dctr gc --dry-run after the pulls:\n%s", out)
	}
}

// storeBytes returns the total size of the regular files under the root's
// content and snapshot directories that are not part of an empty store's
// structure (testutil.StoreLeftovers), failing the test on any other
// entry that is not (a blob, an ingest, a snapshot's directory) once that
// size is 0.
func storeBytes(t *testing.T, root string) int64 {
	t.Helper()
	stray, total := testutil.StoreLeftovers(t, root)
	if total == 0 && len(stray) > 0 {
		t.Errorf("the store holds, besides its structure: %q", stray)
	}
	return total
}
