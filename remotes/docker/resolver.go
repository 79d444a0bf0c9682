package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
)

// manifestAccept is the Accept header of manifest requests: the four
// manifest types this module reads, indexes first.
const manifestAccept = ocispec.MediaTypeImageIndex + ", " +
	remotes.MediaTypeDockerManifestList + ", " +
	ocispec.MediaTypeImageManifest + ", " +
	remotes.MediaTypeDockerManifest

type resolver struct {
	opts          resolverOpts
	err           error // from the options, returned by every method
	defaultClient *http.Client
	authorizers   sync.Map // registry host → Authorizer, for defaultHosts
}

var (
	_ remotes.Resolver = (*resolver)(nil)
	_ remotes.Tagger   = (*resolver)(nil)
)

// NewResolver returns a Resolver for registries that speak the OCI
// distribution API v2. It also implements remotes.Tagger. An invalid
// option makes every method of the resolver fail with its error, of kind
// InvalidArgument.
func NewResolver(opts ...ResolverOpt) remotes.Resolver {
	o, err := makeResolverOpts(opts)
	if err != nil {
		err = fmt.Errorf("docker resolver: %w", err)
	}
	r := &resolver{opts: o, err: err}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	r.defaultClient = &http.Client{Transport: transport}
	if r.opts.hosts == nil {
		r.opts.hosts = r.defaultHosts
	}
	return r
}

// defaultHosts is the RegistryHosts of a resolver made without WithHosts:
// one endpoint per registry, with an anonymous authorizer (Docker Hub and
// others want a token even for public pulls), kept for the resolver's
// life so that tokens are reused.
func (r *resolver) defaultHosts(host string) ([]RegistryHost, error) {
	h := RegistryHost{
		Client:       r.defaultClient,
		Host:         host,
		Scheme:       "https",
		Path:         "/v2",
		Capabilities: HostCapabilityPull | HostCapabilityResolve | HostCapabilityPush,
	}
	switch {
	case host == "docker.io":
		h.Host = "registry-1.docker.io"
	case IsLoopback(host):
		h.Scheme = "http"
	}
	a, _ := r.authorizers.LoadOrStore(h.Host, NewAuthorizer(h.Host, WithAuthClient(r.defaultClient)))
	h.Authorizer = a.(Authorizer)
	return []RegistryHost{h}, nil
}

// repository is one repository on its registry hosts, for one kind of
// use.
type repository struct {
	r     *resolver
	ref   remotes.Ref
	hosts []RegistryHost
}

// repository parses ref and finds its hosts that have caps.
func (r *resolver) repository(ref string, caps HostCapabilities) (*repository, error) {
	if r.err != nil {
		return nil, r.err
	}
	pr, err := remotes.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	all, err := r.opts.hosts(pr.Domain)
	if err != nil {
		return nil, fmt.Errorf("%s: registry hosts: %w", pr, err)
	}
	var hosts []RegistryHost
	for _, h := range all {
		if h.Capabilities.Has(caps) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s: no registry host of %s may be used for this: %w", pr, pr.Domain, errdefs.ErrNotFound)
	}
	return &repository{r: r, ref: pr, hosts: hosts}, nil
}

// request returns a request to host for a path inside the repository
// ("/manifests/latest").
func (repo *repository) request(host RegistryHost, method, path string) *request {
	return newRequest(host, method, "/"+repo.ref.Path+path)
}

// scope returns ctx with the repository's token scope.
func (repo *repository) scope(ctx context.Context, push bool) context.Context {
	return WithScope(ctx, RepositoryScope(repo.ref.Path, push))
}

// Resolve finds the manifest or index ref names. With a digest, any host
// that may pull confirms it; with a tag only, the hosts that may resolve
// are asked in order. A reference found nowhere is a NotFound error; a
// schema 1 manifest is a NotImplemented one.
func (r *resolver) Resolve(ctx context.Context, ref string) (string, ocispec.Descriptor, error) {
	caps := HostCapabilityResolve
	if pr, err := remotes.ParseRef(ref); err == nil && pr.Digest != "" {
		caps = HostCapabilityPull
	}
	repo, err := r.repository(ref, caps)
	if err != nil {
		return "", ocispec.Descriptor{}, err
	}
	name := repo.ref.String()
	ctx = repo.scope(ctx, false)
	var lastErr error
	for _, host := range repo.hosts {
		desc, err := repo.resolve(ctx, host)
		if err == nil {
			return name, desc, nil
		}
		if ctx.Err() != nil || errdefs.IsNotImplemented(err) && !isStatusError(err) {
			return "", ocispec.Descriptor{}, fmt.Errorf("resolve %s: %w", name, err)
		}
		lastErr = err
	}
	return "", ocispec.Descriptor{}, fmt.Errorf("resolve %s: %w", name, lastErr)
}

