package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal a test opens to run dctr on: dctr gets the
// slave as its controlling terminal, standard input and output, and the
// test plays the user at the master.
type pty struct {
	t      *testing.T
	master *os.File
	slave  *os.File

	mu   sync.Mutex
	out  bytes.Buffer // all dctr wrote on the terminal
	done chan struct{}
}

// openPty opens a new pseudo-terminal of size cols x rows, and starts
// reading its master.
func openPty(t *testing.T, cols, rows uint16) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var n int
	err = control(m, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		m.Close()
		t.Fatalf("unlock /dev/ptmx: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	p := &pty{t: t, master: m, slave: s, done: make(chan struct{})}
	p.setSize(cols, rows)
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		s.Close()
		m.Close()
		<-p.done
	})
	return p
}

// control runs fn on f's descriptor without taking it out of Go's poller.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// setSize sets the terminal's window size; the kernel sends SIGWINCH to
// its foreground process group.
func (p *pty) setSize(cols, rows uint16) {
	p.t.Helper()
	err := control(p.master, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// termios returns the mode of the terminal, as dctr sees it.
func (p *pty) termios() unix.Termios {
	p.t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatal(err)
	}
	return *tio
}

// output returns what dctr wrote on the terminal so far.
func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// typeText types s on the terminal.
func (p *pty) typeText(s string) {
	p.t.Helper()
	if _, err := p.master.WriteString(s); err != nil {
		p.t.Fatal(err)
	}
}

// waitOutput waits until the output holds want, typing again every
// 100 ms (nothing when again is empty), 20 s at most.
func (p *pty) waitOutput(want, again string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.output(), want) {
		if time.Now().After(deadline) {
			p.t.Fatalf("terminal output %q; want %q in it", p.output(), want)
		}
		if again != "" {
			p.typeText(again)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start runs dctr args... on the terminal, as its controlling terminal,
// its standard error going to errBuf.
func (p *pty) start(e *runEnv, errBuf *strings.Builder, args ...string) *exec.Cmd {
	p.t.Helper()
	cmd := exec.Command(dctrBin, append([]string{"--root", e.root}, args...)...)
	cmd.Env = e.environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, errBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// waitRaw waits until dctr has put the terminal in raw mode.
func (p *pty) waitRaw() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.termios().Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		if time.Now().After(deadline) {
			p.t.Fatalf("terminal mode %+v: dctr did not make it raw", p.termios())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitCode waits 30 s at most for cmd and returns its exit code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-waited
		t.Fatalf("dctr %s did not exit within 30 s", strings.Join(cmd.Args[1:], " "))
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// sameMode reports whether two terminal modes are the same.
func sameMode(a, b unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Cflag == b.Cflag && a.Lflag == b.Lflag && a.Cc == b.Cc
}

// sizeLoop prints the terminal's size, then again for each line read,
// and exits with 3 at the end of input.
const sizeLoop = `busybox stty size; while read line; do echo "size $(busybox stty size)"; done; exit 3`

// TestRunTerminal: run -t gives the task a terminal the size of dctr's,
// following its changes; dctr's terminal is raw while the task runs (its
// ^D and ^C reach the task's terminal) and restored after.
func TestRunTerminal(t *testing.T) {
	e := newRunEnv(t, true)
	// Without a local terminal: the input is typed on the task's (which
	// echoes it), the output comes through it (CR LF), TERM is set.
	out := e.ok(strings.NewReader("typed\n"), "run", "--rm", "-t", e.img, "piped", "sh", "-c", `read x; [ -t 0 ] && echo "got $x $TERM"`)
	if out != "typed\r\ngot typed xterm\r\n" {
		t.Errorf("run -t with stdin from a pipe printed %q; want the echo of the input and the task's line", out)
	}

	p := openPty(t, 100, 30)
	before := p.termios()
	var errBuf strings.Builder
	cmd := p.start(e, &errBuf, "run", "--rm", "-t", e.img, "tty", "sh", "-c", sizeLoop)
	// The size is set before the program starts: its first line has it.
	p.waitOutput("30 100\r\n", "")
	if out := p.output(); !strings.HasPrefix(out, "30 100\r\n") {
		t.Errorf("first output of the task %q; want its size 30 100", out)
	}
	p.waitRaw()
	// The local terminal's size changes, dctr gets SIGWINCH and passes it
	// on; a line typed (CR, as in raw mode) makes the task print its size.
	p.setSize(120, 40)
	p.waitOutput("size 40 120", "\r")
	// ^D typed ends the task's input: its end-of-file, not dctr's.
	p.typeText("\x04")
	if code := exitCode(t, cmd); code != 3 || errBuf.String() != "" {
		t.Errorf("dctr run -t: exit %d, stderr %q; want 3 from the task", code, errBuf.String())
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after dctr run -t %+v; want it restored to %+v", after, before)
	}
	e.noContainers(t, "run --rm -t")

	// ^C typed is a SIGINT for the task's foreground process group, not
	// for dctr.
	before = p.termios()
	cmd = p.start(e, &errBuf, "run", "--rm", "-t", e.img, "int", "sh", "-c", "trap 'echo caught; exit 5' INT; echo ready; while :; do sleep 0.1; done")
	p.waitOutput("ready", "")
	p.waitRaw()
	p.typeText("\x03")
	if code := exitCode(t, cmd); code != 5 || errBuf.String() != "" || !strings.Contains(p.output(), "caught") {
		t.Errorf("dctr run -t after ^C: exit %d, stderr %q, output %q; want 5 from the task's trap", code, errBuf.String(), p.output())
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after dctr run -t ended by ^C %+v; want it restored", after)
	}

	// A task that fails to start restores the terminal too.
	cmd = p.start(e, &errBuf, "run", "--rm", "-t", e.img, "bad", "/no/such/program")
	if code := exitCode(t, cmd); code != exitFailure || !strings.Contains(errBuf.String(), "/no/such/program") {
		t.Errorf("dctr run -t of a missing program: exit %d, stderr %q", code, errBuf.String())
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after a failed dctr run -t %+v; want it restored", after)
	}
	e.noContainers(t, "run --rm -t")
}

// TestRunTerminalSignal: a signal sent to dctr run -t ends the task, and
// dctr restores the terminal.
func TestRunTerminalSignal(t *testing.T) {
	e := newRunEnv(t, true)
	p := openPty(t, 80, 24)
	before := p.termios()
	var errBuf strings.Builder
	cmd := p.start(e, &errBuf, "run", "--rm", "-t", e.img, "term", "sh", "-c", "trap 'exit 9' TERM; echo ready; while :; do sleep 0.1; done")
	p.waitOutput("ready", "")
	p.waitRaw()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 9 || errBuf.String() != "" {
		t.Errorf("dctr run -t after SIGTERM: exit %d, stderr %q; want 9 from the task's trap", code, errBuf.String())
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after SIGTERM %+v; want it restored to %+v", after, before)
	}
	e.noContainers(t, "run --rm -t")
}

// TestTasksExecTerminal: tasks exec -t -i gives the process a terminal the
// size of dctr's, following its changes, with dctr's input typed on it
// in raw mode, restored after.
func TestTasksExecTerminal(t *testing.T) {
	e := newRunEnv(t, true)
	e.ok(nil, "run", "-d", e.img, "box", "sleep", "1000")
	e.waitStatus(t, "box", "RUNNING")
	p := openPty(t, 90, 20)
	before := p.termios()
	var errBuf strings.Builder
	cmd := p.start(e, &errBuf, "tasks", "exec", "-t", "-i", "box", "sh", "-c", sizeLoop)
	// The size is set once the process has started: lines typed get
	// it.
	p.waitRaw()
	p.waitOutput("size 20 90", "\r")
	p.setSize(110, 35)
	p.waitOutput("size 35 110", "\r")
	p.typeText("\x04")
	if code := exitCode(t, cmd); code != 3 || errBuf.String() != "" {
		t.Errorf("dctr tasks exec -t -i: exit %d, stderr %q; want 3 from the process", code, errBuf.String())
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after tasks exec -t -i %+v; want it restored to %+v", after, before)
	}

	// -t without -i: the process gets no input and the local terminal
	// stays as it is; its output still comes through its terminal.
	cmd = p.start(e, &errBuf, "tasks", "exec", "-t", "box", "sh", "-c", `read x || echo "no input, size $(busybox stty size)"`)
	if code := exitCode(t, cmd); code != 0 || errBuf.String() != "" {
		t.Errorf("dctr tasks exec -t: exit %d, stderr %q", code, errBuf.String())
	}
	if out := p.output(); !strings.Contains(out, "no input, size ") {
		t.Errorf("terminal output %q; want the process's line", out)
	}
	if after := p.termios(); !sameMode(before, after) {
		t.Errorf("terminal mode after tasks exec -t %+v; want it untouched", after)
	}
	if ids := e.execIDs(t, "box"); strings.Join(ids, " ") != "-" {
		t.Errorf("exec ids after the execs: %q; want the init's only", ids)
	}
	e.ok(nil, "tasks", "rm", "-f", "box")
	e.ok(nil, "containers", "rm", "box")
}
