package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestHumanSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{100_000, "97.7 KiB"},
		{1<<20 - 1, "1 MiB"},
		{3 << 19, "1.5 MiB"},
		{5 << 30, "5 GiB"},
		{1 << 62, "4 EiB"},
		{1<<63 - 1, "8 EiB"},
	} {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q; want %q", tc.n, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "less than a second"},
		{0, "less than a second"},
		{time.Second, "1 second"},
		{59 * time.Second, "59 seconds"},
		{2*time.Minute + 30*time.Second, "2 minutes"},
		{time.Hour, "1 hour"},
		{47 * time.Hour, "47 hours"},
		{3 * 24 * time.Hour, "3 days"},
		{21 * 24 * time.Hour, "3 weeks"},
		{90 * 24 * time.Hour, "3 months"},
		{3 * 365 * 24 * time.Hour, "3 years"},
	} {
		if got := age(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("age(now, now-%v) = %q; want %q", tc.d, got, tc.want)
		}
	}
	if got := age(now, time.Time{}); got != "-" {
		t.Errorf("age(now, zero time) = %q; want \"-\"", got)
	}
	if got := ago(now, now.Add(-3*time.Second)); got != "3 seconds ago" {
		t.Errorf("ago(now, now-3s) = %q; want \"3 seconds ago\"", got)
	}
	if got := ago(now, time.Time{}); got != "-" {
		t.Errorf("ago(now, zero time) = %q; want \"-\"", got)
	}
}

func TestFormatLabels(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{nil, "-"},
		{map[string]string{}, "-"},
		{map[string]string{"b": "2", "a": "1"}, "a=1,b=2"},
		{map[string]string{"io.containerd/gc.root": "2026"}, "io.containerd/gc.root=2026"},
		{map[string]string{"k": "x,y", "s": "a b", "t": "tab\there", "q": `"`}, `k="x,y",q="\"",s="a b",t="tab\there"`},
		{map[string]string{"a=b": "c"}, `"a=b"=c`},
	} {
		if got := formatLabels(tc.labels); got != tc.want {
			t.Errorf("formatLabels(%q) = %q; want %q", tc.labels, got, tc.want)
		}
	}
}

func TestParseLabels(t *testing.T) {
	labels, paths, err := parseLabels([]string{"a=1", "b=", "a=2", "c=x=y"})
	if err != nil {
		t.Fatalf("parseLabels = %v", err)
	}
	if labels["a"] != "2" || labels["b"] != "" || labels["c"] != "x=y" || len(labels) != 3 {
		t.Errorf("parseLabels labels = %q; want a=2, b=, c=x=y", labels)
	}
	if strings.Join(paths, " ") != "labels.a labels.b labels.c" {
		t.Errorf("parseLabels paths = %q; want labels.a labels.b labels.c", paths)
	}
	for _, bad := range []string{"a", "=1", "k=" + strings.Repeat("v", 5000)} {
		if _, _, err := parseLabels([]string{bad}); err == nil {
			t.Errorf("parseLabels(%.20q) = nil error; want one", bad)
		}
	}
}

// TestRunInProcess runs the command tree in this process through run, as
// main does.
func TestRunInProcess(t *testing.T) {
	root := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--root", root, "content", "ingest", "ref"}, strings.NewReader("hello\n"), &stdout, &stderr)
	const d = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if code != 0 || stdout.String() != d+"\n" || stderr.Len() != 0 {
		t.Fatalf("run(content ingest ref) = %d, stdout %q, stderr %q; want 0 and %s", code, &stdout, &stderr, d)
	}
	stdout.Reset()
	code = run(context.Background(), []string{"--root", root, "content", "get", d}, nil, &stdout, &stderr)
	if code != 0 || stdout.String() != "hello\n" {
		t.Errorf("run(content get %s) = %d, stdout %q, stderr %q; want 0 and \"hello\\n\"", d, code, &stdout, &stderr)
	}
	stdout.Reset()
	code = run(context.Background(), []string{"--root", root, "content", "get"}, nil, &stdout, &stderr)
	if code != exitUsage || !strings.HasPrefix(stderr.String(), "dctr: content get: ") {
		t.Errorf("run(content get) = %d, stderr %q; want %d and a usage error", code, &stderr, exitUsage)
	}
}
