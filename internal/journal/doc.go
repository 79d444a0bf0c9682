// Package journal provides the events journal of a root: a bounded log
// of the events every client on the root publishes, which a client in
// another process reads to follow them.
//
// A Writer appends; a Reader reads, from the end or from the start, and
// follows. Neither knows more of the events than their envelopes: the
// client ties them to its exchange (package internal/events).
//
// # Files
//
// The journal is a directory of segment files and a lock file. A
// segment is named after the number of its first record, 20 decimal
// digits and ".jsonl"; records are numbered in the journal's order, from
// 1, whatever process wrote them. Each line of a segment is one record:
// the CRC-32C of its JSON in 8 hex digits, a space, the JSON, a newline.
// The JSON holds the record's number, the event's time, namespace, topic
// and payload (as JSON), and where it comes from: the writer's random
// origin id, its pid, and the number the writer's caller gave the event.
// The last line of a full segment is a seal, {"next":N}: the journal
// goes on in the segment named after N.
//
// # Writing
//
// A writer queues the events it is given (up to QueueLen; more are lost,
// and the next record says how many) and writes them from a goroutine of
// its own, in batches: it takes the lock (flock on the lock file), learns
// what other writers appended since it last looked (it reads their new
// bytes), appends the batch in one write per segment, and lets go. A
// segment is full when it holds a MaxSegments-th of the caps, events or
// bytes; the writer then seals it, makes the next and removes the oldest
// segments beyond MaxSegments, so that the journal keeps between seven
// eighths and all of its caps (DefaultMaxEvents, DefaultMaxBytes). An
// event whose record would be longer than MaxRecord, or whose payload
// does not encode as JSON, is journaled without its payload.
//
// # Crashes
//
// A writer that dies in the middle of a write leaves a torn last line:
// the next writer ends it with a newline before it appends, and readers
// skip it, as they skip any line whose checksum or JSON is wrong. A
// reader never takes a line without its newline, which may still be on
// its way. Nothing is synced to disk: the journal outlives the crash of
// a process, not always that of the machine.
//
// # Reading
//
// A reader is told of changes by inotify on the directory, and looks
// every PollInterval where inotify is not to be had. It reads a segment
// to its seal, then opens the next, keeping the file it reads open, so
// that a writer removing it does no harm; a reader so far behind that
// the next segment is gone gets an error of kind DataLoss.
//
// # Payloads
//
// A record read back has the payload of a topic of package events as a
// pointer to the type package events has for it (*events.TaskExit for
// "/tasks/exit"). A topic of a program's own, whose type the journal
// cannot know, is decoded as encoding/json decodes into an any, numbers
// kept as json.Number: an object is a map[string]any, whose keys event
// filters can name.
package journal
