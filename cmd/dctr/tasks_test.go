package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

// cgroupFile reads the file of the task id's cgroup in the cgroup v1
// hierarchy of controller, "" (and a log line) when the host has no such
// hierarchy.
func (e *runEnv) cgroupFile(t *testing.T, controller, id, file string) string {
	t.Helper()
	path := filepath.Join("/sys/fs/cgroup", controller, "dctr", e.ns, id, file)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Logf("%s: %v (not a cgroup v1 host?)", path, err)
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// fileSize is the size of the file at path, -1 if it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// TestTasksPauseResume: a paused task is frozen (its log stops growing)
// and shown PAUSED; resumed, it runs on.
func TestTasksPauseResume(t *testing.T) {
	e := newRunEnv(t, true)
	log := filepath.Join(t.TempDir(), "log")
	e.ok(nil, "run", "-d", "--log-file", log, e.img, "ticker", "sh", "-c", "while :; do echo tick; sleep 0.02; done")
	e.waitStatus(t, "ticker", "RUNNING")
	waitGrowth := func(what string) {
		t.Helper()
		start, deadline := fileSize(log), time.Now().Add(10*time.Second)
		for fileSize(log) <= start {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the log did not grow in 10 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitGrowth("running")

	if out := e.ok(nil, "tasks", "pause", "ticker"); out != "" {
		t.Errorf("tasks pause printed %q; want nothing", out)
	}
	e.waitStatus(t, "ticker", "PAUSED")
	if state := e.cgroupFile(t, "freezer", "ticker", "freezer.state"); state != "" && state != "FROZEN" {
		t.Errorf("freezer.state of the paused task = %q; want FROZEN", state)
	}
	frozen := fileSize(log)
	time.Sleep(300 * time.Millisecond)
	if n := fileSize(log); n != frozen {
		t.Errorf("the log of a paused task grew from %d to %d bytes", frozen, n)
	}
	// tasks ps works on a paused task; exec is refused, not left frozen.
	if rows := e.psRows(t, "ticker"); len(rows) == 0 {
		t.Errorf("tasks ps of a paused task: no process")
	}
	checkFailure(t, e.run(nil, "tasks", "exec", "ticker", "true"), exitFailure, "task ticker is paused", "dctr tasks resume ticker")

	if out := e.ok(nil, "tasks", "resume", "ticker"); out != "" {
		t.Errorf("tasks resume printed %q; want nothing", out)
	}
	e.waitStatus(t, "ticker", "RUNNING")
	waitGrowth("resumed")
	checkFailure(t, e.run(nil, "tasks", "resume", "ticker"), exitFailure, "ticker", "not paused")
	e.ok(nil, "tasks", "rm", "-f", "ticker")
	e.ok(nil, "containers", "rm", "ticker")
}

// TestTasksMetricsUpdate: tasks metrics shows the cgroup's counters, as a
// table and as JSON, and tasks update changes the limits live.
func TestTasksMetricsUpdate(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", "--memory-limit", "64M", "--pids-limit", "20", e.img, "lim", "sleep", "1000")
	e.waitStatus(t, "lim", "RUNNING")

	metrics := func() taskMetrics {
		t.Helper()
		var m taskMetrics
		out := e.ok(nil, "tasks", "metrics", "--format", "json", "lim")
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("tasks metrics --format json printed %q: %v", out, err)
		}
		return m
	}
	m := metrics()
	if m.Memory.Limit != 64<<20 || m.Pids.Limit != 20 || m.Pids.Current != 1 || m.Memory.Usage == 0 || m.CPU.Usage == 0 {
		t.Errorf("metrics %+v; want a 64 MiB memory limit, a pids limit of 20, 1 process, some memory and CPU used", m)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.Timestamp); err != nil {
		t.Errorf("metrics timestamp %q: %v", m.Timestamp, err)
	}
	table := map[string]string{}
	rows := lines(e.ok(nil, "tasks", "metrics", "lim"))
	if len(rows) == 0 || strings.Join(strings.Fields(rows[0]), " ") != "METRIC VALUE" {
		t.Fatalf("tasks metrics: %q; want a METRIC VALUE table", rows)
	}
	for _, r := range rows[1:] {
		k, v, _ := strings.Cut(r, " ")
		table[k] = strings.TrimSpace(v)
	}
	if table["memory.limit"] != "64 MiB" || table["pids.limit"] != "20" || table["pids.current"] != "1" {
		t.Errorf("tasks metrics table %q; want memory.limit 64 MiB, pids.limit 20, pids.current 1", table)
	}
	if _, err := time.ParseDuration(table["cpu.usage"]); err != nil {
		t.Errorf("cpu.usage %q: %v", table["cpu.usage"], err)
	}

	// Limits change live; those not given stay.
	if out := e.ok(nil, "tasks", "update", "--memory", "32m", "--cpus", "0.25", "--cpu-shares", "512", "lim"); out != "" {
		t.Errorf("tasks update printed %q; want nothing", out)
	}
	for _, c := range []struct{ controller, file, want string }{
		{"memory", "memory.limit_in_bytes", "33554432"},
		{"cpu", "cpu.cfs_quota_us", "25000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.shares", "512"},
		{"pids", "pids.max", "20"},
	} {
		if got := e.cgroupFile(t, c.controller, "lim", c.file); got != "" && got != c.want {
			t.Errorf("%s after update = %s; want %s", c.file, got, c.want)
		}
	}
	if m := metrics(); m.Memory.Limit != 32<<20 || m.Pids.Limit != 20 {
		t.Errorf("metrics after update: memory limit %d, pids limit %d; want 32 MiB and 20", m.Memory.Limit, m.Pids.Limit)
	}
	e.ok(nil, "tasks", "update", "--pids-limit", "-1", "--memory", "1G", "lim")
	if got := e.cgroupFile(t, "pids", "lim", "pids.max"); got != "" && got != "max" {
		t.Errorf("pids.max after --pids-limit -1 = %s; want max", got)
	}
	if got := e.cgroupFile(t, "memory", "lim", "memory.limit_in_bytes"); got != "" && got != "1073741824" {
		t.Errorf("memory.limit_in_bytes after --memory 1G = %s", got)
	}
	if m := metrics(); m.Pids.Limit != 0 {
		t.Errorf("metrics after --pids-limit -1: pids limit %d; want 0, none", m.Pids.Limit)
	}
	// --memory-swap where the kernel keeps swap accounts.
	if e.cgroupFile(t, "memory", "lim", "memory.memsw.limit_in_bytes") != "" {
		e.ok(nil, "tasks", "update", "--memory-swap", "2g", "lim")
		if got := e.cgroupFile(t, "memory", "lim", "memory.memsw.limit_in_bytes"); got != "2147483648" {
			t.Errorf("memory.memsw.limit_in_bytes after --memory-swap 2g = %s", got)
		}
	}
	// A limit the kernel refuses changes nothing.
	checkFailure(t, e.run(nil, "tasks", "update", "--memory", "1", "lim"), exitFailure, "task lim", "memory limit")
	if got := e.cgroupFile(t, "memory", "lim", "memory.limit_in_bytes"); got != "" && got != "1073741824" {
		t.Errorf("memory.limit_in_bytes after a refused update = %s; want it unchanged", got)
	}
	e.ok(nil, "tasks", "rm", "-f", "lim")
	e.ok(nil, "containers", "rm", "lim")
}

// TestTasksAttach: tasks attach follows the log file of a task another
// dctr started until the task exits; a task without a log file has
// nothing to attach to.
func TestTasksAttach(t *testing.T) {
	e := newRunEnv(t, true)
	dir, sync := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "log")
	// The task writes "first", then "second" once the test says so.
	const script = `echo first; while [ ! -e /sync/go ]; do sleep 0.02; done; echo second; echo err >&2`
	e.ok(nil, "run", "-d", "--log-file", log, "--mount", "src="+sync+",dst=/sync", e.img, "talker", "sh", "-c", script)
	var info struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(e.ok(nil, "containers", "info", "talker")), &info); err != nil || info.Labels[logFileLabel] != log {
		t.Errorf("labels of a container run with --log-file: %q, %v; want %s=%s", info.Labels, err, logFileLabel, log)
	}
	deadline := time.Now().Add(20 * time.Second)
	for fileSize(log) < int64(len("first\n")) {
		if time.Now().After(deadline) {
			t.Fatal("the task wrote nothing to its log in 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	all := e.start(t, "tasks", "attach", "--all", "talker")
	if line, err := all.stdout.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line of tasks attach --all: %q, %v", line, err)
	}
	// Without --all, only what comes once attach has read to the end:
	// wait for it to have the log open at its end.
	now := e.start(t, "tasks", "attach", "talker")
	waitOpenAtEnd(t, now.cmd.Process.Pid, log)
	if err := os.WriteFile(filepath.Join(sync, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*background{all, now} {
		// Read to EOF before Wait, which closes the pipe.
		kill := time.AfterFunc(30*time.Second, func() { b.cmd.Process.Kill() })
		rest, err := io.ReadAll(b.stdout)
		kill.Stop()
		if code := b.wait(t); code != 0 || err != nil || b.stderr.String() != "" {
			t.Errorf("dctr %s: exit %d, %v, stderr %q; want 0 once the task exits", strings.Join(b.cmd.Args[1:], " "), code, err, b.stderr.String())
		}
		if string(rest) != "second\nerr\n" {
			t.Errorf("dctr %s printed %q after the task's first line; want only second and err", strings.Join(b.cmd.Args[1:], " "), rest)
		}
	}
	e.run(nil, "tasks", "rm", "talker")

	e.ok(nil, "run", "-d", e.img, "quiet", "sleep", "1000")
	checkFailure(t, e.run(nil, "tasks", "attach", "quiet"), exitFailure, "container quiet has no log file to attach to", logFileLabel, "--log-file")
	e.ok(nil, "tasks", "rm", "-f", "quiet")
	checkFailure(t, e.run(nil, "tasks", "attach", "quiet"), exitFailure, "container quiet has no log file")
	e.ok(nil, "containers", "rm", "talker", "quiet")
	checkFailure(t, e.run(nil, "tasks", "attach", "quiet"), exitFailure, "quiet", "not found")
}

// waitOpenAtEnd waits until process pid has the file path open with its
// offset at the file's end.
func waitOpenAtEnd(t *testing.T, pid int, path string) {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(fdDir)
		for _, ent := range entries {
			if target, err := os.Readlink(filepath.Join(fdDir, ent.Name())); err != nil || target != path {
				continue
			}
			info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, ent.Name()))
			if err != nil {
				continue
			}
			for line := range strings.Lines(string(info)) {
				if v, ok := strings.CutPrefix(line, "pos:"); ok && strings.TrimSpace(v) == strconv.FormatInt(fileSize(path), 10) {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not open %s at its end in 20 s", pid, path)
}

// TestTasksMoreBadInput: wrong command lines of ps, pause, resume,
// metrics, update and attach each say why in one line.
func TestTasksMoreBadInput(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", e.img, "box", "sleep", "1000")
	e.ok(nil, "run", e.img, "idle", "true")
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"tasks", "ps"}, exitUsage, []string{"tasks ps: wants exactly 1 argument (ID), got 0"}},
		{[]string{"tasks", "ps", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "pause"}, exitUsage, []string{"tasks pause: wants at least 1 argument (ID...), got 0"}},
		{[]string{"tasks", "resume"}, exitUsage, []string{"tasks resume: wants at least 1 argument (ID...), got 0"}},
		{[]string{"tasks", "pause", "nosuch"}, exitFailure, []string{"nosuch", "not found"}},
		{[]string{"tasks", "resume", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "metrics", "--format", "xml", "box"}, exitUsage, []string{`--format "xml": want table or json`}},
		{[]string{"tasks", "metrics", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "update", "box"}, exitUsage, []string{"tasks update: nothing to change"}},
		{[]string{"tasks", "update", "--memory", "lots", "box"}, exitUsage, []string{`--memory "lots"`}},
		{[]string{"tasks", "update", "--memory-swap", "lots", "box"}, exitUsage, []string{`--memory-swap "lots"`, "-1 for none"}},
		{[]string{"tasks", "update", "--cpus", "-1", "box"}, exitUsage, []string{"WithCPUs", "out of range"}},
		{[]string{"tasks", "update", "--cpu-shares", "1", "box"}, exitUsage, []string{"WithCPUShares"}},
		{[]string{"tasks", "update", "--pids-limit", "0", "box"}, exitUsage, []string{`--pids-limit "0"`, "-1 for no limit"}},
		{[]string{"tasks", "update", "--memory", "64m", "idle"}, exitFailure, []string{"container idle has no task"}},
		{[]string{"tasks", "attach"}, exitUsage, []string{"tasks attach: wants exactly 1 argument (ID), got 0"}},
	} {
		checkFailure(t, e.run(nil, tc.args...), tc.code, tc.want...)
	}
	// pause goes on after a failure and reports each; box is paused.
	r := e.run(nil, "tasks", "pause", "nosuch", "box", "idle")
	if r.code != exitFailure || strings.Count(r.stderr, "dctr: ") != 2 {
		t.Errorf("%v; want exit 1 and two failures", r)
	}
	e.waitStatus(t, "box", "PAUSED")
	e.ok(nil, "tasks", "resume", "box")
	e.waitStatus(t, "box", "RUNNING")
	e.ok(nil, "tasks", "rm", "-f", "box")
	e.ok(nil, "containers", "rm", "box", "idle")
}
