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
	// OOMKilled is set when the kernel's OOM killer killed the process:
	// it died of SIGKILL after an OOM kill in its task's cgroup.
	OOMKilled bool
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

// IO holds the standard streams of a process. A nil stream is the null
// device. An *os.File is given to the process as it is; anything else is
// copied through a pipe (see the package documentation).
//
// With Terminal, the process gets a new pseudo-terminal as its three
// streams instead: what is read from Stdin is typed on it, what the
// process writes to it is copied to Stdout, and Stderr is not used.
// ConsoleWidth and ConsoleHeight, when both set, are its first size.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	Terminal                    bool
	ConsoleWidth, ConsoleHeight uint16
}

// EventType is the kind of an Event.
type EventType int

// The events a Runtime reports to its handler (WithEventHandler).
const (
	// EventExit: a process this process started has exited and been
	// reaped; Exit says how.
	EventExit EventType = iota + 1
	// EventOOM: the kernel's OOM killer killed a process of a task.
	EventOOM
)

// Event is something that happened to a task, reported to the handler of
// WithEventHandler.
type Event struct {
	Type EventType
	// TaskID is the task's container id; ExecID the exec'd process's id,
	// empty for the task's init.
	TaskID, ExecID string
	// Pid is the process's pid (EventExit).
	Pid int
	// Exit is how the process exited (EventExit).
	Exit ExitStatus
}
