package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
)

const helperEnv = "JOURNAL_TEST_HELPER"

// TestMain lets the test binary be the other processes of the
// multi-process tests.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper(os.Args[len(os.Args)-3:]))
	}
	os.Exit(m.Run())
}

// helper appends n events to the journal in dir as fast as it can, with
// a cap of maxEvents (0: the default), in batches of one or several.
func helper(args []string) int {
	dir := args[0]
	n, _ := strconv.Atoi(args[1])
	maxEvents, _ := strconv.Atoi(args[2])
	var opts []Opt
	if maxEvents > 0 {
		opts = append(opts, WithMaxEvents(maxEvents), WithMaxBytes(MinBytes))
	}
	w, err := NewWriter(dir, opts...)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for i := range n {
		w.Append(uint64(i+1), envelope("/test/n", map[string]any{"i": i, "pid": os.Getpid(), "pad": strings.Repeat("x", i%50)}))
		if i%7 == 0 {
			w.Flush(context.Background())
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(w.Origin())
	return 0
}

func envelope(topic string, event any) *events.Envelope {
	return &events.Envelope{Timestamp: time.Now().UTC(), Namespace: "default", Topic: topic, Event: event}
}

func newWriter(t *testing.T, dir string, opts ...Opt) *Writer {
	t.Helper()
	w, err := NewWriter(dir, opts...)
	if err != nil {
		t.Fatalf("NewWriter = %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func newReader(t *testing.T, dir string, opts ...ReaderOpt) *Reader {
	t.Helper()
	r, err := NewReader(dir, opts...)
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readAll reads r to its current end.
func readAll(t *testing.T, r *Reader) []*Record {
	t.Helper()
	var out []*Record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Read = %v", err)
		}
		out = append(out, rec)
	}
}

// readN reads n records, waiting for them at most d.
func readN(t *testing.T, r *Reader, n int, d time.Duration) []*Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*Record
	for len(out) < n {
		rec, err := r.Read()
		if err == io.EOF {
			if err := r.Wait(ctx); err != nil {
				t.Fatalf("after %d of %d records: Wait = %v", len(out), n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Read = %v", err)
		}
		out = append(out, rec)
	}
	return out
}

func flush(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v", err)
	}
}

// TestRoundTrip: events come back with their envelope, typed for the
// topics of package events, in generic form for others, without a
// payload that does not encode or is too long.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, WithMaxBytes(MinBytes))
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	exit := &events.TaskExit{ContainerID: "c1", ID: "c1", Pid: 42, ExitStatus: 3, ExitedAt: at}
	w.Append(1, &events.Envelope{Timestamp: at, Namespace: "ns1", Topic: exit.Topic(), Event: exit})
	w.Append(2, envelope("/example.com/deploy", map[string]any{"app": "web", "replicas": 3, "big": uint64(1) << 60}))
	w.Append(3, envelope("/example.com/func", func() {}))
	w.Append(4, envelope("/example.com/huge", strings.Repeat("x", MinBytes)))
	w.Append(5, envelope("/example.com/text", "hello"))
	flush(t, w)

	got := readAll(t, newReader(t, dir, Since(time.Time{})))
	if len(got) != 5 {
		t.Fatalf("read %d records, want 5", len(got))
	}
	for i, rec := range got {
		if rec.Seq != uint64(i+1) || rec.OriginSeq != uint64(i+1) || rec.Origin != w.Origin() || rec.Pid != os.Getpid() {
			t.Errorf("record %d: seq %d, origin %s %d/%d; want %d, %s %d/%d", i, rec.Seq, rec.Origin, rec.Pid, rec.OriginSeq, i+1, w.Origin(), os.Getpid(), i+1)
		}
	}
	if e := got[0].Envelope; !e.Timestamp.Equal(at) || e.Namespace != "ns1" || e.Topic != "/tasks/exit" {
		t.Errorf("envelope = %+v", e)
	} else if p, ok := e.Event.(*events.TaskExit); !ok || *p != *exit {
		t.Errorf("payload = %#v, want %#v", e.Event, exit)
	}
	m, ok := got[1].Envelope.Event.(map[string]any)
	if !ok || m["app"] != "web" || m["replicas"] != json.Number("3") || m["big"] != json.Number("1152921504606846976") {
		t.Errorf("own payload = %#v, want a map with json.Numbers", got[1].Envelope.Event)
	}
	if v, ok := got[1].Envelope.Field([]string{"event", "app"}); !ok || v != "web" {
		t.Errorf(`Field(event.app) = %q, %v; want "web"`, v, ok)
	}
	for _, rec := range got[2:4] {
		if rec.Envelope.Event != nil || rec.Omitted == "" {
			t.Errorf("%s: event %v, omitted %q; want none and why", rec.Envelope.Topic, rec.Envelope.Event, rec.Omitted)
		}
	}
	if got[4].Envelope.Event != "hello" {
		t.Errorf("string payload = %#v", got[4].Envelope.Event)
	}
}

// TestTopics: every topic of package events decodes into its type.
func TestTopics(t *testing.T) {
	topics := []string{
		events.TopicImageCreate, events.TopicImageUpdate, events.TopicImageDelete,
		events.TopicContainerCreate, events.TopicContainerUpdate, events.TopicContainerDelete,
		events.TopicContentCreate, events.TopicContentDelete,
		events.TopicSnapshotPrepare, events.TopicSnapshotCommit, events.TopicSnapshotRemove,
		events.TopicTaskCreate, events.TopicTaskStart, events.TopicTaskExit, events.TopicTaskOOM, events.TopicTaskDelete,
		events.TopicTaskExecAdded, events.TopicTaskExecStarted, events.TopicTaskPaused, events.TopicTaskResumed,
		events.TopicNamespaceCreate, events.TopicNamespaceUpdate, events.TopicNamespaceDelete,
	}
	for _, topic := range topics {
		if ev := newEvent(topic); ev == nil || ev.Topic() != topic {
			t.Errorf("newEvent(%s) = %T", topic, ev)
		}
		if v := decodeEvent(topic, json.RawMessage(`{}`)); v == nil {
			t.Errorf("decodeEvent(%s, {}) = nil", topic)
		}
	}
	// A payload that does not fit the topic's type: in generic form.
	if v := decodeEvent(events.TopicImageCreate, json.RawMessage(`"x"`)); v != "x" {
		t.Errorf("decodeEvent(/images/create, \"x\") = %#v", v)
	}
}

// TestFollow: a reader at the end gets what is appended afterwards,
// within 100 ms, told by inotify or polling.
func TestFollow(t *testing.T) {
	for _, polling := range []bool{false, true} {
		t.Run(fmt.Sprint("polling=", polling), func(t *testing.T) {
			dir := t.TempDir()
			w := newWriter(t, dir)
			w.Append(1, envelope("/test/before", 0))
			flush(t, w)
			var opts []ReaderOpt
			if polling {
				opts = append(opts, WithPolling(20*time.Millisecond))
			}
			r := newReader(t, dir, opts...)
			if got := readAll(t, r); len(got) != 0 {
				t.Fatalf("at the end: read %d records", len(got))
			}
			for i := range 5 {
				start := time.Now()
				w.Append(uint64(i+2), envelope("/test/after", i))
				got := readN(t, r, 1, 5*time.Second)
				if d := time.Since(start); d > 100*time.Millisecond {
					t.Errorf("event %d read after %v", i, d)
				}
				if got[0].Envelope.Topic != "/test/after" || got[0].Envelope.Event != json.Number(strconv.Itoa(i)) {
					t.Errorf("read %+v", got[0].Envelope)
				}
			}
		})
	}
}

// TestFollowFromNothing: a reader of a journal no one wrote yet gets
// its first records.
func TestFollowFromNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	r := newReader(t, dir)
	w := newWriter(t, dir)
	w.Append(1, envelope("/test/first", 1))
	if got := readN(t, r, 1, 5*time.Second); got[0].Seq != 1 {
		t.Errorf("first record numbered %d", got[0].Seq)
	}
}

// journalSize reports the segments of dir and their bytes.
func journalSize(t *testing.T, dir string) (int, int64) {
	t.Helper()
	firsts, err := segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, first := range firsts {
		fi, err := os.Stat(segmentPath(dir, first))
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	return len(firsts), total
}

// TestCaps: the journal stays within its caps of events and bytes, and
// keeps at least seven eighths of them, the newest, numbered without a
// gap.
func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxEvents int
		pad       int
	}{
		{"events", 200, 0},      // 200 records of ~170 bytes: the count caps
		{"bytes", 100_000, 500}, // 64 KiB of ~700-byte records: the bytes cap
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := newWriter(t, dir, WithMaxEvents(tc.maxEvents), WithMaxBytes(MinBytes))
			const total = 5000
			for i := range total {
				w.Append(uint64(i+1), envelope("/test/n", strings.Repeat("x", tc.pad)))
				if i%100 == 0 {
					flush(t, w)
					if n, size := journalSize(t, dir); n > MaxSegments || size > MinBytes {
						t.Fatalf("after %d events: %d segments, %d bytes", i, n, size)
					}
				}
			}
			flush(t, w)
			n, size := journalSize(t, dir)
			got := readAll(t, newReader(t, dir, Since(time.Time{})))
			t.Logf("%d segments, %d bytes, %d records", n, size, len(got))
			if n > MaxSegments || size > MinBytes || len(got) > tc.maxEvents {
				t.Errorf("%d segments, %d bytes, %d records; caps %d, %d, %d", n, size, len(got), MaxSegments, MinBytes, tc.maxEvents)
			}
			if len(got) == 0 || got[len(got)-1].Seq != total {
				t.Fatalf("last record is not the last event")
			}
			for i := 1; i < len(got); i++ {
				if got[i].Seq != got[i-1].Seq+1 {
					t.Fatalf("record %d after %d", got[i].Seq, got[i-1].Seq)
				}
			}
			if tc.name == "events" && len(got) < tc.maxEvents*7/8 {
				t.Errorf("kept %d events, under 7/8 of %d", len(got), tc.maxEvents)
			}
			if tc.name == "bytes" && size < MinBytes*6/8 {
				t.Errorf("kept %d bytes, well under %d", size, MinBytes)
			}
		})
	}
}

