package journal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// segments lists the first numbers of the segments in dir, oldest first.
// A directory that does not exist has none.
func segments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, e := range entries {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	return firsts, nil
}

// segmentPath is the path of the segment of dir starting at first.
func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, segmentName(first))
}

// tail is what a scan of part of a segment learnt.
type tail struct {
	last uint64 // the number of the last record, 0 when none
	next uint64 // a seal's: the segment is full and the journal goes on there
	end  int64  // where the scan stopped: after the last complete line
	torn bool   // bytes after the last complete line
}

// scan reads f from off to size and reports its records. A line before
// the first newline is skipped when off does not start a line
// (aligned false).
func scan(f *os.File, off, size int64, aligned bool) (tail, error) {
	t := tail{end: off}
	buf := make([]byte, 64<<10)
	n := 0 // bytes in buf, read from t.end on
	for t.end+int64(n) < size {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // a long line
		}
		want := min(int64(len(buf)-n), size-t.end-int64(n))
		m, err := f.ReadAt(buf[n:n+int(want)], t.end+int64(n))
		n += m
		if m == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				break // shrank under us
			}
			return t, err
		}
		used := 0
		for {
			i := bytes.IndexByte(buf[used:n], '\n')
			if i < 0 {
				break
			}
			ln := buf[used : used+i]
			t.end += int64(i + 1)
			used += i + 1
			if !aligned {
				aligned = true
				continue
			}
			if l, err := parseLine(ln); err == nil {
				if l.Next != 0 {
					t.next = l.Next
				} else {
					t.last = max(t.last, l.Seq)
				}
			}
		}
		n = copy(buf, buf[used:n])
	}
	t.torn = n > 0
	return t, nil
}
