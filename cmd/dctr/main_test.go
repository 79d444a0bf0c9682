package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dctrBin is the dctr binary TestMain builds for the end-to-end tests,
// and testDir the directory holding it, removed after the run.
var dctrBin, testDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dctr-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dctr tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	testDir = dir
	dctrBin = filepath.Join(dir, "dctr")
	build := exec.Command("go", "build", "-o", dctrBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "dctr tests: go build -o %s . = %v\n%s", dctrBin, err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of the dctr binary did.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("dctr %s = exit %d, stdout %q, stderr %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cli runs the dctr binary on a root of its own.
type cli struct {
	t    testing.TB
	root string
	env  []string // added to an environment cleaned of DCTR_* variables
}

func newCLI(t testing.TB) *cli {
	return &cli{t: t, root: t.TempDir()}
}

// run runs dctr --root ROOT args... with stdin as its standard input: a
// pipe for most readers, the file itself for an *os.File.
func (c *cli) run(stdin io.Reader, args ...string) result {
	c.t.Helper()
	return c.runRaw(stdin, append([]string{"--root", c.root}, args...)...)
}

// runRaw runs dctr args... without adding --root.
func (c *cli) runRaw(stdin io.Reader, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(dctrBin, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = c.environ()
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		c.t.Fatalf("run dctr %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// environ is the environment dctr runs with: the test's, cleaned of
// DCTR_* variables, and c.env.
func (c *cli) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DCTR_") {
			env = append(env, kv)
		}
	}
	return append(env, c.env...)
}

// ok runs dctr like run, fails the test unless it succeeds quietly, and
// returns its standard output.
func (c *cli) ok(stdin io.Reader, args ...string) string {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != 0 || r.stderr != "" {
		c.t.Fatalf("%v; want exit 0 and no error", r)
	}
	return r.stdout
}

// checkFailure checks that r exited with code, printing nothing on
// standard output and one line on standard error that starts with
// "dctr: " and contains each of want.
func checkFailure(t testing.TB, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%v; want exit %d", r, code)
	}
	if r.stdout != "" {
		t.Errorf("%v; want nothing on stdout", r)
	}
	if lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "dctr: ") || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("%v; want one line \"dctr: ...\" on stderr", r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%v; want stderr to contain %q", r, w)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	c := newCLI(t)
	const d = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"content", "bogus"}, `unknown command "bogus"`},
		{[]string{"--bogus", "content", "ls"}, "--bogus"},
		{[]string{"content", "ls", "--bogus"}, "content ls: unknown flag: --bogus"},
		{[]string{"content", "ls", "extra"}, "content ls: takes no arguments"},
		{[]string{"content", "active", "extra"}, "content active: takes no arguments"},
		{[]string{"content", "ingest"}, "content ingest: wants exactly 1 argument (REF), got 0"},
		{[]string{"content", "ingest", "a", "b"}, "got 2"},
		{[]string{"content", "ingest", "--expected-size", "many", "a"}, "--expected-size"},
		{[]string{"content", "get"}, "content get: wants exactly 1 argument (DIGEST), got 0"},
		{[]string{"content", "get", d, d}, "got 2"},
		{[]string{"content", "path"}, "content path: wants at least 1 argument"},
		{[]string{"content", "rm"}, "content rm: wants at least 1 argument"},
		{[]string{"content", "label", d}, "content label: wants at least 2 arguments (DIGEST KEY=VALUE...), got 1"},
		{[]string{"-n"}, "-n"},
	} {
		r := c.run(nil, tc.args...)
		checkFailure(t, r, exitUsage, tc.want)
	}
}

func TestHelp(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{}, {"content"}, {"--help"}, {"content", "ls", "--help"}} {
		out := c.ok(nil, args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("dctr %s = %q; want help with \"Usage:\"", strings.Join(args, " "), out)
		}
	}
}
