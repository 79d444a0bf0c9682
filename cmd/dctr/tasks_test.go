package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestTasksVerbs: a task run with -d outlives dctr run; tasks ls shows it,
// tasks kill signals it, tasks wait waits for it, tasks rm removes it.
func TestTasksVerbs(t *testing.T) {
	e := newRunEnv(t, true)
	const trap = "trap 'exit 3' TERM; while :; do sleep 0.1; done"
	if out := e.ok(nil, "run", "-d", e.img, "bg", "sh", "-c", trap); out != "" {
		t.Errorf("run -d printed %q; want nothing", out)
	}
	rows := lines(e.ok(nil, "tasks", "ls"))
	if len(rows) != 2 || strings.Join(strings.Fields(rows[0]), " ") != "TASK PID STATUS" {
		t.Fatalf("tasks ls:\n%s", strings.Join(rows, "\n"))
	}
	row := strings.Fields(rows[1])
	pid, err := strconv.Atoi(row[1])
	if row[0] != "bg" || err != nil || pid <= 0 || row[2] != "RUNNING" {
		t.Fatalf("tasks ls row %q; want bg, a pid, RUNNING", row)
	}
	if _, err := os.Stat("/proc/" + row[1]); err != nil {
		t.Errorf("the task's init %d is gone after dctr run -d exited: %v", pid, err)
	}
	for _, alias := range []string{"task", "t"} {
		if got := e.ok(nil, alias, "ls", "-q"); got != "bg\n" {
			t.Errorf("%s ls -q = %q", alias, got)
		}
	}

	checkFailure(t, e.run(nil, "tasks", "rm", "bg"), exitFailure, "running", "-f")
	checkFailure(t, e.run(nil, "containers", "rm", "bg"), exitFailure, "has a task", "dctr tasks rm -f bg")

	// tasks wait waits for an exit it cannot know the status of: dctr run
	// -d started the task.
	w := e.start(t, "tasks", "wait", "bg")
	e.ok(nil, "tasks", "kill", "bg")
	if code := w.wait(t); code != 255 || !strings.Contains(w.stderr.String(), "exit status is unknown") || strings.Count(w.stderr.String(), "\n") != 1 {
		t.Errorf("tasks wait of a task another dctr started: exit %d, stderr %q; want 255 and one line saying the status is unknown", code, w.stderr.String())
	}
	if row := e.waitExited(t, "bg"); row != nil && row[1] != strconv.Itoa(pid) {
		t.Errorf("tasks ls row of the stopped task %q; want pid %d", row, pid)
	}
	// Waiting for a task that has exited answers at once (unless the
	// task is gone already).
	r := e.run(nil, "tasks", "wait", "bg")
	if (r.code != 255 && !strings.Contains(r.stderr, "container bg has no task")) || r.stdout != "" {
		t.Errorf("%v; want 255 and nothing on stdout", r)
	}
	e.rmExited(t, "bg")
	if got := e.ok(nil, "tasks", "ls", "-q"); got != "" {
		t.Errorf("tasks after tasks rm: %q", got)
	}
	checkFailure(t, e.run(nil, "tasks", "kill", "bg"), exitFailure, "container bg has no task")
	e.ok(nil, "containers", "rm", "bg")

	// -a reaches every process: the init, a shell without a TERM handler,
	// ignores SIGTERM, its children do not, and it exits when they have.
	e.ok(nil, "run", "-d", e.img, "grp", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
	e.waitStatus(t, "grp", "RUNNING")
	e.ok(nil, "tasks", "kill", "-a", "-s", "term", "grp")
	e.waitExited(t, "grp")
	e.rmExited(t, "grp")

	// By number; and rm -f of a running task.
	e.ok(nil, "run", "-d", e.img, "num", "sleep", "1000")
	e.ok(nil, "run", "-d", e.img, "force", "sleep", "1000")
	e.waitStatus(t, "num", "RUNNING")
	e.ok(nil, "tasks", "kill", "--signal", "9", "num")
	e.waitExited(t, "num")
	e.rmExited(t, "num")
	if out := e.ok(nil, "tasks", "rm", "-f", "force"); out != "" {
		t.Errorf("tasks rm -f printed %q; want nothing", out)
	}
	e.ok(nil, "containers", "rm", "num", "force", "grp")
	e.noContainers(t, "tasks rm and containers rm")
}

// TestTasksBadInput: wrong command lines and missing tasks.
func TestTasksBadInput(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", e.img, "idle", "true")
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"tasks", "bogus"}, exitUsage, []string{`unknown command "bogus"`}},
		{[]string{"tasks", "ls", "x"}, exitUsage, []string{"tasks ls: takes no arguments"}},
		{[]string{"tasks", "kill"}, exitUsage, []string{"tasks kill: wants exactly 1 argument (ID), got 0"}},
		{[]string{"tasks", "kill", "-s", "BOGUS", "idle"}, exitUsage, []string{`--signal "BOGUS"`, "no such signal"}},
		{[]string{"tasks", "kill", "-s", "99", "idle"}, exitUsage, []string{"out of range"}},
		{[]string{"tasks", "kill", "nosuch"}, exitFailure, []string{"nosuch", "not found"}},
		{[]string{"tasks", "kill", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "wait", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "wait"}, exitUsage, []string{"got 0"}},
		{[]string{"tasks", "rm"}, exitUsage, []string{"tasks rm: wants at least 1 argument"}},
	} {
		checkFailure(t, e.run(nil, tc.args...), tc.code, tc.want...)
	}
	// rm goes on after a failure and reports each.
	r := e.run(nil, "tasks", "rm", "nosuch", "idle")
	if r.code != exitFailure || strings.Count(r.stderr, "dctr: ") != 2 {
		t.Errorf("%v; want exit 1 and two failures", r)
	}
	e.ok(nil, "containers", "rm", "idle")
}
