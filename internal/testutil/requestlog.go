package testutil

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Request is one request a test server answered, as the client sent it.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, without the query.
	Path string
	// Auth is the scheme of the Authorization header ("Basic", "Bearer"),
	// or "" when the request carried none.
	Auth string
	// Range is the Range header, or "" when the request carried none.
	Range string
	// Status is the status code the server answered with.
	Status int
}

// String returns the request as "GET /v2/... auth=Bearer range=bytes=0- -> 200".
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Method, r.Path)
	if r.Auth != "" {
		fmt.Fprintf(&b, " auth=%s", r.Auth)
	}
	if r.Range != "" {
		fmt.Fprintf(&b, " range=%s", r.Range)
	}
	fmt.Fprintf(&b, " -> %d", r.Status)
	return b.String()
}

// RequestLog records the requests a server answered, in the order their
// answers began. Its methods are safe for concurrent use; its zero value is
// an empty log.
type RequestLog struct {
	mu   sync.Mutex
	reqs []Request
}

// Requests returns a copy of the requests recorded so far.
func (l *RequestLog) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Count returns how many recorded requests have the given method (any
// method when method is "") and a path containing pathPart.
func (l *RequestLog) Count(method, pathPart string) int {
	n := 0
	for _, r := range l.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

// Reset forgets the requests recorded so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

func (l *RequestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

// newRequest starts a log entry for r; its Status is filled in by the
// statusWriter that serves it.
func newRequest(r *http.Request) Request {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Auth:   scheme,
		Range:  r.Header.Get("Range"),
	}
}

// logged wraps h so that every request it answers is added to log once its
// status is known.
func logged(log *RequestLog, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newRequest(r)
		sw := &statusWriter{ResponseWriter: w, onStatus: func(code int) {
			rec.Status = code
			log.add(rec)
		}}
		defer sw.finish()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter reports the status of a response once, when the header is
// written (or at the end, for a handler that wrote nothing).
type statusWriter struct {
	http.ResponseWriter
	onStatus func(int)
	done     bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Flush forwards to the underlying writer so streaming handlers still stream.
func (w *statusWriter) Flush() {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) finish() {
	if !w.done {
		w.done = true
		w.onStatus(http.StatusOK)
	}
}
