package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/daemonless/containerd/remotes"
)

// progressPrinter shows the transfers of a pull or push. On a terminal it
// redraws one line per descriptor with a bar, ten times a second; on
// anything else it prints a plain line when a descriptor ends.
type progressPrinter struct {
	out   io.Writer
	tty   bool
	verb  string // "downloading" or "uploading"
	start time.Time

	mu     sync.Mutex
	header string // "REF: resolved", once known
	order  []string
	items  map[string]*progressItem
	drawn  int // lines drawn last time, on a terminal
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

type progressItem struct {
	key    string
	state  remotes.ProgressState
	offset int64
	total  int64
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func newProgressPrinter(out io.Writer, verb string) *progressPrinter {
	p := &progressPrinter{out: out, tty: isTerminal(out), verb: verb, start: time.Now(), items: map[string]*progressItem{}}
	if p.tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

func (p *progressPrinter) loop() {
	defer close(p.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// resolved records that ref resolved to digest: the first line shown.
func (p *progressPrinter) resolved(ref string, dgst string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.header != "" {
		return
	}
	p.header = fmt.Sprintf("%s: resolved %s", ref, dgst)
	if !p.tty {
		fmt.Fprintln(p.out, p.header)
	}
}

// update takes a progress report; it is a remotes.ProgressFunc.
func (p *progressPrinter) update(pr remotes.Progress) {
	key := remotes.RefKey(pr.Desc)
	p.mu.Lock()
	defer p.mu.Unlock()
	it, ok := p.items[key]
	if !ok {
		it = &progressItem{key: key, total: pr.Desc.Size}
		p.items[key] = it
		p.order = append(p.order, key)
	}
	it.state, it.offset = pr.State, pr.Offset
	if !p.tty && p.ended(it.state) {
		fmt.Fprintf(p.out, "%s: %s %s\n", key, p.stateName(it.state), humanSize(it.total))
	}
}

func (p *progressPrinter) ended(s remotes.ProgressState) bool {
	return s == remotes.ProgressDone || s == remotes.ProgressExists || s == remotes.ProgressMounted || s == remotes.ProgressFailed
}

func (p *progressPrinter) stateName(s remotes.ProgressState) string {
	switch s {
	case remotes.ProgressWaiting:
		return "waiting"
	case remotes.ProgressMoving:
		return p.verb
	case remotes.ProgressExists:
		return "exists"
	case remotes.ProgressMounted:
		return "mounted"
	case remotes.ProgressDone:
		return "done"
	default:
		return "failed"
	}
}

// draw redraws every line in place. p.mu is held.
func (p *progressPrinter) draw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	lines := len(p.order)
	if p.header != "" {
		fmt.Fprintf(&b, "\x1b[2K%s\n", p.header)
		lines++
	}
	for _, key := range p.order {
		it := p.items[key]
		fmt.Fprintf(&b, "\x1b[2K%-24.24s %-11s %s %s/%s\n", shortKey(key), p.stateName(it.state), bar(it.offset, it.total, 30), humanSize(it.offset), humanSize(it.total))
	}
	p.drawn = lines
	io.WriteString(p.out, b.String())
}

// shortKey shortens "layer-sha256:<hex>" to "layer-sha256:<12 hex>".
func shortKey(key string) string {
	if i := strings.Index(key, ":"); i >= 0 && len(key) > i+13 {
		return key[:i+13]
	}
	return key
}

func bar(n, total int64, width int) string {
	fill := 0
	if total > 0 {
		fill = int(min(n, total) * int64(width) / total)
	}
	return "|" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "|"
}

// finish stops the redraws, draws a last time, and prints the totals.
func (p *progressPrinter) finish() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	if p.tty {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		p.draw()
		p.mu.Unlock()
	}
	var total int64
	for _, it := range p.items {
		if it.state == remotes.ProgressDone {
			total += it.total
		}
	}
	el := time.Since(p.start)
	fmt.Fprintf(p.out, "elapsed: %.1f s total: %s (%s/s)\n", el.Seconds(), humanSize(total), humanSize(int64(float64(total)/max(el.Seconds(), 0.001))))
}
