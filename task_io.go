package containerd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/errdefs"
)

// IOConfig is what a task's process is given as its standard streams.
// A nil stream is the null device. An *os.File (a terminal, a log file, a
// pipe) is handed to the process as it is; any other reader or writer is
// copied through a pipe, and the task's exit is reported only once its
// output has been written to it.
type IOConfig struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal gives the process a new pseudo-terminal as its three
	// streams: what Stdin gives is typed on it (its EOF is a ^D), what the
	// process writes to it goes to Stdout; Stderr is not used. Resize
	// sets its size.
	Terminal bool
}

// IO is the standard streams of a task, made by an IOCreator for one task
// and closed when the task is deleted.
type IO interface {
	// Config returns the streams.
	Config() IOConfig
	// Close releases what the IO opened (a log file); the caller's own
	// streams are left open.
	Close() error
}

// IOCreator makes the IO of the task of container id. Stdio, NullIO,
// LogFile and NewCreator make them.
type IOCreator func(id string) (IO, error)

// IOAttach returns the IO to keep with a task loaded by Container.Task,
// one started by another Client or process. The process of such a task
// keeps the streams it was started with (a log file stays written); the IO
// returned is only held by the Task and closed when it is deleted. A nil
// IOAttach attaches nothing.
type IOAttach func(id string) (IO, error)

// IOOpt configures NewCreator.
type IOOpt func(*IOConfig)

// WithStdio gives the process the caller's standard streams.
func WithStdio(c *IOConfig) {
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
}

// WithStreams gives the process the streams in, out and errw; any may be
// nil (the null device).
func WithStreams(in io.Reader, out, errw io.Writer) IOOpt {
	return func(c *IOConfig) {
		c.Stdin, c.Stdout, c.Stderr = in, out, errw
	}
}

// WithTerminal gives the process a pseudo-terminal (see
// IOConfig.Terminal). It goes after WithStdio or WithStreams.
func WithTerminal(c *IOConfig) { c.Terminal = true }

// NewCreator returns an IOCreator giving each task the streams opts set.
func NewCreator(opts ...IOOpt) IOCreator {
	var cfg IOConfig
	for _, o := range opts {
		o(&cfg)
	}
	return func(string) (IO, error) { return &streamsIO{cfg: cfg}, nil }
}

// Stdio is the IOCreator giving a task the caller's standard streams,
// NewCreator(WithStdio).
func Stdio(id string) (IO, error) { return NewCreator(WithStdio)(id) }

// NullIO is the IOCreator giving a task the null device for its standard
// streams.
func NullIO(id string) (IO, error) { return &streamsIO{}, nil }

// LogFile returns an IOCreator appending a task's stdout and stderr to the
// file at path, created (0640) if missing; its stdin is the null device.
// path must name a regular file, not a symbolic link (InvalidArgument).
// The process writes the file itself, so the log keeps being written after
// the process that started the task is gone. The parent directory must
// exist.
func LogFile(path string) IOCreator {
	return func(id string) (IO, error) {
		if path == "" {
			return nil, fmt.Errorf("log file of task %s: empty path: %w", id, errdefs.ErrInvalidArgument)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("log file of task %s: %w", id, err)
		}
		// Non-blocking, so that a FIFO does not hang the open; not
		// following a symlink, which someone else may have put there.
		f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0o640)
		if err != nil {
			var kind error = errdefs.ErrUnknown
			switch {
			case errors.Is(err, os.ErrNotExist):
				kind = errdefs.ErrNotFound
			case errors.Is(err, os.ErrPermission):
				kind = errdefs.ErrPermissionDenied
			case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENXIO):
				kind = errdefs.ErrInvalidArgument
			}
			return nil, fmt.Errorf("log file of task %s: %w: %w", id, err, kind)
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("log file of task %s: %s is not a regular file: %w", id, abs, errdefs.ErrInvalidArgument)
		}
		if err := clearNonblock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("log file of task %s: %w", id, err)
		}
		return &streamsIO{cfg: IOConfig{Stdout: f, Stderr: f}, closer: f}, nil
	}
}

// streamsIO is the IO of the creators above.
type streamsIO struct {
	cfg    IOConfig
	closer io.Closer
}

func (s *streamsIO) Config() IOConfig { return s.cfg }

func (s *streamsIO) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// clearNonblock makes f's writes blocking again: the process writes its
// output to the file as it is.
func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
