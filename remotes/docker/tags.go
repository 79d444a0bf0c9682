package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/remotes"
)

const (
	// maxTagPages bounds the pages of one tag listing.
	maxTagPages = 1000
	// maxTagBytes bounds the bytes read for one listing, all pages.
	maxTagBytes = 16 << 20
	// maxTags bounds the tags of one listing.
	maxTags = 100_000
)

// Tags lists the tags of ref's repository, following the registry's
// pages (Link headers): up to 1000 pages, each read up to
// remotes.MaxManifestSize bytes, 16 MiB and 100,000 tags in all (more is
// an OutOfRange error). A tag that does not follow the tag grammar (1 to
// 128 letters, digits, '_', '.' and '-', not starting with '.' or '-') is
// a DataLoss error: names from a registry are printed to terminals. The
// hosts that may resolve are asked in order; a repository found on none
// is a NotFound error.
func (r *resolver) Tags(ctx context.Context, ref string) ([]string, error) {
	repo, err := r.repository(ref, HostCapabilityResolve)
	if err != nil {
		return nil, err
	}
	ctx = repo.scope(ctx, false)
	var lastErr error
	for _, host := range repo.hosts {
		tags, err := repo.tags(ctx, host)
		if err == nil {
			return tags, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("tags of %s: %w", repo.ref.Name, err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("tags of %s: %w", repo.ref.Name, lastErr)
}

func (repo *repository) tags(ctx context.Context, host RegistryHost) ([]string, error) {
	var (
		tags []string
		read int
	)
	next := repo.request(host, http.MethodGet, "/tags/list").url
	for page := 0; next != nil; page++ {
		if page == maxTagPages {
			return nil, fmt.Errorf("more than %d pages of tags: %w", maxTagPages, errdefs.ErrOutOfRange)
		}
		rq := &request{method: http.MethodGet, host: host, url: next, header: http.Header{}}
		rq.header.Set("Accept", "application/json")
		resp, err := repo.r.send(ctx, rq)
		if err != nil {
			return nil, err
		}
		if err := checkStatus(resp, http.StatusOK); err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, remotes.MaxManifestSize+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: read: %w", redact(next), connError(err))
		}
		if len(b) > remotes.MaxManifestSize {
			return nil, fmt.Errorf("%s: page longer than %d bytes: %w", redact(next), remotes.MaxManifestSize, errdefs.ErrOutOfRange)
		}
		if read += len(b); read > maxTagBytes {
			return nil, fmt.Errorf("%s: tag listing longer than %d bytes: %w", redact(next), maxTagBytes, errdefs.ErrOutOfRange)
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: %v: %w", redact(next), err, errdefs.ErrDataLoss)
		}
		if len(tags)+len(list.Tags) > maxTags {
			return nil, fmt.Errorf("%s: more than %d tags: %w", redact(next), maxTags, errdefs.ErrOutOfRange)
		}
		for _, t := range list.Tags {
			if !validTag(t) {
				return nil, fmt.Errorf("%s: tag %.64q is not a tag: %w", redact(next), t, errdefs.ErrDataLoss)
			}
		}
		tags = append(tags, list.Tags...)
		if next, err = nextPage(next, resp.Header.Values("Link")); err != nil {
			return nil, err
		}
	}
	return tags, nil
}

// nextPage returns the URL of a Link header's rel="next", or nil.
func nextPage(base *url.URL, links []string) (*url.URL, error) {
	for _, header := range links {
		for link := range strings.SplitSeq(header, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.Trim(v, `"`) == "next" {
					return resolveLocation(base, target[1:len(target)-1])
				}
			}
		}
	}
	return nil, nil
}

// validTag reports whether t follows the tag grammar of references.
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
