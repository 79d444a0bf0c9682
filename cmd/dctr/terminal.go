package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	containerd "github.com/daemonless/containerd"
)

// localTerminal is dctr's own terminal, for a process given a terminal of
// its own (run -t, tasks exec -t): the window size to pass on, and
// standard input, put in raw mode while the process runs so that every
// key reaches the process's terminal as typed.
type localTerminal struct {
	// in is standard input when it is a terminal to put in raw mode.
	in *os.File
	// sized is a terminal to read the window size of: standard input
	// or, when that is none, standard output; nil when neither is.
	sized *os.File
	// saved is in's mode before makeRaw, nil when it is not raw.
	saved *unix.Termios
}

// newLocalTerminal finds the local terminal among the streams in and out;
// raw says whether in is passed on to the process (and is then put in raw
// mode, when a terminal).
func newLocalTerminal(in io.Reader, out io.Writer, raw bool) *localTerminal {
	lt := &localTerminal{}
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		lt.sized = f
		if raw {
			lt.in = f
		}
	}
	if f, ok := out.(*os.File); ok && lt.sized == nil && isTerminal(f) {
		lt.sized = f
	}
	return lt
}

// size returns the local terminal's window size in characters; ok is
// false when there is no local terminal or it has no size set.
func (lt *localTerminal) size() (w, h uint32, ok bool) {
	if lt.sized == nil {
		return 0, 0, false
	}
	ws, err := unix.IoctlGetWinsize(int(lt.sized.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 || ws.Row == 0 {
		return 0, 0, false
	}
	return uint32(ws.Col), uint32(ws.Row), true
}

// makeRaw puts standard input, when a terminal, in raw mode, as
// cfmakeraw(3) does: no echo, no line editing, no signals made from
// keys (^C is a byte like any other), no translation of input or output.
// restore puts it back.
func (lt *localTerminal) makeRaw() error {
	if lt.in == nil || lt.saved != nil {
		return nil
	}
	fd := int(lt.in.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return fmt.Errorf("terminal: raw mode: %w", err)
	}
	lt.saved = saved
	return nil
}

// restore puts standard input back in the mode makeRaw found it in.
func (lt *localTerminal) restore() error {
	if lt.saved == nil {
		return nil
	}
	err := unix.IoctlSetTermios(int(lt.in.Fd()), unix.TCSETS, lt.saved)
	lt.saved = nil
	if err != nil {
		return fmt.Errorf("terminal: restore its mode: %w", err)
	}
	return nil
}

// foreground is what a command running a process in the foreground (run,
// tasks exec) takes over from dctr until release: SIGINT and SIGTERM
// (from main's watcher), the other forwardedSignals, and with a terminal
// SIGWINCH and the local terminal's mode.
//
// Signals are passed on to the process even with a terminal: in raw mode
// a ^C typed is not a signal to dctr but a byte its terminal turns into a
// SIGINT for the foreground process group inside, so a signal dctr gets
// was sent to it by something else (kill, or a terminal it does not read)
// and is meant for the process.
type foreground struct {
	sigs  chan os.Signal
	winch chan os.Signal
	term  *localTerminal
	undo  []func()
}

// takeForeground takes the signals over. When ctx comes from no
// watchInterrupts (run called in a test), the caller keeps its signals and
// none are passed on.
func takeForeground(ctx context.Context) *foreground {
	f := &foreground{sigs: make(chan os.Signal, 16)}
	release, ok := takeInterrupts(ctx, func(s os.Signal) {
		select {
		case f.sigs <- s:
		default:
		}
	})
	f.undo = append(f.undo, release)
	if ok {
		signal.Notify(f.sigs, forwardedSignals...)
		f.undo = append(f.undo, func() { signal.Stop(f.sigs) })
	}
	return f
}

// useTerminal puts lt in raw mode, when it is to be, and passes the
// local terminal's size changes on from now on.
func (f *foreground) useTerminal(lt *localTerminal) error {
	f.term = lt
	if lt.sized != nil {
		f.winch = make(chan os.Signal, 1)
		signal.Notify(f.winch, syscall.SIGWINCH)
		f.undo = append(f.undo, func() { signal.Stop(f.winch) })
	}
	if err := lt.makeRaw(); err != nil {
		return err
	}
	// Whatever the way out, the terminal's mode is put back.
	f.undo = append(f.undo, func() { _ = lt.restore() })
	return nil
}

// resize gives p's terminal the local terminal's size, if it has one.
func (f *foreground) resize(ctx context.Context, p containerd.Process) error {
	if f.term == nil {
		return nil
	}
	w, h, ok := f.term.size()
	if !ok {
		return nil
	}
	return p.Resize(ctx, w, h)
}

// wait passes the signals dctr gets on to p, and the local terminal's
// size changes to its terminal, until p's exit status arrives on exited.
// what names p in the failures it reports.
func (f *foreground) wait(ctx context.Context, cmd *cobra.Command, p containerd.Process, exited <-chan containerd.ExitStatus, what string) containerd.ExitStatus {
	for {
		select {
		case s := <-f.sigs:
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			if err := p.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
				f.report(cmd, fmt.Errorf("%spass %s on to %s: %w", prefix(cmd), signalName(sig), what, err))
			}
		case <-f.winch:
			if err := f.resize(ctx, p); err != nil && running(ctx, p) {
				f.report(cmd, fmt.Errorf("%sresize the terminal of %s: %w", prefix(cmd), what, err))
			}
		case st := <-exited:
			return st
		}
	}
}

// report reports err on a line of its own, the terminal being raw or not.
func (f *foreground) report(cmd *cobra.Command, err error) {
	if f.term != nil && f.term.saved != nil {
		fmt.Fprint(cmd.ErrOrStderr(), "\r")
		defer fmt.Fprint(cmd.ErrOrStderr(), "\r")
	}
	report(cmd, err)
}

// running reports whether p still runs: a failure to signal or resize a
// process that has exited meanwhile is no failure.
func running(ctx context.Context, p containerd.Process) bool {
	st, err := p.Status(ctx)
	return err == nil && st.Status != containerd.Stopped
}

// release gives the signals back and restores the local terminal.
func (f *foreground) release() {
	for i := len(f.undo) - 1; i >= 0; i-- {
		f.undo[i]()
	}
	f.undo = nil
}