// TestTorn: a record torn by a crash is skipped by readers, and the next
// writer goes on after it.
func TestTorn(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	for i := range 3 {
		w.Append(uint64(i+1), envelope("/test/n", i))
	}
	flush(t, w)
	w.Close()
	path := segmentPath(dir, 1)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-20); err != nil { // mid third record
		t.Fatal(err)
	}

	r := newReader(t, dir, Since(time.Time{}))
	if got := readAll(t, r); len(got) != 2 {
		t.Fatalf("read %d records of a journal with a torn third, want 2", len(got))
	}
	tail := newReader(t, dir) // at the end: before the torn line
	w2 := newWriter(t, dir)
	w2.Append(1, envelope("/test/after", "crash"))
	flush(t, w2)
	for _, r := range []*Reader{r, tail} {
		got := readN(t, r, 1, 5*time.Second)
		if got[0].Envelope.Topic != "/test/after" || got[0].Seq != 3 {
			t.Errorf("after the torn record: %s numbered %d, want /test/after numbered 3", got[0].Envelope.Topic, got[0].Seq)
		}
		if r.Skipped() != 1 {
			t.Errorf("Skipped() = %d, want 1", r.Skipped())
		}
	}
	all := readAll(t, newReader(t, dir, Since(time.Time{})))
	if len(all) != 3 {
		t.Errorf("journal holds %d records, want 3", len(all))
	}
}

