package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// humanSize formats a size in bytes with binary units: exact bytes below
// 1 KiB ("512 B"), else at most one decimal ("1.5 MiB", "3 GiB").
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	const units = "KMGTPE"
	v := float64(n)
	i := -1
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "1024.0" && i < len(units)-1 {
		// 1023.95 KiB and above round up into the next unit.
		s, i = "1.0", i+1
	}
	return strings.TrimSuffix(s, ".0") + " " + units[i:i+1] + "iB"
}

// age describes how long ago t was, coarsely: "3 seconds", "2 minutes",
// "5 days". A zero t is "-"; a t in the future counts as now.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "less than a second"
	}
	steps := []struct {
		unit time.Duration
		name string
		upTo time.Duration // use this unit below upTo
	}{
		{time.Second, "second", time.Minute},
		{time.Minute, "minute", time.Hour},
		{time.Hour, "hour", 48 * time.Hour},
		{24 * time.Hour, "day", 14 * 24 * time.Hour},
		{7 * 24 * time.Hour, "week", 60 * 24 * time.Hour},
		{30 * 24 * time.Hour, "month", 2 * 365 * 24 * time.Hour},
		{365 * 24 * time.Hour, "year", 1<<63 - 1},
	}
	for _, s := range steps {
		if d < s.upTo {
			return plural(int64(d/s.unit), s.name)
		}
	}
	panic("unreachable")
}

// ago is age with " ago" appended, except for a zero t.
func ago(now, t time.Time) string {
	a := age(now, t)
	if a == "-" {
		return a
	}
	return a + " ago"
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// formatLabels renders labels as "k=v,k2=v2" sorted by key, or "-" when
// there are none. Keys and values that would make the list ambiguous
// (empty, or holding a comma, '=', a quote, space or control character)
// are quoted as Go strings.
func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteLabel(k))
		b.WriteByte('=')
		b.WriteString(quoteLabel(labels[k]))
	}
	return b.String()
}

func quoteLabel(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r == ',' || r == '=' || r == '"' || r <= ' ' || r == 0x7f || !strconv.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

// table writes rows of tab-separated columns aligned with a tabwriter.
// It holds all rows until flush, which writes them to the underlying
// writer; give it a buffered one for long tables.
type table struct {
	tw *tabwriter.Writer
}

// newTable starts a table with a header row.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)}
	t.row(header...)
	return t
}

// row adds one row. Cells must not hold tabs or newlines.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

// flush aligns and writes the rows.
func (t *table) flush() error {
	return t.tw.Flush()
}
