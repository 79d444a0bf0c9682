//go:build cgo

package runtime

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// stdio connects a task's IO to the files its init inherits.
type stdio struct {
	// The init's stdin, stdout and stderr: the caller's files, pipe ends,
	// or nil for the null device.
	in, out, err *os.File

	// childEnds are the pipe ends the init inherits, closed in this
	// process once it has them.
	childEnds []*os.File
	// stdinW is this process's end of the stdin pipe, or nil.
	stdinW *os.File
	// readers are this process's ends of the output pipes.
	readers []*os.File
	// copying counts the output copiers still running.
	copying   sync.WaitGroup
	closeOnce sync.Once

	// A process with a terminal: consoleParent receives the master of the
	// pseudo-terminal its init makes; master is it, once received, and
	// ttyIn and ttyOut the caller's streams copied to and from it.
	terminal      bool
	consoleParent *os.File
	consoleChild  *os.File
	master        *os.File
	ttyIn         io.Reader
	ttyOut        io.Writer
}

// newStdio makes the pipes c needs and starts the goroutines copying
// through them.
func newStdio(c IO) (_ *stdio, retErr error) {
	s := &stdio{}
	defer func() {
		if retErr != nil {
			s.close()
		}
	}()
	if c.Terminal {
		// The process's three streams are the terminal's slave; its
		// master, received once the process exists, is copied from
		// Stdin and to Stdout. Stderr is not used.
		parent, child, err := newConsoleSocket()
		if err != nil {
			return nil, err
		}
		s.terminal, s.consoleParent, s.consoleChild = true, parent, child
		s.childEnds = append(s.childEnds, child)
		s.ttyIn, s.ttyOut = c.Stdin, c.Stdout
		return s, nil
	}

	switch in := c.Stdin.(type) {
	case nil:
	case *os.File:
		s.in = in
	default:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		s.in, s.stdinW = r, w
		s.childEnds = append(s.childEnds, r)
	}

	out, err := s.output(c.Stdout)
	if err != nil {
		return nil, err
	}
	s.out = out
	if sameWriter(c.Stdout, c.Stderr) {
		s.err = out
	} else if s.err, err = s.output(c.Stderr); err != nil {
		return nil, err
	}

	// Start copying only once every pipe exists, so that a failure above
	// leaves no goroutine behind.
	if s.stdinW != nil {
		go copyStdin(s.stdinW, c.Stdin)
	}
	return s, nil
}

// output returns the file the init writes w's stream to, making a pipe and
// a copier when w is not a file.
func (s *stdio) output(w io.Writer) (*os.File, error) {
	switch w := w.(type) {
	case nil:
		return nil, nil
	case *os.File:
		return w, nil
	default:
		r, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		s.childEnds = append(s.childEnds, pw)
		s.readers = append(s.readers, r)
		s.copying.Add(1)
		go func() {
			defer s.copying.Done()
			// An error (the caller's writer failing, or the pipe
			// closed by drain) ends the copy; the process then gets
			// EPIPE on its next write, as with a closed pipe.
			_, _ = io.Copy(w, r)
		}()
		return pw, nil
	}
}

func copyStdin(w *os.File, r io.Reader) {
	_, _ = io.Copy(w, r)
	// EOF of the caller's reader is EOF of the process's stdin.
	_ = w.Close()
}

// attachConsole receives the terminal's master from the started process
// and starts copying through it. It does nothing for a process without a
// terminal. started must have been called, so that a process dying before
// it sends the master makes the receive fail instead of wait.
func (s *stdio) attachConsole() error {
	if !s.terminal {
		return nil
	}
	m, err := recvConsole(s.consoleParent)
	if err != nil {
		return err
	}
	_ = s.consoleParent.Close()
	s.master = m
	out := s.ttyOut
	if out == nil {
		// The terminal must be read, or the process blocks once its
		// buffer is full.
		out = io.Discard
	}
	s.copying.Add(1)
	go func() {
		defer s.copying.Done()
		// Reading the master fails with EIO once every slave is closed:
		// the process and its children have exited.
		_, _ = io.Copy(out, m)
	}()
	if s.ttyIn != nil {
		go func() {
			_, _ = io.Copy(m, s.ttyIn)
			// EOF of the caller's reader is an end-of-file character
			// typed on the terminal.
			_, _ = m.Write([]byte{eotChar})
		}()
	}
	return nil
}

// eotChar is the terminal's end-of-file character (^D) in its default
// settings: a read of a line-mode reader returns what was typed, or EOF.
const eotChar = 0x04

// closeStdin ends the process's standard input: the pipe is closed, or, on
// a terminal, an end-of-file character is typed.
func (s *stdio) closeStdin() error {
	if s.terminal {
		if s.master == nil {
			return errNoConsole
		}
		_, err := s.master.Write([]byte{eotChar})
		return err
	}
	if s.stdinW != nil {
		err := s.stdinW.Close()
		if errors.Is(err, os.ErrClosed) {
			err = nil
		}
		return err
	}
	return nil
}

// resize sets the terminal's window size.
func (s *stdio) resize(width, height uint16) error {
	if !s.terminal || s.master == nil {
		return errNoConsole
	}
	return resizeConsole(s.master, width, height)
}

var errNoConsole = errors.New("the process has no terminal")

// started closes the ends the init inherited: from now on only the
// container holds them, so the output pipes reach EOF when it exits.
func (s *stdio) started() {
	for _, f := range s.childEnds {
		_ = f.Close()
	}
	s.childEnds = nil
}

// drain waits at most timeout for the output copiers to reach EOF, then
// closes every pipe end of this process and waits for the copiers to
// return, so that all their writes happen before drain returns. Only a
// caller's Write that never returns can hold it longer.
func (s *stdio) drain(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		s.copying.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	s.close()
	<-done
}

// close closes every pipe end of this process, ending the copiers.
func (s *stdio) close() {
	s.closeOnce.Do(func() {
		s.started()
		for _, f := range s.readers {
			_ = f.Close()
		}
		if s.stdinW != nil {
			_ = s.stdinW.Close()
		}
		if s.consoleParent != nil {
			_ = s.consoleParent.Close()
		}
		if s.master != nil {
			_ = s.master.Close()
		}
	})
}

// sameWriter reports whether a and b are the same comparable writer.
func sameWriter(a, b io.Writer) (same bool) {
	if a == nil || b == nil {
		return false
	}
	defer func() {
		// Comparing two values of the same uncomparable type panics:
		// they are then not known to be the same.
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
