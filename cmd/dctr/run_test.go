package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
)

// runEnv is a CLI for running containers: a root, a state directory and a
// namespace of its own (so the tasks' cgroups, /dctr/NAMESPACE/ID, are its
// own too), and a busybox image at img in a registry of its own.
type runEnv struct {
	*cli
	state string
	ns    string
	img   string
}

var runEnvs atomic.Int64

// newRunEnv makes a runEnv and, if pull, pulls its image. When the test
// ends it checks that nothing is left mounted under the state directory
// or the root, no task's cgroup is left, and no task or container, then
// removes whatever is left so that the directories can go.
func newRunEnv(t *testing.T, pull bool) *runEnv {
	t.Helper()
	testutil.RequiresContainers(t)
	reg := testutil.NewRegistry(t)
	testutil.BusyboxImage(t).Push(t, reg.Host(), "test/busybox", "v1")
	c := newRemoteCLI(t)
	e := &runEnv{
		cli:   c,
		state: t.TempDir(),
		ns:    fmt.Sprintf("dctr-test-%d-%d", os.Getpid(), runEnvs.Add(1)),
		img:   reg.Host() + "/test/busybox:v1",
	}
	c.env = append(c.env, "DCTR_STATE="+e.state, "DCTR_NAMESPACE="+e.ns)
	t.Cleanup(func() { e.checkClean(t) })
	if pull {
		c.ok(nil, "images", "pull", e.img)
	}
	return e
}

// checkClean fails the test if anything of a task or container is left,
// then removes it.
func (e *runEnv) checkClean(t *testing.T) {
	if ids := lines(e.ok(nil, "tasks", "ls", "-q")); len(ids) > 0 {
		t.Errorf("tasks left: %q", ids)
		for _, id := range ids {
			e.run(nil, "tasks", "rm", "-f", id)
		}
	}
	if ids := lines(e.ok(nil, "containers", "ls", "-q")); len(ids) > 0 {
		t.Errorf("containers left: %q", ids)
		for _, id := range ids {
			e.run(nil, "containers", "rm", id)
		}
	}
	for _, dir := range []string{e.state, e.root} {
		if m := testutil.MountsBelow(t, dir); len(m) > 0 {
			t.Errorf("mounts left under %s: %q", dir, m)
		}
	}
	// The namespace's cgroups must be empty of tasks; the namespace's own
	// cgroup is the library's to keep, the test's to remove.
	nsCgroups, _ := filepath.Glob("/sys/fs/cgroup/*/dctr/" + e.ns)
	if v2, err := os.Stat("/sys/fs/cgroup/dctr/" + e.ns); err == nil && v2.IsDir() {
		nsCgroups = append(nsCgroups, "/sys/fs/cgroup/dctr/"+e.ns)
	}
	for _, dir := range nsCgroups {
		entries, _ := os.ReadDir(dir)
		for _, ent := range entries {
			if ent.IsDir() {
				t.Errorf("cgroup left: %s", filepath.Join(dir, ent.Name()))
				os.Remove(filepath.Join(dir, ent.Name()))
			}
		}
		os.Remove(dir)
	}
}

// noContainers fails the test unless the namespace has no container and
// no snapshot but the image's.
func (e *runEnv) noContainers(t *testing.T, after string) {
	t.Helper()
	if ids := e.ok(nil, "containers", "ls", "-q"); ids != "" {
		t.Errorf("after %s: containers %q; want none", after, ids)
	}
	if keys := lines(e.ok(nil, "snapshots", "ls", "-q")); len(keys) > 1 {
		t.Errorf("after %s: snapshots %q; want only the image's layer", after, keys)
	}
}

// taskRow returns the fields of the tasks ls row of id, nil if it has
// none.
func (e *runEnv) taskRow(id string) []string {
	for _, row := range lines(e.ok(nil, "tasks", "ls"))[1:] {
		if f := strings.Fields(row); len(f) == 3 && f[0] == id {
			return f
		}
	}
	return nil
}

