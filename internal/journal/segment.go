package journal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
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
func scan(f io.ReaderAt, off, size int64, aligned bool) (tail, error) {
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

// file is a file of a writer's, by its descriptor, -1 for none: each
// batch opens and closes them, without the bookkeeping of an os.File.
type file int

const noFile file = -1

func openFile(path string, flags int, perm uint32) (file, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return noFile, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return file(fd), nil
	}
}

// ReadAt reads at off, io.EOF at the end.
func (f file) ReadAt(b []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(int(f), b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of b (at the end, the files being O_APPEND).
func (f file) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(int(f), b[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (f file) stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(int(f), &st)
	return st, err
}

func (f file) close() { unix.Close(int(f)) }