// TestDamaged: a damaged line is skipped, the lines after it read.
func TestDamaged(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	for i := range 3 {
		w.Append(uint64(i+1), envelope("/test/n", i))
	}
	flush(t, w)
	path := segmentPath(dir, 1)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	second := strings.Index(string(b), "\n") + 1
	b[second+20] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newReader(t, dir, Since(time.Time{}))
	got := readAll(t, r)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 || r.Skipped() != 1 {
		t.Errorf("read %d records, skipped %d; want 1 and 3, one skipped", len(got), r.Skipped())
	}
}

// TestSince: a replay skips the records stamped before its time.
func TestSince(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		w.Append(uint64(i+1), &events.Envelope{Timestamp: base.Add(time.Duration(i) * time.Minute), Namespace: "default", Topic: "/test/n", Event: i})
	}
	flush(t, w)
	got := readAll(t, newReader(t, dir, Since(base.Add(7*time.Minute))))
	if len(got) != 3 || got[0].Seq != 8 {
		t.Errorf("since minute 7: %d records from %v, want 3 from 8", len(got), got)
	}
}

// TestFellBehind: a reader whose next segment was removed is told, once,
// and goes on with what there is.
func TestFellBehind(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, WithMaxEvents(80), WithMaxBytes(MinBytes))
	for i := range 10 { // the first segment, full
		w.Append(uint64(i+1), envelope("/test/n", i))
	}
	flush(t, w)
	r := newReader(t, dir, Since(time.Time{}))
	if got := readN(t, r, 5, time.Second); got[4].Seq != 5 {
		t.Fatalf("read up to %d", got[4].Seq)
	}
	for i := range 200 { // 20 segments: the one after the reader's is gone
		w.Append(uint64(i+11), envelope("/test/n", i))
	}
	flush(t, w)
	var lost error
	var after []*Record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lost != nil {
				t.Fatalf("second error %v", err)
			}
			lost = err
			continue
		}
		after = append(after, rec)
	}
	if !errdefs.IsDataLoss(lost) {
		t.Errorf("error = %v, want DataLoss", lost)
	}
	if len(after) < 70 || after[len(after)-1].Seq != 210 {
		t.Errorf("read %d records after falling behind, the last %d", len(after), after[len(after)-1].Seq)
	}
}