// waitStatus polls tasks ls until the task id has the status want.
func (e *runEnv) waitStatus(t *testing.T, id, want string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		row := e.taskRow(id)
		if row != nil && row[2] == want {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: tasks ls row %q; want status %s", id, row, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExited polls tasks ls until the task id is STOPPED, and returns its
// row, or is gone (nil): a stopped task that no process holds (one
// "dctr run -d" started) is removed by the next client that opens the
// root (Client.Cleanup).
func (e *runEnv) waitExited(t *testing.T, id string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		row := e.taskRow(id)
		if row == nil || row[2] == "STOPPED" {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: tasks ls row %q; want it stopped or gone", id, row)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rmExited removes the exited task id with tasks rm, which prints nothing,
// unless a client has removed it already.
func (e *runEnv) rmExited(t *testing.T, id string) {
	t.Helper()
	r := e.run(nil, "tasks", "rm", id)
	if r.code == exitFailure && strings.Contains(r.stderr, "container "+id+" has no task") {
		return
	}
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("%v; want exit 0 and nothing printed", r)
	}
}

// TestRunRm: the command's output and exit status are the container's,
// and --rm leaves nothing behind.
func TestRunRm(t *testing.T) {
	e := newRunEnv(t, true)
	if out := e.ok(nil, "run", "--rm", e.img, "hello", "echo", "hello"); out != "hello\n" {
		t.Errorf("run --rm echo hello printed %q", out)
	}
	e.noContainers(t, "run --rm")

	// Flags stop at IMAGE: -c goes to sh, and so does --rm after the id.
	r := e.run(nil, "run", "--rm", e.img, "code", "sh", "-c", "echo out; echo err >&2; exit 7")
	if r.code != 7 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("%v; want exit 7, out and err", r)
	}
	if out := e.ok(nil, "run", "--rm", e.img, "args", "echo", "--rm", "-d"); out != "--rm -d\n" {
		t.Errorf("run ... echo --rm -d printed %q", out)
	}
	// The image's command, /bin/sh, reads its standard input.
	if out := e.ok(strings.NewReader("echo from stdin\n"), "run", "--rm", e.img, "stdin"); out != "from stdin\n" {
		t.Errorf("run with the image's sh reading stdin printed %q", out)
	}
	e.noContainers(t, "runs with --rm")
}

// TestRunKeepsContainer: without --rm the task is deleted after its exit
// but the container stays, and can be removed.
func TestRunKeepsContainer(t *testing.T) {
	e := newRunEnv(t, true)
	if out := e.ok(nil, "run", e.img, "keep", "echo", "hi"); out != "hi\n" {
		t.Errorf("run echo hi printed %q", out)
	}
	if ids := e.ok(nil, "containers", "ls", "-q"); ids != "keep\n" {
		t.Errorf("containers after run: %q; want keep", ids)
	}
	if ids := e.ok(nil, "tasks", "ls", "-q"); ids != "" {
		t.Errorf("tasks after run: %q; want none", ids)
	}
	if rows := lines(e.ok(nil, "containers", "ls")); len(rows) != 2 || strings.Fields(rows[1])[3] != "keep" {
		t.Errorf("containers ls: %q; want the snapshot named after the container", rows)
	}
	checkFailure(t, e.run(nil, "run", e.img, "keep", "true"), exitFailure, "keep", "already exists")
	if out := e.ok(nil, "containers", "rm", "keep"); out != "keep\n" {
		t.Errorf("containers rm keep printed %q", out)
	}
	e.noContainers(t, "containers rm")
}

// TestRunOptions: the spec options of the flags are seen inside the
// container.
func TestRunOptions(t *testing.T) {
	e := newRunEnv(t, true)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	if err := os.WriteFile(envFile, []byte("# a comment\n\nFOO=from-file\n  BAZ=b z\r\nEMPTY=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.ok(nil, "run", "--rm", "--env-file", envFile, "--env", "FOO=bar", "--cwd", "/home/app", "--hostname", "box",
		"--user", "app", e.img, "opts", "sh", "-c", `echo "$FOO|$BAZ|$EMPTY|"; pwd; hostname; id -u; id -g`)
	if want := "bar|b z||\n/home/app\nbox\n1000\n1000\n"; out != want {
		t.Errorf("run with env, cwd, hostname, user printed %q; want %q", out, want)
	}

	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "file"), []byte("on the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rw := t.TempDir()
	out = e.ok(nil, "run", "--rm", "--read-only",
		"--mount", "type=bind,src="+data+",dst=/data,options=ro",
		"--mount", "source="+rw+",target=/rw",
		e.img, "ro", "sh", "-c", `cat /data/file; touch /x 2>&1; touch /data/y 2>&1; echo written > /rw/out; echo done`)
	for _, want := range []string{"on the host\n", "/x: Read-only file system", "/data/y: Read-only file system", "done\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --read-only with mounts printed %q; want %q in it", out, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "written\n" {
		t.Errorf("file written through the rw bind mount: %q, %v", b, err)
	}

	// Capabilities: CapEff of the process.
	capEff := func(args ...string) uint64 {
		t.Helper()
		out := e.ok(nil, append(append([]string{"run", "--rm"}, args...), e.img, "caps", "cat", "/proc/self/status")...)
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("no CapEff in %q", out)
		return 0
	}
	const netAdmin, chown = 1 << 12, 1 << 0
	def := capEff()
	if def&netAdmin != 0 || def&chown == 0 {
		t.Errorf("default CapEff %#x; want CAP_CHOWN without CAP_NET_ADMIN", def)
	}
	if got, want := capEff("--cap-add", "NET_ADMIN", "--cap-drop", "cap_chown"), (def|netAdmin)&^chown; got != want {
		t.Errorf("CapEff with --cap-add NET_ADMIN --cap-drop cap_chown = %#x; want %#x", got, want)
	}
	// --privileged gives every capability dctr has itself: all but those
	// the test lacks (running in a container, say).
	all := oci.AllCapabilities()
	bnd := boundingSet(t)
	if got, want := capEff("--privileged"), bnd&(1<<len(all)-1); got != want {
		t.Errorf("CapEff with --privileged = %#x; want every capability the test has, %#x", got, want)
	}
	e.noContainers(t, "runs with --rm")
}

// boundingSet is the capability bounding set of the test.
func boundingSet(t *testing.T) uint64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

// TestRunNetHost: --net-host gives the host's interfaces; by default there
// is only a loopback.
func TestRunNetHost(t *testing.T) {
	e := newRunEnv(t, true)
	host, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	hostIfaces := len(lines(string(host))) - 2
	if out := e.ok(nil, "run", "--rm", e.img, "net", "cat", "/proc/net/dev"); len(lines(out))-2 != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("interfaces of a container: %q; want lo only", out)
	}
	out := e.ok(nil, "run", "--rm", "--net-host", e.img, "net", "sh", "-c", "cat /proc/net/dev; echo resolv.conf:; cat /etc/resolv.conf")
	dev, resolv, _ := strings.Cut(out, "resolv.conf:\n")
	if n := len(lines(dev)) - 2; n != hostIfaces {
		t.Errorf("interfaces with --net-host: %d (%q); want the host's %d", n, dev, hostIfaces)
	}
	if want, err := os.ReadFile("/etc/resolv.conf"); err == nil && resolv != string(want) {
		t.Errorf("/etc/resolv.conf with --net-host: %q; want the host's %q", resolv, want)
	}
}

// TestRunLogFile: --log-file takes the task's stdout and stderr, in the
// foreground and detached.
func TestRunLogFile(t *testing.T) {
	e := newRunEnv(t, true)
	log := filepath.Join(t.TempDir(), "log")
	if out := e.ok(nil, "run", "--rm", "--log-file", log, e.img, "logged", "sh", "-c", "echo out; echo err >&2"); out != "" {
		t.Errorf("run --log-file printed %q; want nothing", out)
	}
	if b, err := os.ReadFile(log); err != nil || string(b) != "out\nerr\n" {
		t.Errorf("log file: %q, %v; want out and err", b, err)
	}
	if out := e.ok(nil, "run", "-d", "--log-file", log, e.img, "bg", "sh", "-c", "echo detached"); out != "" {
		t.Errorf("run -d --log-file printed %q; want nothing", out)
	}
	e.waitExited(t, "bg")
	if b, err := os.ReadFile(log); err != nil || string(b) != "out\nerr\ndetached\n" {
		t.Errorf("log file: %q, %v; want the detached task's line appended", b, err)
	}
	e.rmExited(t, "bg")
	e.ok(nil, "containers", "rm", "bg")
}

// TestRunPull: --pull pulls a missing image first, quietly.
func TestRunPull(t *testing.T) {
	e := newRunEnv(t, false)
	checkFailure(t, e.run(nil, "run", "--rm", e.img, "p", "true"), exitFailure, e.img, "--pull")
	if out := e.ok(nil, "run", "--rm", "--pull", e.img, "p", "echo", "pulled"); out != "pulled\n" {
		t.Errorf("run --pull printed %q", out)
	}
	if got := e.ok(nil, "images", "ls", "-q"); got != e.img+"\n" {
		t.Errorf("images after run --pull: %q", got)
	}
	// The image is there now: --pull does not pull it again.
	if out := e.ok(nil, "run", "--rm", "--pull", e.img, "p", "echo", "again"); out != "again\n" {
		t.Errorf("second run --pull printed %q", out)
	}
	// Another snapshotter: the image is unpacked into it on demand.
	if out := e.ok(nil, "run", "--snapshotter", "native", e.img, "nat", "cat", "/etc/motd"); out != "hello from a busybox container\n" {
		t.Errorf("run --snapshotter native printed %q", out)
	}
	if rows := lines(e.ok(nil, "containers", "ls")); len(rows) != 2 || strings.Fields(rows[1])[2] != "native" {
		t.Errorf("containers ls after run --snapshotter native:\n%s", strings.Join(rows, "\n"))
	}
	e.ok(nil, "containers", "rm", "nat")
}

// TestRunBadInput: wrong command lines and failures leave nothing behind.
func TestRunBadInput(t *testing.T) {
	e := newRunEnv(t, true)
	dir := t.TempDir()
	badEnv := filepath.Join(dir, "env")
	if err := os.WriteFile(badEnv, []byte("A=1\n# fine\nNOEQUALS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"run"}, exitUsage, []string{"run: wants at least 2 arguments (IMAGE ID [CMD [ARG...]]), got 0"}},
		{[]string{"run", e.img}, exitUsage, []string{"got 1"}},
		{[]string{"run", "--rm", "-d", e.img, "x"}, exitUsage, []string{"--rm", "-d"}},
		{[]string{"run", "--mount", "type=bind,src=" + dir, e.img, "x"}, exitUsage, []string{"--mount", "no dst"}},
		{[]string{"run", "--mount", "type=bind,dst=/d", e.img, "x"}, exitUsage, []string{"no src"}},
		{[]string{"run", "--mount", "src=" + dir + ",dst=/d,colour=red", e.img, "x"}, exitUsage, []string{`unknown field "colour"`}},
		{[]string{"run", "--mount", "src=" + dir + ",dst=d", e.img, "x"}, exitUsage, []string{`dst "d" is not an absolute path`}},
		{[]string{"run", "--mount", "src=relative,dst=/d", e.img, "x"}, exitUsage, []string{`src "relative"`}},
		{[]string{"run", "--mount", "src=" + dir + ",dst=/d,dst=/e", e.img, "x"}, exitUsage, []string{"dst given twice"}},
		{[]string{"run", "--mount", "src=" + dir + "/missing,dst=/d", e.img, "x"}, exitFailure, []string{"missing", "no such file"}},
		{[]string{"run", "--env-file", badEnv, e.img, "x"}, exitUsage, []string{badEnv + ":3", "NOEQUALS"}},
		{[]string{"run", "--env-file", filepath.Join(dir, "none"), e.img, "x"}, exitFailure, []string{"none"}},
		{[]string{"run", "--memory-limit", "lots", e.img, "x"}, exitUsage, []string{"--memory-limit"}},
		{[]string{"run", "--cpus", "many", e.img, "x"}, exitUsage, []string{"--cpus"}},
		{[]string{"run", "no/such:image", "x"}, exitFailure, []string{`"no/such:image"`, "--pull"}},
		{[]string{"run", "-d", "-t", e.img, "x", "true"}, exitUsage, []string{"-t and -d exclude each other", "tasks attach"}},
		{[]string{"run", "-t", "--log-file", filepath.Join(dir, "log"), e.img, "x", "true"}, exitUsage, []string{"-t and --log-file exclude each other"}},
		{[]string{"run", "--cwd", "/proc/self", e.img, "x"}, exitFailure, []string{"/proc/self"}},
		{[]string{"run", "--user", "nosuchuser", e.img, "x"}, exitFailure, []string{"nosuchuser"}},
		{[]string{"run", "--cap-add", "CAP_BOGUS", e.img, "x"}, exitFailure, []string{"CAP_BOGUS"}},
		{[]string{"run", "--rm", e.img, "x", "/no/such/program"}, exitFailure, []string{"/no/such/program"}},
		{[]string{"run", e.img, "x", "/no/such/program"}, exitFailure, []string{"/no/such/program"}},
		{[]string{"run", "--log-file", filepath.Join(dir, "no", "dir", "log"), e.img, "x"}, exitFailure, []string{"log file"}},
		{[]string{"run", e.img, "../bad", "true"}, exitFailure, []string{"../bad"}},
	} {
		checkFailure(t, e.run(nil, tc.args...), tc.code, tc.want...)
		e.noContainers(t, strings.Join(tc.args, " "))
	}
}

// TestRunLimits: the resource flags reach the task's cgroup.
func TestRunLimits(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", "--memory-limit", "64M", "--cpus", "0.5", "--pids-limit", "20", e.img, "lim", "sleep", "1000")
	e.waitStatus(t, "lim", "RUNNING")
	for file, want := range map[string]string{
		"memory/dctr/" + e.ns + "/lim/memory.limit_in_bytes": "67108864",
		"cpu/dctr/" + e.ns + "/lim/cpu.cfs_quota_us":         "50000",
		"pids/dctr/" + e.ns + "/lim/pids.max":                "20",
	} {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", file))
		if os.IsNotExist(err) {
			t.Logf("%s: %v (not a cgroup v1 host?)", file, err)
			continue
		}
		if got := strings.TrimSpace(string(b)); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %s", file, got, err, want)
		}
	}
	e.ok(nil, "tasks", "rm", "-f", "lim")
	e.ok(nil, "containers", "rm", "lim")
}

// background is a dctr run by a test in the background.
type background struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr strings.Builder
	err    error
}

// start starts dctr args... in the background, and makes sure it is not
// left running when the test ends.
func (e *runEnv) start(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(dctrBin, append([]string{"--root", e.root}, args...)...)}
	b.cmd.Env = e.environ()
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.stdout = bufio.NewReader(stdout)
	b.cmd.Stderr = &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		b.wait(t)
	})
	return b
}

