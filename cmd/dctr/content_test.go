package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// lines splits output into its lines, without the final newline.
func lines(out string) []string {
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// ingest runs "dctr content ingest" and checks that it prints want.
func (c *cli) ingest(data []byte, args ...string) digest.Digest {
	c.t.Helper()
	want := digest.FromBytes(data)
	out := c.ok(bytes.NewReader(data), append([]string{"content", "ingest"}, args...)...)
	if out != want.String()+"\n" {
		c.t.Fatalf("dctr content ingest %s = %q; want %q", strings.Join(args, " "), out, want)
	}
	return want
}

// listed returns the digests "dctr content ls -q" prints.
func (c *cli) listed(args ...string) []string {
	c.t.Helper()
	return lines(c.ok(nil, append(args, "content", "ls", "-q")...))
}

// active returns the rows of "dctr content active", header first.
func (c *cli) active(args ...string) [][]string {
	c.t.Helper()
	var rows [][]string
	for _, l := range lines(c.ok(nil, append(args, "content", "active")...)) {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestIngestRoundTrip(t *testing.T) {
	c := newCLI(t)
	data := randomBytes(1, 100_000)
	d := c.ingest(data, "blob-1")

	if got := c.listed(); len(got) != 1 || got[0] != d.String() {
		t.Errorf("dctr content ls -q = %q; want [%s]", got, d)
	}
	ls := lines(c.ok(nil, "content", "ls"))
	if len(ls) != 2 || strings.Join(strings.Fields(ls[0]), " ") != "DIGEST SIZE AGE LABELS" {
		t.Fatalf("dctr content ls = %q; want a header and one row", ls)
	}
	if f := strings.Fields(ls[1]); f[0] != d.String() || f[1]+" "+f[2] != "97.7 KiB" || f[len(f)-1] != "-" {
		t.Errorf("dctr content ls row = %q; want %s, 97.7 KiB, an age, no labels", ls[1], d)
	}

	if got := c.ok(nil, "content", "get", d.String()); got != string(data) {
		t.Errorf("dctr content get %s: %d bytes, different from the %d ingested", d, len(got), len(data))
	}

	out := c.ok(nil, "content", "path", d.String())
	p, ok := strings.CutPrefix(strings.TrimSuffix(out, "\n"), d.String()+" ")
	if !ok {
		t.Fatalf("dctr content path %s = %q; want \"DIGEST PATH\"", d, out)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile(%q) = %d bytes, %v; want the %d bytes ingested", p, len(got), err, len(data))
	}
	pq := strings.TrimSuffix(c.ok(nil, "content", "path", "-q", d.String()), "\n")
	if pq != p {
		t.Errorf("dctr content path -q %s = %q; want %q", d, pq, p)
	}
	if got, err := os.ReadFile(pq); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadFile(%q) = %d bytes, %v; want the %d bytes ingested", pq, len(got), err, len(data))
	}

	// Ingesting a blob the namespace holds is success, with or without
	// the expected digest, and leaves no ingest behind.
	c.ingest(data, "blob-2")
	c.ingest(data, "--expected-digest", d.String(), "blob-3")
	c.ingest(data, "--expected-digest", d.String(), "--expected-size", "100000", "blob-4")
	if rows := c.active(); len(rows) != 1 {
		t.Errorf("dctr content active = %q; want only the header", rows)
	}
	if got := c.listed(); len(got) != 1 {
		t.Errorf("dctr content ls -q = %q; want one blob", got)
	}

	// An empty blob is a blob too.
	e := c.ingest(nil, "empty")
	if got := c.ok(nil, "content", "get", e.String()); got != "" {
		t.Errorf("dctr content get %s = %q; want nothing", e, got)
	}
}

func TestIngestDigestMismatch(t *testing.T) {
	c := newCLI(t)
	data := randomBytes(2, 5000)
	wrong := digest.FromString("something else")
	r := c.run(bytes.NewReader(data), "content", "ingest", "--expected-digest", wrong.String(), "ref")
	checkFailure(t, r, exitFailure, wrong.String(), digest.FromBytes(data).String())
	if got := c.listed(); len(got) != 0 {
		t.Errorf("dctr content ls -q = %q after a failed ingest; want nothing", got)
	}
	if rows := c.active(); len(rows) != 1 {
		t.Errorf("dctr content active = %q after a failed ingest; want only the header", rows)
	}
}

func TestIngestWrongSize(t *testing.T) {
	c := newCLI(t)
	data := randomBytes(3, 5000)
	r := c.run(bytes.NewReader(data), "content", "ingest", "--expected-size", "4000", "ref")
	checkFailure(t, r, exitFailure, "4000")
	if got := c.listed(); len(got) != 0 {
		t.Errorf("dctr content ls -q = %q after a failed ingest; want nothing", got)
	}
	if rows := c.active(); len(rows) != 1 {
		t.Errorf("dctr content active = %q after a failed ingest; want only the header", rows)
	}
	r = c.run(bytes.NewReader(data), "content", "ingest", "--expected-size", "-1", "ref")
	checkFailure(t, r, exitFailure, "--expected-size -1")
}

func TestIngestResume(t *testing.T) {
	data := randomBytes(4, 3<<20)
	half := data[:len(data)/2]
	size := "3145728"
	for _, input := range []string{"pipe", "file"} {
		t.Run(input, func(t *testing.T) {
			c := newCLI(t)
			r := c.run(bytes.NewReader(half), "content", "ingest", "--expected-size", size, "layer")
			checkFailure(t, r, exitFailure, "short")
			rows := c.active()
			if len(rows) != 2 || rows[1][0] != "layer" || rows[1][1] != "1572864" || rows[1][2] != size {
				t.Fatalf("dctr content active = %q; want the ingest \"layer\" at 1572864 of %s", rows, size)
			}
			if rows[0][0] != "REF" || rows[0][1] != "OFFSET" || rows[0][2] != "TOTAL" {
				t.Errorf("dctr content active header = %q; want REF OFFSET TOTAL STARTED UPDATED", rows[0])
			}
			if got := c.listed(); len(got) != 0 {
				t.Errorf("dctr content ls -q = %q with the ingest cut short; want nothing", got)
			}

			var stdin io.Reader = bytes.NewReader(data)
			if input == "file" {
				stdin = writeTemp(t, data)
			}
			d := digest.FromBytes(data)
			out := c.ok(stdin, "content", "ingest", "--expected-size", size, "layer")
			if out != d.String()+"\n" {
				t.Fatalf("dctr content ingest (resumed) = %q; want %s", out, d)
			}
			if got := c.ok(nil, "content", "get", d.String()); got != string(data) {
				t.Errorf("dctr content get %s: %d bytes, different from the %d ingested", d, len(got), len(data))
			}
			if rows := c.active(); len(rows) != 1 {
				t.Errorf("dctr content active = %q after the resumed ingest; want only the header", rows)
			}
		})
	}
}

// TestIngestResumeOtherData resumes an ingest with other data than it
// began with: the blob committed must be the new input, never the old
// bytes with the new ones spliced on.
func TestIngestResumeOtherData(t *testing.T) {
	old := randomBytes(5, 1<<20)
	data := randomBytes(6, 2<<20)
	d := digest.FromBytes(data)
	for _, input := range []string{"pipe", "file"} {
		t.Run(input, func(t *testing.T) {
			c := newCLI(t)
			r := c.run(bytes.NewReader(old), "content", "ingest", "--expected-size", "2097152", "ref")
			checkFailure(t, r, exitFailure, "short")

			if input == "pipe" {
				// The prefix read to compare is gone: the ingest restarts
				// and the command asks to start again.
				r := c.run(bytes.NewReader(data), "content", "ingest", "--expected-size", "2097152", "ref")
				checkFailure(t, r, exitFailure, "differ", "start again")
				if rows := c.active(); len(rows) != 1 {
					t.Errorf("dctr content active = %q after the mismatch; want only the header", rows)
				}
				if got := c.listed(); len(got) != 0 {
					t.Errorf("dctr content ls -q = %q; want nothing", got)
				}
				c.ingest(data, "--expected-size", "2097152", "ref")
			} else {
				out := c.ok(writeTemp(t, data), "content", "ingest", "--expected-size", "2097152", "ref")
				if out != d.String()+"\n" {
					t.Fatalf("dctr content ingest (other data) = %q; want %s", out, d)
				}
			}
			if got := c.ok(nil, "content", "get", d.String()); got != string(data) {
				t.Errorf("dctr content get %s: %d bytes, different from the %d ingested", d, len(got), len(data))
			}
		})
	}
}

// writeTemp returns a file holding data, open for reading at offset 0.
func writeTemp(t *testing.T, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestNamespaces(t *testing.T) {
	c := newCLI(t)
	data := randomBytes(7, 10_000)
	d := c.ingest(data, "-n", "a", "ref")
	if got := c.listed("-n", "b"); len(got) != 0 {
		t.Errorf("dctr -n b content ls -q = %q; want nothing (ingested in a)", got)
	}
	checkFailure(t, c.run(nil, "-n", "b", "content", "get", d.String()), exitFailure, "not found")
	checkFailure(t, c.run(nil, "-n", "b", "content", "path", d.String()), exitFailure, "not found")

	out := c.ok(bytes.NewReader(data), "-n", "b", "content", "ingest", "ref")
	if out != d.String()+"\n" {
		t.Fatalf("dctr -n b content ingest = %q; want %s", out, d)
	}
	for _, ns := range []string{"a", "b"} {
		if got := c.listed("-n", ns); len(got) != 1 || got[0] != d.String() {
			t.Errorf("dctr -n %s content ls -q = %q; want [%s]", ns, got, d)
		}
	}
	pa := c.ok(nil, "-n", "a", "content", "path", "-q", d.String())
	pb := c.ok(nil, "-n", "b", "content", "path", "-q", d.String())
	if pa != pb {
		t.Errorf("dctr content path -q %s = %q in a, %q in b; want the same file", d, pa, pb)
	}
	if got := c.listed(); len(got) != 0 {
		t.Errorf("dctr content ls -q = %q in the default namespace; want nothing", got)
	}

	// Removing it from a leaves b's copy alone.
	c.ok(nil, "-n", "a", "content", "rm", d.String())
	if got := c.ok(nil, "-n", "b", "content", "get", d.String()); got != string(data) {
		t.Errorf("dctr -n b content get %s after rm in a: %d bytes; want the %d ingested", d, len(got), len(data))
	}

	checkFailure(t, c.run(nil, "-n", "bad/name", "content", "ls"), exitFailure, `"bad/name"`)
}

func TestLabels(t *testing.T) {
	c := newCLI(t)
	d := c.ingest([]byte("labelled\n"), "ref").String()
	other := c.ingest([]byte("other\n"), "ref").String()

	if out := c.ok(nil, "content", "label", d, "b=2", "a=1", "c=x,y"); out != "a=1,b=2,c=\"x,y\"\n" {
		t.Errorf("dctr content label %s b=2 a=1 c=x,y = %q; want %q", d, out, "a=1,b=2,c=\"x,y\"\n")
	}
	if out := c.ok(nil, "content", "label", d, "a="); out != "b=2,c=\"x,y\"\n" {
		t.Errorf("dctr content label %s a= = %q; want %q", d, out, "b=2,c=\"x,y\"\n")
	}
	ls := c.ok(nil, "content", "ls")
	for _, row := range lines(ls)[1:] {
		f := strings.Fields(row)
		want := "-"
		if f[0] == d {
			want = "b=2,c=\"x,y\""
		}
		if f[len(f)-1] != want {
			t.Errorf("dctr content ls row %q; want labels %s", row, want)
		}
	}
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{[]string{"labels.b==2"}, []string{d}},
		{[]string{"labels.a"}, nil},
		{[]string{"labels.c==\"x,y\",labels.b"}, []string{d}},
		{[]string{"labels.b==2", "digest==" + other}, sortedPair(d, other)},
	} {
		args := []string{"content", "ls", "-q"}
		for _, f := range tc.filters {
			args = append(args, "--filter", f)
		}
		if got := lines(c.ok(nil, args...)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("dctr %s = %q; want %q", strings.Join(args, " "), got, tc.want)
		}
	}

	if out := c.ok(nil, "content", "label", d, "b=", "c="); out != "-\n" {
		t.Errorf("dctr content label %s b= c= = %q; want \"-\"", d, out)
	}

	checkFailure(t, c.run(nil, "content", "label", d, "novalue"), exitFailure, `"novalue"`, "KEY=VALUE")
	checkFailure(t, c.run(nil, "content", "label", d, "=x"), exitFailure, `"=x"`)
	checkFailure(t, c.run(nil, "content", "ls", "--filter", "labels.=x"), exitFailure, `"labels.=x"`)
	missing := digest.FromString("missing").String()
	checkFailure(t, c.run(nil, "content", "label", missing, "a=1"), exitFailure, missing, "not found")
}

func sortedPair(a, b string) []string {
	if a < b {
		return []string{a, b}
	}
	return []string{b, a}
}

func TestRm(t *testing.T) {
	c := newCLI(t)
	d1 := c.ingest([]byte("one\n"), "ref").String()
	d2 := c.ingest([]byte("two\n"), "ref").String()
	d3 := c.ingest([]byte("three\n"), "ref").String()
	p := strings.TrimSuffix(c.ok(nil, "content", "path", "-q", d1), "\n")

	if out := c.ok(nil, "content", "rm", d1); out != d1+"\n" {
		t.Errorf("dctr content rm %s = %q; want the digest", d1, out)
	}
	checkFailure(t, c.run(nil, "content", "get", d1), exitFailure, d1, "not found")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("Stat(%q) after rm = %v; want the file gone", p, err)
	}

	// Several digests: the command goes on past a failure, one line each.
	r := c.run(nil, "content", "rm", d2, d1, d3)
	if r.code != exitFailure || r.stdout != d2+"\n"+d3+"\n" {
		t.Errorf("%v; want exit 1 with %s and %s removed", r, d2, d3)
	}
	if l := lines(r.stderr); len(l) != 1 || !strings.Contains(l[0], d1) || !strings.Contains(l[0], "not found") {
		t.Errorf("%v; want one stderr line saying %s is not found", r, d1)
	}
	if got := c.listed(); len(got) != 0 {
		t.Errorf("dctr content ls -q = %q after rm; want nothing", got)
	}
}

func TestPathSeveral(t *testing.T) {
	c := newCLI(t)
	d1 := c.ingest([]byte("one\n"), "ref").String()
	d2 := c.ingest([]byte("two\n"), "ref").String()
	missing := digest.FromString("missing").String()
	r := c.run(nil, "content", "path", d1, missing, d2)
	out := lines(r.stdout)
	if r.code != exitFailure || len(out) != 2 || !strings.HasPrefix(out[0], d1+" ") || !strings.HasPrefix(out[1], d2+" ") {
		t.Errorf("%v; want exit 1 and the paths of %s and %s", r, d1, d2)
	}
	if l := lines(r.stderr); len(l) != 1 || !strings.Contains(l[0], missing) {
		t.Errorf("%v; want one stderr line naming %s", r, missing)
	}
}

func TestBadDigests(t *testing.T) {
	c := newCLI(t)
	good := c.ingest([]byte("x"), "ref").String()
	for _, bad := range []string{
		"sha256:../../x",
		"../../etc/passwd",
		"sha256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("a", 63),
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"",
	} {
		for _, args := range [][]string{
			{"content", "get", bad},
			{"content", "path", bad},
			{"content", "rm", bad},
			{"content", "label", bad, "a=b"},
			{"content", "ingest", "--expected-digest", bad + "x", "ref"},
		} {
			r := c.run(strings.NewReader("x"), args...)
			checkFailure(t, r, exitFailure, "digest", "invalid argument")
		}
	}
	// With a bad digest among good ones, nothing is done.
	r := c.run(nil, "content", "rm", good, "sha256:../../x", "nope")
	if r.code != exitFailure || r.stdout != "" || len(lines(r.stderr)) != 2 {
		t.Errorf("%v; want exit 1, nothing removed and two error lines", r)
	}
	if got := c.listed(); len(got) != 1 {
		t.Errorf("dctr content ls -q = %q; want %s still there", got, good)
	}
}

func TestEnvironment(t *testing.T) {
	c := newCLI(t)
	data := []byte("from the environment\n")
	d := digest.FromBytes(data).String()

	env := &cli{t: t, env: []string{"DCTR_ROOT=" + c.root, "DCTR_NAMESPACE=envns"}}
	if out := env.runRaw(bytes.NewReader(data), "content", "ingest", "ref"); out.code != 0 || out.stdout != d+"\n" {
		t.Fatalf("%v; want %s", out, d)
	}
	if got := c.listed("-n", "envns"); len(got) != 1 || got[0] != d {
		t.Errorf("dctr --root ROOT -n envns content ls -q = %q; want [%s] ingested with DCTR_ROOT, DCTR_NAMESPACE", got, d)
	}
	if got := c.listed(); len(got) != 0 {
		t.Errorf("dctr --root ROOT content ls -q = %q; want nothing in the default namespace", got)
	}

	// Flags win over the variables.
	other := t.TempDir()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"content", "ls", "-q"}, 1},
		{[]string{"-n", "default", "content", "ls", "-q"}, 0},
		{[]string{"--root", other, "content", "ls", "-q"}, 0},
		{[]string{"--namespace", "envns", "--root", c.root, "content", "ls", "-q"}, 1},
	} {
		r := env.runRaw(nil, tc.args...)
		if r.code != 0 || len(lines(r.stdout)) != tc.want {
			t.Errorf("%v with DCTR_ROOT, DCTR_NAMESPACE set; want %d blobs", r, tc.want)
		}
	}
}

// TestAbort discards a kept ingest; an unknown ref fails naming it.
func TestAbort(t *testing.T) {
	c := newCLI(t)
	r := c.run(bytes.NewReader(randomBytes(9, 1000)), "content", "ingest", "--expected-size", "5000", "kept")
	checkFailure(t, r, exitFailure, "short")
	if rows := c.active(); len(rows) != 2 {
		t.Fatalf("dctr content active = %q; want the kept ingest", rows)
	}
	if out := c.ok(nil, "content", "abort", "kept"); out != "kept\n" {
		t.Fatalf("dctr content abort kept = %q", out)
	}
	if rows := c.active(); len(rows) != 1 {
		t.Fatalf("dctr content active after abort = %q; want only the header", rows)
	}
	r = c.run(nil, "content", "abort", "missing")
	checkFailure(t, r, exitFailure, `"missing"`, "not found")
}
