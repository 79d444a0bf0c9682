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

// maxTagPages bounds the pages of one tag listing.
const maxTagPages = 1000

// Tags lists the tags of ref's repository, following the registry's
// pages (Link headers) up to 1000 of them, each read up to
// remotes.MaxManifestSize bytes. The hosts that may resolve are asked in
// order; a repository found on none is a NotFound error.
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
	var tags []string
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
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: %v: %w", redact(next), err, errdefs.ErrDataLoss)
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
