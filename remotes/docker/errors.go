package docker

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
)

// Error is a registry's answer that is not a success: the status and the
// error codes of its JSON body ({"errors": [{"code", "message",
// "detail"}]}, read up to remotes.MaxSmallBodySize bytes). It unwraps to
// the errdefs kinds that fit, so errdefs.IsNotFound(err) works through it;
// errors.As finds it for the detail.
type Error struct {
	// Method and URL are of the request; the URL without its query,
	// which may carry upload state or a signature.
	Method string
	URL    string
	// StatusCode is the HTTP status.
	StatusCode int
	// Errors are the registry's error entries, in its order.
	Errors []ErrorEntry
}

// ErrorEntry is one entry of a registry's error body.
type ErrorEntry struct {
	// Code is the registry's error code: "MANIFEST_UNKNOWN", "DENIED" …
	Code string `json:"code"`
	// Message is its text for people.
	Message string `json:"message,omitempty"`
	// Detail is the entry's detail, as the registry sent it.
	Detail json.RawMessage `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	for i, ent := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-i)
			break
		}
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep + ent.Code)
		if ent.Message != "" {
			b.WriteString(" " + quoteMessage(ent.Message))
		}
	}
	return b.String()
}

// quoteMessage shortens and quotes a registry's message for an error
// string: the text is the registry's, not ours.
func quoteMessage(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Temporary reports whether the same request may succeed later: a timeout
// (408), a rate limit (429 or TOOMANYREQUESTS), or a server error (5xx but
// 501 and 505).
func (e *Error) Temporary() bool {
	if temporaryStatus(e.StatusCode) {
		return true
	}
	for _, ent := range e.Errors {
		if ent.Code == "TOOMANYREQUESTS" || ent.Code == "UNAVAILABLE" {
			return true
		}
	}
	return false
}

func temporaryStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// Unwrap returns the errdefs kinds of the error: NotFound for 404 and the
// *_UNKNOWN codes, Unauthenticated for 401, PermissionDenied for 403 and
// DENIED, ResourceExhausted and Unavailable for 429, Unavailable for other
// temporary errors, NotImplemented for 405 and 501, InvalidArgument for
// other 4xx, Unknown otherwise.
func (e *Error) Unwrap() []error {
	for _, ent := range e.Errors {
		switch ent.Code {
		case "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN", "BLOB_UPLOAD_UNKNOWN":
			return []error{errdefs.ErrNotFound}
		case "UNAUTHORIZED":
			return []error{errdefs.ErrUnauthenticated}
		case "DENIED":
			return []error{errdefs.ErrPermissionDenied}
		case "TOOMANYREQUESTS":
			return []error{errdefs.ErrResourceExhausted, errdefs.ErrUnavailable}
		case "UNSUPPORTED":
			return []error{errdefs.ErrNotImplemented}
		}
	}
	switch c := e.StatusCode; {
	case c == http.StatusNotFound:
		return []error{errdefs.ErrNotFound}
	case c == http.StatusUnauthorized:
		return []error{errdefs.ErrUnauthenticated}
	case c == http.StatusForbidden:
		return []error{errdefs.ErrPermissionDenied}
	case c == http.StatusTooManyRequests:
		return []error{errdefs.ErrResourceExhausted, errdefs.ErrUnavailable}
	case c == http.StatusMethodNotAllowed, c == http.StatusNotImplemented:
		return []error{errdefs.ErrNotImplemented}
	case c == http.StatusConflict:
		return []error{errdefs.ErrConflict}
	case c == http.StatusRequestedRangeNotSatisfiable:
		return []error{errdefs.ErrOutOfRange}
	case temporaryStatus(c):
		return []error{errdefs.ErrUnavailable}
	case c >= 400 && c <= 499:
		return []error{errdefs.ErrInvalidArgument}
	}
	return []error{errdefs.ErrUnknown}
}

// newError reads resp's error body, bounded, and closes it.
func newError(resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{StatusCode: resp.StatusCode}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		u := *req.URL
		u.RawQuery, u.Fragment, u.User = "", "", nil
		e.URL = u.String()
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		return e
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, remotes.MaxSmallBodySize))
	var body struct {
		Errors []ErrorEntry `json:"errors"`
	}
	if json.Unmarshal(b, &body) == nil {
		e.Errors = body.Errors
	}
	return e
}

// checkDescriptor refuses a descriptor whose digest is malformed, before
// any URL is built from it, or whose size is negative.
func checkDescriptor(op string, desc ocispec.Descriptor) error {
	if err := content.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if desc.Size < 0 {
		return fmt.Errorf("%s %s: size %d: %w", op, desc.Digest, desc.Size, errdefs.ErrInvalidArgument)
	}
	return nil
}
