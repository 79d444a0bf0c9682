package docker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/remotes"
)

func TestTags(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.pageSize = 100
	manifest := imageManifest(t, reg.addBlob("app", []byte(`{}`)))
	var want []string
	for i := range 250 {
		tag := fmt.Sprintf("v%03d", i)
		want = append(want, tag)
		reg.addManifest("app", tag, ocispec.MediaTypeImageManifest, manifest)
	}
	tagger := testResolver().(remotes.Tagger)
	got, err := tagger.Tags(context.Background(), reg.host()+"/app")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Tags = %d tags (%v), %v; want %d", len(got), got[:min(3, len(got))], err, len(want))
	}
	if n := len(reg.requests("GET ")); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}
	if _, err := tagger.Tags(context.Background(), reg.host()+"/none"); !errdefs.IsNotFound(err) {
		t.Errorf("Tags of a missing repository = %v, want NotFound", err)
	}
}

// TestTagsBounded: a registry that pages tags without end is stopped by
// the listing's bounds, and a tag that is not a tag (here, a terminal
// escape sequence) is refused.
func TestTagsBounded(t *testing.T) {
	var pages atomic.Int32
	page := `{"name":"app","tags":[` + strings.Repeat(`"a",`, 250_000) + `"a"]}` // 1 MB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/endless/tags/list":
			n := pages.Add(1)
			w.Header().Set("Link", fmt.Sprintf(`</v2/endless/tags/list?last=%d>; rel="next"`, n))
			io.WriteString(w, page)
		case "/v2/evil/tags/list":
			io.WriteString(w, `{"name":"evil","tags":["v1","\u001b[31mred"]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tagger := testResolver().(remotes.Tagger)
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := tagger.Tags(context.Background(), host+"/endless")
	if !errdefs.IsOutOfRange(err) {
		t.Fatalf("Tags of an endless listing = %v, want OutOfRange", err)
	}
	if n := pages.Load(); n > 17 {
		t.Errorf("%d pages read before stopping, want at most 17 (16 MiB)", n)
	}
	if _, err := tagger.Tags(context.Background(), host+"/evil"); !errdefs.IsDataLoss(err) {
		t.Fatalf("Tags with an escape sequence = %v, want DataLoss", err)
	}
}