func isStatusError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// resolve asks one host: HEAD first, GET when HEAD does not tell enough.
func (repo *repository) resolve(ctx context.Context, host RegistryHost) (ocispec.Descriptor, error) {
	path := "/manifests/" + repo.ref.Object()
	rq := repo.request(host, http.MethodHead, path)
	rq.header.Set("Accept", manifestAccept)
	resp, err := repo.r.send(ctx, rq)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		desc, ok, err := repo.headDescriptor(resp)
		if err != nil || ok {
			return desc, err
		}
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		// Some registries answer HEAD so; GET tells for sure.
	default:
		return ocispec.Descriptor{}, newError(resp)
	}
	return repo.resolveGet(ctx, host, path)
}

// headDescriptor makes the descriptor of a HEAD answer, if it says all:
// digest (known already for a reference by digest), media type and size.
func (repo *repository) headDescriptor(resp *http.Response) (ocispec.Descriptor, bool, error) {
	mediaType := mediaTypeOf(resp.Header)
	dgst := repo.ref.Digest
	if dgst == "" {
		dgst = digest.Digest(resp.Header.Get("Docker-Content-Digest"))
	}
	if dgst == "" || mediaType == "" || resp.ContentLength < 0 || !knownManifestType(mediaType) {
		return ocispec.Descriptor{}, false, nil
	}
	if err := content.ValidateDigest(dgst); err != nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("%s: Docker-Content-Digest: %w", repo.ref.Name, err)
	}
	if err := checkManifestType(mediaType); err != nil {
		return ocispec.Descriptor{}, false, err
	}
	if resp.ContentLength > remotes.MaxManifestSize {
		return ocispec.Descriptor{}, false, tooLarge(dgst, resp.ContentLength)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: dgst, Size: resp.ContentLength}, true, nil
}

// resolveGet reads the manifest and makes its descriptor from what it is.
func (repo *repository) resolveGet(ctx context.Context, host RegistryHost, path string) (ocispec.Descriptor, error) {
	rq := repo.request(host, http.MethodGet, path)
	rq.header.Set("Accept", manifestAccept)
	resp, err := repo.r.send(ctx, rq)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := checkStatus(resp, http.StatusOK); err != nil {
		return ocispec.Descriptor{}, err
	}
	defer resp.Body.Close()
	alg := digest.Canonical
	if repo.ref.Digest != "" {
		alg = repo.ref.Digest.Algorithm()
	}
	b, err := readManifest(resp, repo.ref.Object(), remotes.MaxManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dgst := alg.FromBytes(b)
	if repo.ref.Digest != "" && dgst != repo.ref.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("%s: manifest digest is %s: %w", repo.ref, dgst, errdefs.ErrDataLoss)
	}
	mediaType := mediaTypeOf(resp.Header)
	if !knownManifestType(mediaType) {
		mediaType = sniffManifestType(b)
	}
	if err := checkManifestType(mediaType); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", repo.ref, err)
	}
	if err := checkManifest(mediaType, b); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", repo.ref, err)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: dgst, Size: int64(len(b))}, nil
}

// readManifest reads a manifest body, refusing more than
// remotes.MaxManifestSize bytes.
// readManifest reads a manifest body of at most limit bytes (the
// descriptor's size when it is known, else remotes.MaxManifestSize):
// never a byte more than one past the limit is read.
// A body over the descriptor's size is DataLoss, like any stream that
// is not what its descriptor says; one over the global limit is
// FailedPrecondition.
func readManifest(resp *http.Response, what string, limit int64) ([]byte, error) {
	var kind error = errdefs.ErrDataLoss
	if limit >= remotes.MaxManifestSize {
		limit, kind = remotes.MaxManifestSize, errdefs.ErrFailedPrecondition
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("manifest %s: %d bytes, more than the %d expected: %w", what, resp.ContentLength, limit, kind)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: read: %w", what, connError(err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("manifest %s: more than the %d bytes expected: %w", what, limit, kind)
	}
	return b, nil
}

func tooLarge(dgst digest.Digest, size int64) error {
	return fmt.Errorf("manifest %s: %d bytes, more than the limit of %d: %w", dgst, size, remotes.MaxManifestSize, errdefs.ErrFailedPrecondition)
}

