package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// psRows returns the rows of tasks ps id, header left out, as their
// fields: PID, EXEC ID, then the command's words.
func (e *runEnv) psRows(t *testing.T, id string) [][]string {
	t.Helper()
	rows := lines(e.ok(nil, "tasks", "ps", id))
	if len(rows) == 0 || strings.Join(strings.Fields(rows[0]), " ") != "PID EXEC ID COMMAND" {
		t.Fatalf("tasks ps %s: header %q; want PID EXEC ID COMMAND", id, rows)
	}
	var out [][]string
	for _, r := range rows[1:] {
		out = append(out, strings.Fields(r))
	}
	return out
}

// execIDs returns the exec ids tasks ps id shows, "-" for the init's
// processes.
func (e *runEnv) execIDs(t *testing.T, id string) []string {
	t.Helper()
	var ids []string
	for _, f := range e.psRows(t, id) {
		ids = append(ids, f[1])
	}
	return ids
}

// TestTasksExec: tasks exec runs a command in a running task with its
// init's environment and user, or those of the flags, passes stdin with
// -i only, exits with the command's exit status and removes the process.
func TestTasksExec(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", "--env", "FROM_RUN=yes", "--user", "app", e.img, "box", "sleep", "1000")
	e.waitStatus(t, "box", "RUNNING")

	r := e.run(nil, "tasks", "exec", "box", "sh", "-c", `echo "out $FROM_RUN $(id -u) $(pwd)"; echo err >&2; exit 4`)
	if r.code != 4 || r.stdout != "out yes 1000 /\n" || r.stderr != "err\n" {
		t.Errorf("%v; want exit 4, the init's env and user on stdout, err on stderr", r)
	}
	// Flags stop at the container's id: -c and -i go to sh and cat.
	if out := e.ok(strings.NewReader("typed\n"), "tasks", "exec", "-i", "box", "cat"); out != "typed\n" {
		t.Errorf("tasks exec -i cat printed %q; want stdin echoed", out)
	}
	if out := e.ok(strings.NewReader("typed\n"), "tasks", "exec", "box", "cat"); out != "" {
		t.Errorf("tasks exec cat without -i printed %q; want nothing (stdin the null device)", out)
	}
	out := e.ok(nil, "tasks", "exec", "--user", "0:2000", "--cwd", "/tmp", "--env", "FOO=bar", "--env", "FROM_RUN",
		"box", "sh", "-c", `echo "$(id -u):$(id -g) $(pwd) $FOO ${FROM_RUN-unset}"`)
	if out != "0:2000 /tmp bar unset\n" {
		t.Errorf("tasks exec with --user, --cwd, --env printed %q", out)
	}
	if out := e.ok(nil, "tasks", "exec", "--user", "root", "box", "id", "-un"); out != "root\n" {
		t.Errorf("tasks exec --user root printed %q", out)
	}
	// Without a terminal, -t of the run is not the exec's.
	if out := e.ok(nil, "tasks", "exec", "box", "sh", "-c", "[ -t 0 ] && echo tty || echo notty"); out != "notty\n" {
		t.Errorf("tasks exec without -t: %q", out)
	}
	// -t without a local terminal: the process's output comes through
	// its terminal (CR LF), and TERM is set.
	if out := e.ok(nil, "tasks", "exec", "-t", "box", "sh", "-c", `[ -t 0 ] && echo "tty $TERM"`); out != "tty xterm\r\n" {
		t.Errorf("tasks exec -t printed %q; want tty xterm through a terminal", out)
	}

	// A named exec'd process shows in tasks ps while it runs; a signal to
	// dctr reaches it, dctr exits with its status, and it is removed.
	b := e.start(t, "tasks", "exec", "--exec-id", "sleeper", "box", "sh", "-c", "trap 'exit 6' TERM; echo ready; while :; do sleep 0.1; done")
	if line, err := b.stdout.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line of the exec'd process: %q, %v", line, err)
	}
	rows := e.psRows(t, "box")
	var sleeperPid int
	for _, f := range rows {
		if f[1] == "sleeper" {
			sleeperPid, _ = strconv.Atoi(f[0])
			if len(f) < 3 || f[2] != "sh" {
				t.Errorf("tasks ps row %q; want the command sh", f)
			}
		}
	}
	if sleeperPid <= 0 || len(rows) < 2 {
		t.Errorf("tasks ps rows %q; want the init and the exec'd sleeper (and its sleep)", rows)
	}
	initPid := e.taskRow("box")[1]
	for _, f := range rows {
		if f[0] == initPid && (f[1] != "-" || strings.Join(f[2:], " ") != "sleep 1000") {
			t.Errorf("tasks ps row of the init %q; want no exec id and sleep 1000", f)
		}
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != 6 || b.stderr.String() != "" {
		t.Errorf("tasks exec after SIGTERM: exit %d, stderr %q; want 6 from the trap", code, b.stderr.String())
	}
	if ids := e.execIDs(t, "box"); strings.Join(ids, " ") != "-" {
		t.Errorf("tasks ps after the exec: exec ids %q; want the init's only", ids)
	}
	// The id is free again, and a default id is random hex.
	e.ok(nil, "tasks", "exec", "--exec-id", "sleeper", "box", "true")
	b = e.start(t, "tasks", "exec", "box", "sleep", "1000")
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The exec'd process may show a moment before its id does.
		ids := e.execIDs(t, "box")
		if len(ids) == 2 && ids[1] != "-" {
			if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(ids[1]) {
				t.Errorf("default exec id %q; want 12 hex digits", ids[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks ps: exec ids %q; want the exec'd sleep (its dctr: stderr %q)", ids, b.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The task's end ends the exec'd process, and dctr with 137.
	e.ok(nil, "tasks", "kill", "-s", "KILL", "box")
	if code := b.wait(t); code != 137 {
		t.Errorf("tasks exec of a process whose task was killed: exit %d, stderr %q; want 137", code, b.stderr.String())
	}
	// A stopped task that no one holds may be removed by the next
	// client (Client.Cleanup): either way there is nothing to exec in.
	r = e.run(nil, "tasks", "exec", "box", "true")
	if !strings.Contains(r.stderr, "init has exited") && !strings.Contains(r.stderr, "container box has no task") {
		t.Errorf("%v; want a failure saying the task has exited or is gone", r)
	}
	checkFailure(t, r, exitFailure, "box")
	e.run(nil, "tasks", "rm", "box")
	e.ok(nil, "containers", "rm", "box")
}

// TestTasksExecBadInput: wrong command lines and failing execs each say
// why in one line and leave no exec'd process behind.
func TestTasksExecBadInput(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", e.img, "box", "sleep", "1000")
	e.ok(nil, "run", e.img, "idle", "true")
	e.waitStatus(t, "box", "RUNNING")
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"tasks", "exec"}, exitUsage, []string{"tasks exec: wants at least 2 arguments (ID CMD [ARG...]), got 0"}},
		{[]string{"tasks", "exec", "box"}, exitUsage, []string{"got 1"}},
		{[]string{"tasks", "exec", "--bogus", "box", "true"}, exitUsage, []string{"unknown flag: --bogus"}},
		{[]string{"tasks", "exec", "nosuch", "true"}, exitFailure, []string{"nosuch", "not found"}},
		{[]string{"tasks", "exec", "idle", "true"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "exec", "--exec-id", "bad id!", "box", "true"}, exitFailure, []string{`"bad id!"`}},
		{[]string{"tasks", "exec", "--cwd", "relative", "box", "true"}, exitFailure, []string{`"relative" is not an absolute path`}},
		{[]string{"tasks", "exec", "--user", "nosuchuser", "box", "true"}, exitFailure, []string{"nosuchuser"}},
		{[]string{"tasks", "exec", "--env", "=x", "box", "true"}, exitFailure, []string{`"=x"`}},
		{[]string{"tasks", "exec", "box", "/no/such/program"}, exitFailure, []string{"/no/such/program"}},
		{[]string{"tasks", "exec", "--exec-id", "named", "box", "/no/such/program"}, exitFailure, []string{"/no/such/program"}},
		{[]string{"tasks", "exec", "--cwd", "/no/such/dir", "box", "true"}, exitFailure, []string{"/no/such/dir"}},
	} {
		checkFailure(t, e.run(nil, tc.args...), tc.code, tc.want...)
		if ids := e.execIDs(t, "box"); strings.Join(ids, " ") != "-" {
			t.Errorf("after dctr %s: exec ids %q; want the init's only", strings.Join(tc.args, " "), ids)
		}
	}
	// The failed exec's id is free again.
	e.ok(nil, "tasks", "exec", "--exec-id", "named", "box", "true")

	// Nothing of the failures is left in the task's state directory but
	// the init's: no exec record.
	stateDirs, _ := filepath.Glob(filepath.Join(e.state, e.ns, "runc", "box", "*"))
	for _, d := range stateDirs {
		if strings.Contains(filepath.Base(d), "exec") {
			if entries, _ := os.ReadDir(d); len(entries) > 0 {
				t.Errorf("exec records left in %s: %v", d, entries)
			}
		}
	}
	e.ok(nil, "tasks", "rm", "-f", "box")
	e.ok(nil, "containers", "rm", "box", "idle")
}
