package journal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/daemonless/containerd/events"
)

// Record is an event as the journal holds it.
type Record struct {
	// Seq is the record's place in the journal: the records of all
	// writers are numbered in the order they were appended, from 1.
	Seq uint64
	// Origin identifies the writer that appended the record, and Pid
	// names its process.
	Origin string
	Pid    int
	// OriginSeq is the number the writer's caller gave the event
	// (Writer.Append).
	OriginSeq uint64
	// Lost counts the events of the same writer that did not make it
	// into the journal just before this one: its queue was full, or a
	// write failed.
	Lost uint64
	// Omitted says why the event's payload was left out (it does not
	// encode as JSON, or is larger than a record may be); Envelope.Event
	// is then nil.
	Omitted string
	// Envelope is the event, its payload decoded: a pointer to the type
	// package events has for a topic of its own, else the JSON value in
	// generic form (see the package documentation).
	Envelope events.Envelope
}

// line is the JSON of a record in a segment file. A seal, the last line
// of a full segment, has Next alone.
type line struct {
	Seq       uint64          `json:"seq,omitempty"`
	Time      time.Time       `json:"time,omitzero"`
	Namespace string          `json:"namespace,omitempty"`
	Topic     string          `json:"topic,omitempty"`
	Event     json.RawMessage `json:"event,omitempty"`
	Omitted   string          `json:"omitted,omitempty"`
	Origin    string          `json:"origin,omitempty"`
	Pid       int             `json:"pid,omitempty"`
	OriginSeq uint64          `json:"oseq,omitempty"`
	Lost      uint64          `json:"lost,omitempty"`
	Next      uint64          `json:"next,omitempty"`
}

// crcLen is the length of a line's checksum and the space after it.
const crcLen = 9

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadLine is a line that is torn or damaged.
var errBadLine = errors.New("bad line")

// appendLine appends l as a line: its CRC-32C in hex, a space, its JSON
// and a newline. JSON has no raw newline, so a line is a record. The JSON
// is that of encoding/json for a line, made by hand: faster.
func appendLine(buf []byte, l *line) []byte {
	start := len(buf)
	buf = append(buf, "00000000 {"...)
	if l.Next != 0 {
		buf = strconv.AppendUint(append(buf, `"next":`...), l.Next, 10)
	} else {
		buf = strconv.AppendUint(append(buf, `"seq":`...), l.Seq, 10)
		if !l.Time.IsZero() {
			buf = append(l.Time.AppendFormat(append(buf, `,"time":"`...), time.RFC3339Nano), '"')
		}
		buf = appendField(buf, "namespace", l.Namespace)
		buf = appendField(buf, "topic", l.Topic)
		if len(l.Event) > 0 {
			buf = append(append(buf, `,"event":`...), l.Event...)
		}
		buf = appendField(buf, "omitted", l.Omitted)
		buf = appendField(buf, "origin", l.Origin)
		if l.Pid != 0 {
			buf = strconv.AppendInt(append(buf, `,"pid":`...), int64(l.Pid), 10)
		}
		if l.OriginSeq != 0 {
			buf = strconv.AppendUint(append(buf, `,"oseq":`...), l.OriginSeq, 10)
		}
		if l.Lost != 0 {
			buf = strconv.AppendUint(append(buf, `,"lost":`...), l.Lost, 10)
		}
	}
	buf = append(buf, '}')
	sum := crc32.Checksum(buf[start+crcLen:], castagnoli)
	hex.Encode(buf[start:start+crcLen-1], []byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	return append(buf, '\n')
}

// appendField appends ,"name":value for a value not empty.
func appendField(buf []byte, name, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(append(append(buf, `,"`...), name...), `":`...)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(value) // cannot fail for a string
			return append(buf, js...)
		}
	}
	return append(append(append(buf, '"'), value...), '"')
}

