package runtime

import (
	"io"
	"time"
)

// UnknownExitStatus is the Code of an ExitStatus whose process's exit could
// not be known; its Err says why. It is containerd's value.
const UnknownExitStatus = 255

// ExitStatus is how a task's init ended.
type ExitStatus struct {
	// Code is the process's exit code, or 128+n if signal n killed it,
	// or UnknownExitStatus with Err set.
	Code uint32
	// ExitedAt is when the process was reaped.
	ExitedAt time.Time
	// Err is set when the exit could not be known (Code is then
	// UnknownExitStatus), or when waiting was given up (the context of
	// Wait ended).
	Err error
}

// Status is the state of a task.
type Status string

// The states of a task.
const (
	// Created: the init exists and waits; the user's program has not
	// started.
	Created Status = "created"
	// Running: the user's program runs.
	Running Status = "running"
	// Paused: every process of the task is frozen.
	Paused Status = "paused"
	// Stopped: the init has exited.
	Stopped Status = "stopped"
)

// IO holds the standard streams of a task's init. A nil stream is the null
// device. An *os.File is given to the process as it is; anything else is
// copied through a pipe (see the package documentation).
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}