// TestProcesses: writers in several processes append at once; every
// record is whole, numbered without a gap, and each writer's in its
// order.
func TestProcesses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxEvents int
	}{{"one segment", 0}, {"rotating", 800}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			const each = 2000
			r := newReader(t, dir, Since(time.Time{}))
			var cmds []*exec.Cmd
			var outs []*bytes.Buffer
			for range 3 {
				cmd := exec.Command(os.Args[0], "-test.run=^$", dir, strconv.Itoa(each), strconv.Itoa(tc.maxEvents))
				cmd.Env = append(os.Environ(), helperEnv+"=1")
				cmd.Stderr = os.Stderr
				out := new(bytes.Buffer)
				cmd.Stdout = out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			// Read while they write: a reader follows rotations.
			var got []*Record
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			want := 3 * each
			if tc.maxEvents > 0 {
				want = -1 // as many as the reader keeps up with
			}
			done := make(chan struct{})
			go func() {
				for _, cmd := range cmds {
					cmd.Wait()
				}
				close(done)
			}()
			var lost error
		read:
			for len(got) != want {
				rec, err := r.Read()
				switch {
				case err == io.EOF:
					select {
					case <-done:
						if rec, _ := r.Read(); rec == nil {
							break read
						} else {
							got = append(got, rec)
						}
					default:
						r.Wait(ctx)
					}
					continue
				case errdefs.IsDataLoss(err):
					lost = err
					continue
				case err != nil:
					t.Fatal(err)
				}
				got = append(got, rec)
			}
			<-done
			origins := map[string]bool{}
			for i, cmd := range cmds {
				if !cmd.ProcessState.Success() {
					t.Fatalf("helper: %v: %s", cmd.ProcessState, outs[i])
				}
				origins[strings.TrimSpace(outs[i].String())] = true
			}
			if len(origins) != 3 {
				t.Fatalf("helpers reported origins %v", origins)
			}
			if r.Skipped() != 0 {
				t.Errorf("%d lines skipped: records interleaved", r.Skipped())
			}
			last := map[string]uint64{}
			for i, rec := range got {
				if !origins[rec.Origin] {
					t.Fatalf("record %d from unknown origin %q", rec.Seq, rec.Origin)
				}
				if rec.OriginSeq <= last[rec.Origin] {
					t.Fatalf("origin %s: %d after %d", rec.Origin, rec.OriginSeq, last[rec.Origin])
				}
				if tc.maxEvents == 0 && rec.OriginSeq != last[rec.Origin]+1 {
					t.Fatalf("origin %s: %d after %d", rec.Origin, rec.OriginSeq, last[rec.Origin])
				}
				last[rec.Origin] = rec.OriginSeq
				if rec.Lost != 0 {
					t.Errorf("record %d: %d lost", rec.Seq, rec.Lost)
				}
				if i > 0 && rec.Seq != got[i-1].Seq+1 && lost == nil {
					t.Fatalf("record %d after %d", rec.Seq, got[i-1].Seq)
				}
			}
			if got[len(got)-1].Seq != 3*each {
				t.Errorf("last record %d, want %d", got[len(got)-1].Seq, 3*each)
			}
			t.Logf("read %d records (fell behind: %v)", len(got), lost)
			if n, size := journalSize(t, dir); tc.maxEvents > 0 && (n > MaxSegments || size > MinBytes) {
				t.Errorf("%d segments, %d bytes", n, size)
			}
		})
	}
}

