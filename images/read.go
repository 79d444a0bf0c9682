package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
)

const (
	// MaxManifestSize bounds the manifests and indexes this package reads,
	// in bytes.
	MaxManifestSize = 4 << 20
	// MaxConfigSize bounds the image configurations this package reads,
	// in bytes.
	MaxConfigSize = 8 << 20
)

// maxJSONDepth bounds the nesting of the JSON documents this package
// reads; manifests, indexes and configs nest a few levels deep.
const maxJSONDepth = 32

// ReadManifest reads and checks the image manifest desc names (an OCI or
// Docker schema 2 manifest; see IsManifestType). The blob must be at most
// MaxManifestSize bytes and match desc's size and digest; the JSON must be
// one object without duplicate fields, with schemaVersion 2, no
// "manifests" field, and a mediaType field, when present, equal to
// desc.MediaType. The config and layer descriptors inside must be well
// formed: a media type of the form type/subtype that is not a manifest or
// index type, a valid digest, a size that is not negative, and platform
// fields, if any, as ReadConfig requires them.
//
// A missing blob is NotFound; a blob over the limit or not matching desc
// is FailedPrecondition; a wrong media type or a malformed manifest is
// InvalidArgument.
func ReadManifest(ctx context.Context, p content.Provider, desc ocispec.Descriptor) (ocispec.Manifest, error) {
	if !IsManifestType(desc.MediaType) {
		return ocispec.Manifest{}, fmt.Errorf("manifest %s: media type %.80q is not an image manifest: %w", desc.Digest, desc.MediaType, errdefs.ErrInvalidArgument)
	}
	b, err := readBlob(ctx, p, desc, "manifest", MaxManifestSize)
	if err != nil {
		return ocispec.Manifest{}, err
	}
	fail := func(format string, args ...any) (ocispec.Manifest, error) {
		return ocispec.Manifest{}, fmt.Errorf("manifest %s: %s: %w", desc.Digest, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
	}
	keys, err := checkJSON(b)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkFields(keys, manifestFields()); err != nil {
		return fail("%v", err)
	}
	if has(keys, "manifests") {
		return fail(`has a "manifests" field, as an index has`)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fail("%v", err)
	}
	if m.SchemaVersion != 2 {
		return fail("schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != "" && m.MediaType != desc.MediaType {
		return fail("says it is %.80q, its descriptor says %q", m.MediaType, desc.MediaType)
	}
	if err := validateDescriptor(m.Config); err != nil {
		return fail("config: %v", err)
	}
	if err := notManifest(m.Config); err != nil {
		return fail("config: %v", err)
	}
	for i, l := range m.Layers {
		if err := validateDescriptor(l); err != nil {
			return fail("layer %d: %v", i, err)
		}
		if err := notManifest(l); err != nil {
			return fail("layer %d: %v", i, err)
		}
	}
	if m.Subject != nil {
		if err := validateDescriptor(*m.Subject); err != nil {
			return fail("subject: %v", err)
		}
	}
	return m, nil
}

// ReadIndex reads and checks the index desc names (an OCI index or a
// Docker manifest list; see IsIndexType), as ReadManifest does a manifest:
// bounded by MaxManifestSize, matching desc, one JSON object without
// duplicate fields, schemaVersion 2, no "layers" or "config" field, a
// mediaType field, when present, equal to desc.MediaType, and well-formed
// descriptors in "manifests". Entries of any media type are returned;
// choosing among them is the caller's job (see Manifest). Errors are as
// ReadManifest's.
func ReadIndex(ctx context.Context, p content.Provider, desc ocispec.Descriptor) (ocispec.Index, error) {
	if !IsIndexType(desc.MediaType) {
		return ocispec.Index{}, fmt.Errorf("index %s: media type %.80q is not an index: %w", desc.Digest, desc.MediaType, errdefs.ErrInvalidArgument)
	}
	b, err := readBlob(ctx, p, desc, "index", MaxManifestSize)
	if err != nil {
		return ocispec.Index{}, err
	}
	fail := func(format string, args ...any) (ocispec.Index, error) {
		return ocispec.Index{}, fmt.Errorf("index %s: %s: %w", desc.Digest, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
	}
	keys, err := checkJSON(b)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkFields(keys, manifestFields()); err != nil {
		return fail("%v", err)
	}
	for _, f := range []string{"layers", "config"} {
		if has(keys, f) {
			return fail("has a %q field, as a manifest has", f)
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return fail("%v", err)
	}
	if idx.SchemaVersion != 2 {
		return fail("schemaVersion %d, want 2", idx.SchemaVersion)
	}
	if idx.MediaType != "" && idx.MediaType != desc.MediaType {
		return fail("says it is %.80q, its descriptor says %q", idx.MediaType, desc.MediaType)
	}
	for i, m := range idx.Manifests {
		if err := validateDescriptor(m); err != nil {
			return fail("manifest %d: %v", i, err)
		}
	}
	if idx.Subject != nil {
		if err := validateDescriptor(*idx.Subject); err != nil {
			return fail("subject: %v", err)
		}
	}
	return idx, nil
}

// ReadConfig reads and checks the image configuration desc names (OCI or
// Docker; see IsConfigType): at most MaxConfigSize bytes, matching desc,
// one JSON object without duplicate fields, platform fields (os,
// architecture, variant, os.version, os.features) made of letters, digits
// and ".", "_", "-", "+", a rootfs type, when present, of "layers", and
// valid diff IDs. Errors are as ReadManifest's.
func ReadConfig(ctx context.Context, p content.Provider, desc ocispec.Descriptor) (ocispec.Image, error) {
	if !IsConfigType(desc.MediaType) {
		return ocispec.Image{}, fmt.Errorf("config %s: media type %.80q is not an image config: %w", desc.Digest, desc.MediaType, errdefs.ErrInvalidArgument)
	}
	b, err := readBlob(ctx, p, desc, "config", MaxConfigSize)
	if err != nil {
		return ocispec.Image{}, err
	}
	fail := func(format string, args ...any) (ocispec.Image, error) {
		return ocispec.Image{}, fmt.Errorf("config %s: %s: %w", desc.Digest, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
	}
	keys, err := checkJSON(b)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkFields(keys, configFields()); err != nil {
		return fail("%v", err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(b, &img); err != nil {
		return fail("%v", err)
	}
	if err := validatePlatform(img.Platform); err != nil {
		return fail("%v", err)
	}
	if t := img.RootFS.Type; t != "" && t != "layers" {
		return fail("rootfs type %.80q, want \"layers\"", t)
	}
	for i, d := range img.RootFS.DiffIDs {
		if err := content.ValidateDigest(d); err != nil {
			return fail("diff ID %d: %v", i, err)
		}
	}
	return img, nil
}

// readBlob reads the blob desc names, at most limit bytes, and checks it
// against desc's size and digest.
func readBlob(ctx context.Context, p content.Provider, desc ocispec.Descriptor, what string, limit int64) ([]byte, error) {
	if err := content.ValidateDigest(desc.Digest); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%s %s: size %d, outside 0 to %d: %w", what, desc.Digest, desc.Size, limit, errdefs.ErrFailedPrecondition)
	}
	b, err := content.ReadBlob(ctx, p, desc, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) != desc.Size {
		return nil, fmt.Errorf("%s %s: the blob has %d bytes, its descriptor says %d: %w", what, desc.Digest, len(b), desc.Size, errdefs.ErrFailedPrecondition)
	}
	if got := desc.Digest.Algorithm().FromBytes(b); got != desc.Digest {
		return nil, fmt.Errorf("%s %s: the blob's digest is %s: %w", what, desc.Digest, got, errdefs.ErrFailedPrecondition)
	}
	return b, nil
}

// validateDescriptor checks a descriptor found inside a manifest or
// index: a well-formed media type, a valid digest, a size that is not
// negative, and a platform, when there is one, that validatePlatform
// accepts. Its errors wrap InvalidArgument.
func validateDescriptor(d ocispec.Descriptor) error {
	if !validMediaType(d.MediaType) {
		return fmt.Errorf("media type %.80q: not of the form type/subtype: %w", d.MediaType, errdefs.ErrInvalidArgument)
	}
	if err := content.ValidateDigest(d.Digest); err != nil {
		return err
	}
	if d.Size < 0 {
		return fmt.Errorf("%s: size %d: %w", d.Digest, d.Size, errdefs.ErrInvalidArgument)
	}
	if d.Platform != nil {
		if err := validatePlatform(*d.Platform); err != nil {
			return fmt.Errorf("%s: %w", d.Digest, err)
		}
	}
	return nil
}

// maxPlatformField bounds each field of a platform, in bytes.
const maxPlatformField = 128

// validatePlatform checks that the fields of a platform from an image are
// short words of letters, digits and ".", "_", "-", "+" (Windows' OS
// version has dots), so that they can be shown to users. Its errors wrap
// InvalidArgument.
func validatePlatform(p ocispec.Platform) error {
	fields := append([]string{p.OS, p.Architecture, p.Variant, p.OSVersion}, p.OSFeatures...)
	for _, f := range fields {
		if len(f) > maxPlatformField {
			return fmt.Errorf("platform field %.40q...: longer than %d bytes: %w", f, maxPlatformField, errdefs.ErrInvalidArgument)
		}
		for i := 0; i < len(f); i++ {
			switch c := f[i]; {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-', c == '+':
			default:
				return fmt.Errorf("platform field %q: character %q: %w", f, c, errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

// notManifest refuses a manifest's config or layer that claims to be a
// manifest or an index, which ChildrenHandler would read as one.
func notManifest(d ocispec.Descriptor) error {
	if IsManifestType(d.MediaType) || IsIndexType(d.MediaType) || IsSchema1Type(d.MediaType) {
		return fmt.Errorf("%s: media type %q inside a manifest: %w", d.Digest, d.MediaType, errdefs.ErrInvalidArgument)
	}
	return nil
}

// manifestFields are the top-level fields of manifests and indexes whose
// spelling checkFields enforces.
func manifestFields() []string {
	return []string{"schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests", "subject", "annotations"}
}

// configFields are the top-level fields of image configs whose spelling
// checkFields enforces.
func configFields() []string {
	return []string{"created", "author", "architecture", "os", "os.version", "os.features", "variant", "config", "rootfs", "history"}
}

// checkFields refuses keys that are spelled like one of fields but in a
// different case: Go's decoder would take them for that field, while
// parsers that match case exactly would not.
func checkFields(keys, fields []string) error {
	for _, k := range keys {
		for _, f := range fields {
			if k != f && fold(k) == fold(f) {
				return fmt.Errorf("field %.80q: spelled %q in image-spec", k, f)
			}
		}
	}
	return nil
}

func has(keys []string, field string) bool {
	for _, k := range keys {
		if k == field {
			return true
		}
	}
	return false
}

// checkJSON checks that b is a single JSON object, nested at most
// maxJSONDepth deep, in which no object has the same key twice, and no
// object decoded into a Go struct has two keys equal ignoring case: Go's
// decoder takes the last of them, other parsers may take the first. The
// objects decoded into Go maps (see mapFields) compare keys exactly, as Go
// does. It returns the keys of the top-level object, in order.
func checkJSON(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	// A frame is an object or array being read. In an object, key is the
	// key whose value comes next, or "" while a key is awaited.
	type frame struct {
		object bool
		isMap  bool
		key    *string
		keys   map[string]bool
	}
	top := &frame{object: true, keys: map[string]bool{}}
	stack := []*frame{top}
	var topKeys []string
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		f := stack[len(stack)-1]
		if f.object && f.key == nil {
			// A key, or the end of the object.
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				continue
			}
			key, _ := tok.(string)
			name := key
			if !f.isMap {
				name = fold(key)
			}
			if f.keys[name] {
				return nil, fmt.Errorf("field %.80q appears twice", key)
			}
			f.keys[name] = true
			if f == top {
				topKeys = append(topKeys, key)
			}
			f.key = &key
			continue
		}
		// A value, or the end of an array.
		var parentKey string
		if f.object {
			parentKey = *f.key
			f.key = nil
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxJSONDepth {
				return nil, fmt.Errorf("nested more than %d deep", maxJSONDepth)
			}
			if tok == json.Delim('{') {
				stack = append(stack, &frame{object: true, isMap: f.object && isMapField(parentKey), keys: map[string]bool{}})
			} else {
				stack = append(stack, &frame{})
			}
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return topKeys, nil
}

// isMapField reports whether the value of key is decoded into a Go map
// in the image-spec types: annotations, and the labels, exposed ports and
// volumes of an image config.
func isMapField(key string) bool {
	switch fold(key) {
	case fold("annotations"), fold("Labels"), fold("ExposedPorts"), fold("Volumes"):
		return true
	}
	return false
}

// fold maps s to a form equal for all strings that are equal under
// Unicode simple case folding, as Go's JSON decoder compares field names.
func fold(s string) string {
	var b []byte
	for _, r := range s {
		// The smallest rune of r's folding orbit stands for all of it.
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b = utf8.AppendRune(b, low)
	}
	return string(b)
}