// parseLine checks and decodes a line without its newline.
func parseLine(b []byte) (*line, error) {
	if len(b) < crcLen+2 || b[crcLen-1] != ' ' {
		return nil, errBadLine
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], b[:crcLen-1]); err != nil {
		return nil, errBadLine
	}
	js := b[crcLen:]
	if crc32.Checksum(js, castagnoli) != uint32(sum[0])<<24|uint32(sum[1])<<16|uint32(sum[2])<<8|uint32(sum[3]) {
		return nil, errBadLine
	}
	var l line
	if err := json.Unmarshal(js, &l); err != nil {
		return nil, errBadLine
	}
	if l.Next == 0 && l.Seq == 0 {
		return nil, errBadLine
	}
	return &l, nil
}

// record makes the Record of a line that is not a seal.
func (l *line) record() *Record {
	return &Record{Seq: l.Seq, Origin: l.Origin, Pid: l.Pid, OriginSeq: l.OriginSeq, Lost: l.Lost, Omitted: l.Omitted,
		Envelope: events.Envelope{Timestamp: l.Time, Namespace: l.Namespace, Topic: l.Topic, Event: decodeEvent(l.Topic, l.Event)}}
}

// decodeEvent decodes the payload of an event of topic: into the type
// package events has for the topic, or, for a topic of a program's own
// or a payload that does not fit the type, into the generic form of
// encoding/json with numbers kept as json.Number. No payload is nil.
func decodeEvent(topic string, raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	if v := newEvent(topic); v != nil && json.Unmarshal(raw, v) == nil {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // cannot be: the line's JSON parsed
	}
	return v
}

// newEvent returns a new payload of the type of topic, nil for a topic
// package events does not define.
func newEvent(topic string) events.Event {
	switch topic {
	case events.TopicImageCreate:
		return new(events.ImageCreate)
	case events.TopicImageUpdate:
		return new(events.ImageUpdate)
	case events.TopicImageDelete:
		return new(events.ImageDelete)
	case events.TopicContainerCreate:
		return new(events.ContainerCreate)
	case events.TopicContainerUpdate:
		return new(events.ContainerUpdate)
	case events.TopicContainerDelete:
		return new(events.ContainerDelete)
	case events.TopicContentCreate:
		return new(events.ContentCreate)
	case events.TopicContentDelete:
		return new(events.ContentDelete)
	case events.TopicSnapshotPrepare:
		return new(events.SnapshotPrepare)
	case events.TopicSnapshotCommit:
		return new(events.SnapshotCommit)
	case events.TopicSnapshotRemove:
		return new(events.SnapshotRemove)
	case events.TopicTaskCreate:
		return new(events.TaskCreate)
	case events.TopicTaskStart:
		return new(events.TaskStart)
	case events.TopicTaskExit:
		return new(events.TaskExit)
	case events.TopicTaskOOM:
		return new(events.TaskOOM)
	case events.TopicTaskDelete:
		return new(events.TaskDelete)
	case events.TopicTaskExecAdded:
		return new(events.TaskExecAdded)
	case events.TopicTaskExecStarted:
		return new(events.TaskExecStarted)
	case events.TopicTaskPaused:
		return new(events.TaskPaused)
	case events.TopicTaskResumed:
		return new(events.TaskResumed)
	case events.TopicNamespaceCreate:
		return new(events.NamespaceCreate)
	case events.TopicNamespaceUpdate:
		return new(events.NamespaceUpdate)
	case events.TopicNamespaceDelete:
		return new(events.NamespaceDelete)
	}
	return nil
}

// segmentName is the file name of the segment whose first record is
// numbered first.
func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentExt)
}

const segmentExt = ".jsonl"

// parseSegmentName returns the number of the first record of the
// segment named name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != 20+len(segmentExt) || name[20:] != segmentExt {
		return 0, false
	}
	n, err := strconv.ParseUint(name[:20], 10, 64)
	return n, err == nil && n > 0
}