// mediaTypeOf returns the media type of a Content-Type header, without
// parameters.
func mediaTypeOf(h http.Header) string {
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.TrimSpace(mt)
}

// knownManifestType reports whether mediaType says what a manifest is,
// readable or not; "application/json" and the like do not.
func knownManifestType(mediaType string) bool {
	return remotes.IsManifestType(mediaType) || remotes.IsSchema1Type(mediaType)
}

// checkManifestType refuses media types that are no manifest this module
// reads: schema 1 (NotImplemented) and anything else that is not one of
// the four (NotImplemented too).
func checkManifestType(mediaType string) error {
	switch {
	case remotes.IsSchema1Type(mediaType):
		return fmt.Errorf("media type %s: schema 1 manifests are not supported: %w", mediaType, errdefs.ErrNotImplemented)
	case !remotes.IsManifestType(mediaType):
		return fmt.Errorf("media type %q: not a manifest or index: %w", mediaType, errdefs.ErrNotImplemented)
	}
	return nil
}

// manifestShape is what checkManifest and sniffManifestType look at.
type manifestShape struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Manifests     json.RawMessage `json:"manifests"`
	Layers        json.RawMessage `json:"layers"`
	Config        json.RawMessage `json:"config"`
	FSLayers      json.RawMessage `json:"fsLayers"`
}

// sniffManifestType tells a manifest's media type from its body, for
// registries that send a generic Content-Type: its mediaType field, else
// its shape.
func sniffManifestType(b []byte) string {
	var m manifestShape
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	switch {
	case m.MediaType != "":
		return m.MediaType
	case m.SchemaVersion == 1 || m.FSLayers != nil:
		return remotes.MediaTypeDockerSchema1Manifest
	case m.Manifests != nil:
		return ocispec.MediaTypeImageIndex
	case m.Config != nil || m.Layers != nil:
		return ocispec.MediaTypeImageManifest
	}
	return ""
}

// checkManifest checks that b is the kind of document mediaType says: an
// index has manifests and no layers or config, a manifest the other way
// round, a mediaType field agrees. A document that could be read as
// either kind is refused: the two readings would name different content.
func checkManifest(mediaType string, b []byte) error {
	var m manifestShape
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %v: %w", mediaType, err, errdefs.ErrDataLoss)
	}
	isNull := func(r json.RawMessage) bool { return r == nil || bytes.Equal(r, []byte("null")) }
	switch {
	case m.SchemaVersion == 1 || m.FSLayers != nil:
		return fmt.Errorf("%s: schema 1 manifests are not supported: %w", mediaType, errdefs.ErrNotImplemented)
	case m.SchemaVersion != 2:
		return fmt.Errorf("%s: schemaVersion %d, want 2: %w", mediaType, m.SchemaVersion, errdefs.ErrDataLoss)
	case m.MediaType != "" && m.MediaType != mediaType:
		return fmt.Errorf("%s: the document says it is %s: %w", mediaType, strconv.Quote(m.MediaType), errdefs.ErrDataLoss)
	case !isNull(m.Manifests) && (!isNull(m.Layers) || !isNull(m.Config)):
		return fmt.Errorf("%s: the document has both manifests and layers or config: %w", mediaType, errdefs.ErrDataLoss)
	case remotes.IsIndexType(mediaType) && (!isNull(m.Layers) || !isNull(m.Config)):
		return fmt.Errorf("%s: an index with layers or config: %w", mediaType, errdefs.ErrDataLoss)
	case !remotes.IsIndexType(mediaType) && !isNull(m.Manifests):
		return fmt.Errorf("%s: a manifest with manifests: %w", mediaType, errdefs.ErrDataLoss)
	}
	return nil
}

// Fetcher returns a Fetcher for ref's repository on the hosts that may
// pull.
func (r *resolver) Fetcher(ctx context.Context, ref string) (remotes.Fetcher, error) {
	repo, err := r.repository(ref, HostCapabilityPull)
	if err != nil {
		return nil, err
	}
	return &fetcher{repo}, nil
}

// Pusher returns a Pusher for ref's repository on the first host that may
// push.
func (r *resolver) Pusher(ctx context.Context, ref string) (remotes.Pusher, error) {
	repo, err := r.repository(ref, HostCapabilityPush)
	if err != nil {
		return nil, err
	}
	return &pusher{repo: repo, host: repo.hosts[0]}, nil
}
