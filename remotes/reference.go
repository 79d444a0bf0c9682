package remotes

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"github.com/daemonless/containerd/content"
)

// DefaultTag is the tag a reference without tag or digest names.
const DefaultTag = "latest"

// maxRefInput bounds the reference strings ParseRef and ParseLocator look
// at; a reference is at most 255 characters of name plus a tag and a
// digest, so anything longer is malformed.
const maxRefInput = 1024

// Ref is a parsed, normalised image reference.
type Ref struct {
	// Name is the full repository name: "docker.io/library/redis".
	Name string
	// Domain is the registry part of Name: "docker.io", "localhost:5000".
	Domain string
	// Path is the repository part of Name: "library/redis".
	Path string
	// Tag is the tag, if any: "latest".
	Tag string
	// Digest is the digest, if any. With both a tag and a digest, the
	// digest names the content and the tag is informative.
	Digest digest.Digest
}

// ParseRef parses and normalises a reference the way docker does: "redis"
// is "docker.io/library/redis:latest", "ghcr.io/o/r@sha256:…" keeps its
// digest and gets no tag. A malformed reference, or one whose digest is
// not of a supported algorithm, is an InvalidArgument error.
func ParseRef(s string) (Ref, error) {
	if len(s) > maxRefInput {
		return Ref{}, fmt.Errorf("reference %q...: longer than %d bytes: %w", s[:64], maxRefInput, errdefs.ErrInvalidArgument)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("reference %q: %v: %w", s, err, errdefs.ErrInvalidArgument)
	}
	r := Ref{
		Name:   named.Name(),
		Domain: reference.Domain(named),
		Path:   reference.Path(named),
	}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest()
		if err := content.ValidateDigest(r.Digest); err != nil {
			return Ref{}, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = DefaultTag
	}
	return r, nil
}

// ParseLocator parses a reference given as a locator, the repository
// name ("docker.io/library/redis", or a familiar "redis"), and an object:
// a tag ("latest"), a digest ("sha256:…"), or both ("latest@sha256:…").
// An empty object is the default tag. A locator that carries a tag or a
// digest of its own, or a malformed object, is an InvalidArgument error.
func ParseLocator(locator, object string) (Ref, error) {
	if strings.ContainsAny(locator, "@") || strings.Contains(lastSegment(locator), ":") {
		return Ref{}, fmt.Errorf("locator %q: a locator names a repository, without tag or digest: %w", locator, errdefs.ErrInvalidArgument)
	}
	s := locator
	switch tag, dgst, hasDigest := strings.Cut(object, "@"); {
	case object == "":
	case hasDigest:
		s += ":" + tag + "@" + dgst
	case strings.Contains(object, ":"):
		s += "@" + object
	default:
		s += ":" + object
	}
	r, err := ParseRef(s)
	if err != nil {
		return Ref{}, fmt.Errorf("locator %q, object %q: %w", locator, object, err)
	}
	return r, nil
}

// lastSegment returns what follows the last "/" of s: a port in the first
// segment ("localhost:5000") is no tag.
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Object returns what the reference points at inside its repository: the
// digest when it has one, else the tag.
func (r Ref) Object() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// String returns the normalised reference: name, ":tag" when it has a tag,
// "@digest" when it has a digest.
func (r Ref) String() string {
	s := r.Name
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