// wait waits for dctr to exit, 30 s at most, and returns its exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	if b.cmd.ProcessState == nil {
		waited := make(chan error, 1)
		go func() { waited <- b.cmd.Wait() }()
		select {
		case b.err = <-waited:
		case <-time.After(30 * time.Second):
			b.cmd.Process.Kill()
			b.err = <-waited
			t.Errorf("dctr %s did not exit within 30 s; stderr %q", strings.Join(b.cmd.Args[1:], " "), b.stderr.String())
		}
	}
	if ee, ok := b.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if b.err != nil {
		t.Fatal(b.err)
	}
	return 0
}

// TestRunForwardsSignals: SIGTERM sent to a foreground dctr run goes to
// the task, whose exit status dctr exits with.
func TestRunForwardsSignals(t *testing.T) {
	e := newRunEnv(t, true)
	b := e.start(t, "run", "--rm", e.img, "trap", "sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done")
	row := e.waitStatus(t, "trap", "RUNNING")
	if pid, err := strconv.Atoi(row[1]); err != nil || pid <= 0 {
		t.Errorf("tasks ls row %q: want a pid", row)
	}
	// The trap is set once the script says so.
	if line, err := b.stdout.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line of the task: %q, %v", line, err)
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != 3 || b.stderr.String() != "" {
		t.Errorf("dctr run after SIGTERM: exit %d, stderr %q; want 3 from the trap", code, b.stderr.String())
	}
	e.noContainers(t, "run --rm ended by SIGTERM")

	// SIGINT too; the init of a pid namespace ignores signals it has no
	// handler for, so sleep runs under a shell that has one.
	b = e.start(t, "run", e.img, "int", "sh", "-c", "trap 'exit 5' INT; echo ready; while :; do sleep 0.1; done")
	if line, err := b.stdout.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line of the task: %q, %v", line, err)
	}
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != 5 {
		t.Errorf("dctr run after SIGINT: exit %d, stderr %q; want 5 from the trap", code, b.stderr.String())
	}
	e.ok(nil, "containers", "rm", "int")
}

// TestRunKilled: a task killed by another dctr ends the foreground dctr
// run with 128+9.
func TestRunKilled(t *testing.T) {
	e := newRunEnv(t, true)
	b := e.start(t, "run", "--rm", e.img, "victim", "sleep", "1000")
	e.waitStatus(t, "victim", "RUNNING")
	e.ok(nil, "tasks", "kill", "-s", "KILL", "victim")
	if code := b.wait(t); code != 137 {
		t.Errorf("dctr run of a task killed: exit %d, stderr %q; want 137", code, b.stderr.String())
	}
	e.noContainers(t, "run --rm killed")
}