// TestWriterClosed: Close writes what is queued; later events are
// dropped; a writer never used makes no files.
func TestWriterClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	w := newWriter(t, dir)
	if err := w.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unused writer made %s: %v", dir, err)
	}
	w = newWriter(t, dir)
	for i := range 100 {
		w.Append(uint64(i+1), envelope("/test/n", i))
	}
	w.Close()
	w.Append(101, envelope("/test/n", 100))
	if got := readAll(t, newReader(t, dir, Since(time.Time{}))); len(got) != 100 {
		t.Errorf("journal holds %d records, want 100", len(got))
	}
	if _, err := NewWriter(dir, WithMaxEvents(0)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("NewWriter(0 events) = %v, want InvalidArgument", err)
	}
	if _, err := NewWriter(dir, WithMaxBytes(MinBytes-1)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("NewWriter(too few bytes) = %v, want InvalidArgument", err)
	}
}

// BenchmarkAppend measures what Append costs its caller, the writer
// keeping up.
func BenchmarkAppend(b *testing.B) {
	dir := b.TempDir()
	w, _ := NewWriter(dir)
	defer w.Close()
	env := envelope(events.TopicContainerCreate, &events.ContainerCreate{ID: "redis", Image: "docker.io/library/redis:7"})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Append(uint64(i), env)
		if i%1000 == 999 {
			w.Flush(context.Background())
		}
	}
}

// BenchmarkWrite measures the writer's throughput: events appended and
// written.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	w, _ := NewWriter(dir)
	defer w.Close()
	env := envelope(events.TopicContainerCreate, &events.ContainerCreate{ID: "redis", Image: "docker.io/library/redis:7"})
	for i := 0; b.Loop(); i++ {
		w.Append(uint64(i), env)
		w.Flush(context.Background())
	}
}

// TestLineFormat: a line is its checksum and JSON, which decodes back to
// what was written, whatever the strings hold.
func TestLineFormat(t *testing.T) {
	at := time.Date(2025, 6, 7, 8, 9, 10, 11, time.UTC)
	in := line{Seq: 7, Time: at, Namespace: "ns", Topic: "/a/b", Event: json.RawMessage(`{"k":"v"}`),
		Omitted: "quote \" backslash \\ newline \n <tag> é", Origin: "abc", Pid: 9, OriginSeq: 3, Lost: 2}
	b := appendLine(nil, &in)
	if b[len(b)-1] != '\n' || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("line %q: want one newline, at the end", b)
	}
	out, err := parseLine(b[:len(b)-1])
	if err != nil {
		t.Fatalf("parseLine(%q) = %v", b, err)
	}
	if !out.Time.Equal(in.Time) || string(out.Event) != string(in.Event) {
		t.Errorf("parseLine = %+v, want %+v", out, in)
	}
	if out.Seq != in.Seq || out.Namespace != in.Namespace || out.Topic != in.Topic || out.Omitted != in.Omitted ||
		out.Origin != in.Origin || out.Pid != in.Pid || out.OriginSeq != in.OriginSeq || out.Lost != in.Lost || out.Next != 0 {
		t.Errorf("parseLine = %+v, want %+v", *out, in)
	}
	var std line
	if err := json.Unmarshal(b[crcLen:len(b)-1], &std); err != nil {
		t.Errorf("the line's JSON: %v", err)
	}
	seal := appendLine(nil, &line{Next: 42})
	if l, err := parseLine(seal[:len(seal)-1]); err != nil || l.Next != 42 {
		t.Errorf("seal %q = %+v, %v", seal, l, err)
	}
	for _, bad := range []string{"", "0000000 {}", "zzzzzzzz {\"seq\":1}", "00000000 {\"seq\":1}"} {
		if _, err := parseLine([]byte(bad)); err == nil {
			t.Errorf("parseLine(%q) = nil error", bad)
		}
	}
}

// TestWriterIdle: a writer with nothing to write holds no file and no
// goroutine, and goes on where it was when it has more.
func TestWriterIdle(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir)
	open := func() []string {
		var paths []string
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			if p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(p, dir) {
				paths = append(paths, p)
			}
		}
		return paths
	}
	for round := range 3 {
		for i := range 10 {
			w.Append(uint64(round*10+i+1), envelope("/test/n", i))
		}
		flush(t, w)
		deadline := time.Now().Add(5 * time.Second)
		for len(open()) > 0 || w.busy() {
			if time.Now().After(deadline) {
				t.Fatalf("idle writer holds %v (running %v)", open(), w.busy())
			}
			time.Sleep(time.Millisecond)
		}
	}
	got := readAll(t, newReader(t, dir, Since(time.Time{})))
	if len(got) != 30 || got[29].Seq != 30 {
		t.Errorf("journal holds %d records, want 30", len(got))
	}
}

func (w *Writer) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
