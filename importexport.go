package containerd

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
)

const (
	// MaxImportIndexSize bounds the index.json and manifest.json of an
	// archive Import reads, in bytes. Larger ones are refused.
	MaxImportIndexSize = 20 << 20
	// maxLayoutFileSize bounds the oci-layout file and the small
	// metadata files of Docker archives, in bytes.
	maxLayoutFileSize = 1 << 20

	// AnnotationImageName is the annotation of an index.json entry that
	// holds the image's full name ("docker.io/library/redis:7").
	AnnotationImageName = "io.containerd.image.name"

	// layoutFile, indexFile and dockerManifestFile are the file names of
	// the OCI image layout and of a docker-archive.
	layoutFile         = "oci-layout"
	indexFile          = "index.json"
	dockerManifestFile = "manifest.json"
)

// ExportFormat is the format of an archive Export writes.
type ExportFormat int

const (
	// FormatOCI is the OCI image layout (oci-layout, index.json and
	// blobs/sha256/…). It is the default.
	FormatOCI ExportFormat = iota
	// FormatDocker is a docker-archive, the format of `docker save`: the
	// OCI image layout plus a manifest.json naming, for each image, the
	// config and layers of one platform and the image's tags.
	FormatDocker
)

// ExportOpt configures Export and ExportDir.
type ExportOpt func(*exportOpts) error

type exportOpts struct {
	names    []string
	platform platforms.MatchComparer
	format   ExportFormat
}

// WithExportImage adds the image named name to the archive; repeat it for
// more images. At least one is required. Its index.json entry carries the
// name in the io.containerd.image.name annotation and its tag in
// org.opencontainers.image.ref.name.
func WithExportImage(name string) ExportOpt {
	return func(o *exportOpts) error {
		if err := images.ValidateName(name); err != nil {
			return err
		}
		o.names = append(o.names, name)
		return nil
	}
}

// WithExportPlatform exports, for each image, only the manifest of
// platform p (as platforms.Parse reads it) and what it references; the
// archive's index.json names that manifest. The default is to export the
// image's target and every child of it that the content store holds.
func WithExportPlatform(p string) ExportOpt {
	return func(o *exportOpts) error {
		plat, err := platforms.Parse(p)
		if err != nil {
			return err
		}
		o.platform = platforms.Only(plat)
		return nil
	}
}

// WithExportAllPlatforms exports each image's target and every child the
// content store holds, which is the default; it undoes an earlier
// WithExportPlatform.
func WithExportAllPlatforms() ExportOpt {
	return func(o *exportOpts) error {
		o.platform = nil
		return nil
	}
}

// WithExportFormat chooses the archive format. The default is FormatOCI.
func WithExportFormat(f ExportFormat) ExportOpt {
	return func(o *exportOpts) error {
		if f != FormatOCI && f != FormatDocker {
			return fmt.Errorf("export format %d: %w", f, errdefs.ErrInvalidArgument)
		}
		o.format = f
		return nil
	}
}

func makeExportOpts(opts []ExportOpt) (exportOpts, error) {
	var o exportOpts
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if len(o.names) == 0 {
		return o, fmt.Errorf("no image to export (use WithExportImage): %w", errdefs.ErrInvalidArgument)
	}
	return o, nil
}

// layoutWriter receives the files of an archive, in the order Export
// writes them.
type layoutWriter interface {
	writeFile(name string, size int64, r io.Reader) error
}

// Export writes the images chosen with WithExportImage to w as a tar
// archive of the OCI image layout (or a docker-archive, with
// WithExportFormat(FormatDocker)). Each blob is written once, whatever
// number of images share it. A missing image is NotFound; a manifest,
// config or layer that the content store lacks is a NotFound error naming
// it. Export writes to w only after it has resolved every image.
func (c *Client) Export(ctx context.Context, w io.Writer, opts ...ExportOpt) error {
	tw := tar.NewWriter(w)
	if err := c.export(ctx, &tarLayoutWriter{tw: tw}, opts); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// ExportDir writes the images as Export does, into the directory dir as an
// OCI image layout. dir is created when missing; files of the layout that
// exist already are replaced.
func (c *Client) ExportDir(ctx context.Context, dir string, opts ...ExportOpt) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export to %s: %w", dir, err)
	}
	return c.export(ctx, &dirLayoutWriter{dir: dir}, opts)
}

// exportPlan is what an export writes.
type exportPlan struct {
	index  ocispec.Index
	blobs  []ocispec.Descriptor
	docker []dockerManifestEntry
}

// dockerManifestEntry is one entry of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (c *Client) export(ctx context.Context, lw layoutWriter, opts []ExportOpt) error {
	o, err := makeExportOpts(opts)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	plan, err := c.planExport(ctx, o)
	if err != nil {
		return err
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err := lw.writeFile(layoutFile, int64(len(layout)), bytes.NewReader(layout)); err != nil {
		return fmt.Errorf("export: %s: %w", layoutFile, err)
	}
	cs := c.ContentStore()
	for _, d := range plan.blobs {
		if err := exportBlob(ctx, cs, lw, d); err != nil {
			return err
		}
	}
	idx, err := json.Marshal(plan.index)
	if err != nil {
		return fmt.Errorf("export: %s: %w", indexFile, err)
	}
	if err := lw.writeFile(indexFile, int64(len(idx)), bytes.NewReader(idx)); err != nil {
		return fmt.Errorf("export: %s: %w", indexFile, err)
	}
	if o.format == FormatDocker {
		mf, err := json.Marshal(plan.docker)
		if err != nil {
			return fmt.Errorf("export: %s: %w", dockerManifestFile, err)
		}
		if err := lw.writeFile(dockerManifestFile, int64(len(mf)), bytes.NewReader(mf)); err != nil {
			return fmt.Errorf("export: %s: %w", dockerManifestFile, err)
		}
	}
	return nil
}

func exportBlob(ctx context.Context, cs content.Provider, lw layoutWriter, d ocispec.Descriptor) error {
	ra, err := cs.ReaderAt(ctx, d)
	if err != nil {
		return fmt.Errorf("export: blob %s: %w", d.Digest, err)
	}
	defer ra.Close()
	if ra.Size() != d.Size {
		return fmt.Errorf("export: blob %s: stored size %d, descriptor says %d: %w", d.Digest, ra.Size(), d.Size, errdefs.ErrFailedPrecondition)
	}
	if err := lw.writeFile(blobPath(d.Digest), d.Size, content.NewReader(ra)); err != nil {
		return fmt.Errorf("export: blob %s: %w", d.Digest, err)
	}
	return nil
}

func blobPath(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

// planExport resolves every image and lists the blobs to write, each
// once, children before the manifests and indexes that name them.
func (c *Client) planExport(ctx context.Context, o exportOpts) (exportPlan, error) {
	cs := c.ContentStore()
	plan := exportPlan{index: ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
	}}
	seen := map[digest.Digest]bool{}
	for _, name := range o.names {
		rec, err := c.images.Get(ctx, name)
		if err != nil {
			return plan, fmt.Errorf("export %s: %w", name, err)
		}
		target := rec.Target
		if o.platform != nil || o.format == FormatDocker {
			m := o.platform
			if m == nil {
				m = platforms.Default()
			}
			target, err = chooseManifest(ctx, cs, target, m)
			if err != nil {
				return plan, fmt.Errorf("export %s: %w", name, err)
			}
		}
		var blobs []ocispec.Descriptor
		children := images.ChildrenHandler(cs)
		walk := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			if images.IsNonDistributableType(d.MediaType) {
				if _, err := cs.Info(ctx, d.Digest); err != nil {
					return nil, images.ErrSkipDesc // foreign layers stay out when absent
				}
			}
			if d.Digest != target.Digest && (images.IsManifestType(d.MediaType) || images.IsIndexType(d.MediaType)) {
				// A child manifest of an index that the store lacks (a
				// platform not pulled) is left out.
				if _, err := cs.Info(ctx, d.Digest); errdefs.IsNotFound(err) {
					return nil, images.ErrSkipDesc
				}
			}
			ch, err := children(ctx, d)
			if err != nil {
				return nil, err
			}
			blobs = append(blobs, d)
			return ch, nil
		})
		if err := images.Walk(ctx, walk, target); err != nil {
			return plan, fmt.Errorf("export %s: %w", name, err)
		}
		// Children first: a reader streaming the archive meets a blob
		// before the manifest naming it.
		for i := len(blobs) - 1; i >= 0; i-- {
			d := blobs[i]
			if !seen[d.Digest] {
				seen[d.Digest] = true
				plan.blobs = append(plan.blobs, ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size})
			}
		}
		entry := ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size, Platform: target.Platform,
			Annotations: map[string]string{AnnotationImageName: name}}
		tag := ""
		if named, err := reference.ParseNormalizedNamed(name); err == nil {
			if tagged, ok := named.(reference.Tagged); ok {
				tag = tagged.Tag()
			}
		}
		if tag != "" {
			entry.Annotations[ocispec.AnnotationRefName] = tag
		}
		plan.index.Manifests = append(plan.index.Manifests, entry)
		if o.format == FormatDocker {
			m, err := images.ReadManifest(ctx, cs, target)
			if err != nil {
				return plan, fmt.Errorf("export %s: %w", name, err)
			}
			de := dockerManifestEntry{Config: blobPath(m.Config.Digest)}
			if tag != "" {
				de.RepoTags = []string{familiarName(name)}
			}
			for _, l := range m.Layers {
				de.Layers = append(de.Layers, blobPath(l.Digest))
			}
			plan.docker = append(plan.docker, de)
		}
	}
	return plan, nil
}

// familiarName shortens a full name as Docker shows it: "redis:7" for
// "docker.io/library/redis:7".
func familiarName(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.FamiliarString(named)
}

// chooseManifest returns the descriptor of the manifest of target that m
// prefers: target itself when it is a manifest.
func chooseManifest(ctx context.Context, cs content.Provider, target ocispec.Descriptor, m platforms.MatchComparer) (ocispec.Descriptor, error) {
	if images.IsManifestType(target.MediaType) {
		return target, nil
	}
	var found *ocispec.Descriptor
	children := images.LimitManifests(images.FilterPlatforms(images.ChildrenHandler(cs), m), m, 1)
	h := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if found != nil {
			return nil, images.ErrStopHandler
		}
		if images.IsManifestType(d.MediaType) {
			found = &d
			return nil, images.ErrStopHandler
		}
		return children(ctx, d)
	})
	if err := images.Walk(ctx, h, target); err != nil {
		return ocispec.Descriptor{}, err
	}
	if found == nil {
		return ocispec.Descriptor{}, fmt.Errorf("index %s: no manifest for %s: %w", target.Digest, m, errdefs.ErrNotFound)
	}
	// The manifest must be there, or the index holds none for m.
	if _, err := images.Manifest(ctx, cs, *found, m); err != nil {
		return ocispec.Descriptor{}, err
	}
	return *found, nil
}

type tarLayoutWriter struct {
	tw *tar.Writer
}

func (t *tarLayoutWriter) writeFile(name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o444, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(t.tw, r)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: wrote %d of %d bytes: %w", name, n, size, errdefs.ErrDataLoss)
	}
	return nil
}

type dirLayoutWriter struct {
	dir string
}

func (d *dirLayoutWriter) writeFile(name string, size int64, r io.Reader) error {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: wrote %d of %d bytes: %w", name, n, size, errdefs.ErrDataLoss)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// ImportOpt configures Import and ImportDir.
type ImportOpt func(*importOpts) error

type importOpts struct {
	baseName    string
	maxBlobSize int64
}

// DefaultMaxImportBlobSize is the largest blob Import accepts unless
// WithImportMaxBlobSize says otherwise, in bytes.
const DefaultMaxImportBlobSize = 64 << 30

// WithImportBaseName names the images whose index.json entry gives only a
// tag (org.opencontainers.image.ref.name "v1", as skopeo writes it):
// they become base + ":" + tag. Without it such entries are not named and
// no record is created for them; their blobs are still imported.
func WithImportBaseName(base string) ImportOpt {
	return func(o *importOpts) error {
		named, err := reference.ParseNormalizedNamed(base)
		if err != nil {
			return fmt.Errorf("base name %q: %v: %w", base, err, errdefs.ErrInvalidArgument)
		}
		if _, ok := named.(reference.NamedTagged); ok {
			return fmt.Errorf("base name %q has a tag: %w", base, errdefs.ErrInvalidArgument)
		}
		o.baseName = named.Name()
		return nil
	}
}

// WithImportMaxBlobSize refuses blobs larger than n bytes. The default is
// DefaultMaxImportBlobSize.
func WithImportMaxBlobSize(n int64) ImportOpt {
	return func(o *importOpts) error {
		if n <= 0 {
			return fmt.Errorf("blob size limit %d: %w", n, errdefs.ErrInvalidArgument)
		}
		o.maxBlobSize = n
		return nil
	}
}

// Import reads a tar archive from r, an OCI image layout or a
// docker-archive (`docker save`; told by its manifest.json when it has no
// named index.json entries), stores its blobs and creates (or updates)
// one image record per named image, returned in archive order.
//
// Nothing is extracted to disk: each file streams into the content store,
// in whatever order the tar holds them, and every blob of blobs/sha256/ is
// verified against its name as it is ingested. Entries with absolute
// paths or "..", links and other non-regular files, blob names that are
// not digests, blobs over the size limit, an index.json or manifest.json
// over MaxImportIndexSize, and blobs not matching their names are refused
// with an InvalidArgument (or FailedPrecondition) error naming the entry.
// Image records are written only once every blob the images need is in
// the store, so a failed import creates none; blobs already ingested stay.
func (c *Client) Import(ctx context.Context, r io.Reader, opts ...ImportOpt) ([]images.Image, error) {
	o, err := makeImportOpts(opts)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	ctx, done, err := c.withTempLease(ctx, "import")
	if err != nil {
		return nil, err
	}
	defer done()
	im := c.newImporter(o)
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("import: read archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeSymlink {
			if err := im.symlink(hdr.Name, hdr.Linkname); err != nil {
				return nil, fmt.Errorf("import: %w", err)
			}
			continue
		}
		if err := im.entry(ctx, hdr.Name, tarKind(hdr.Typeflag), hdr.Size, tr); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	return im.finish(ctx)
}

// ImportDir imports the OCI image layout (or unpacked docker-archive) in
// directory dir as Import does. Symbolic links and other non-regular
// files in it are refused; nothing is written to dir.
func (c *Client) ImportDir(ctx context.Context, dir string, opts ...ImportOpt) ([]images.Image, error) {
	o, err := makeImportOpts(opts)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", dir, err)
	}
	defer root.Close()
	ctx, done, err := c.withTempLease(ctx, "import "+dir)
	if err != nil {
		return nil, err
	}
	defer done()
	im := c.newImporter(o)
	fsys := root.FS()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		kind := entryOther
		switch {
		case d.IsDir():
			kind = entryDir
		case d.Type().IsRegular():
			kind = entryFile
		}
		if kind != entryFile {
			return im.entry(ctx, p, kind, 0, nil)
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return im.entry(ctx, p, entryOther, 0, nil)
		}
		return im.entry(ctx, p, entryFile, fi.Size(), f)
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", dir, err)
	}
	return im.finish(ctx)
}

func makeImportOpts(opts []ImportOpt) (importOpts, error) {
	o := importOpts{maxBlobSize: DefaultMaxImportBlobSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

type entryKind int

const (
	entryFile entryKind = iota
	entryDir
	entryOther
)

func tarKind(t byte) entryKind {
	switch t {
	case tar.TypeReg, tar.TypeRegA:
		return entryFile
	case tar.TypeDir:
		return entryDir
	}
	return entryOther
}

// importer gathers an archive's files as they come.
type importer struct {
	c     *Client
	o     importOpts
	cs    content.Store
	index []byte
	// dockerManifest is manifest.json, when there is one.
	dockerManifest []byte
	// files maps the paths of other files to the blobs they became.
	files map[string]ocispec.Descriptor
	// aliases maps the legacy layer paths of a docker-archive
	// ("<id>/layer.tar"), which tools write as symbolic links, to the
	// paths they point to.
	aliases map[string]string
}

// symlink records a symbolic link of a docker-archive's legacy layout,
// <id>/layer.tar, as an alias resolved only against the archive's own
// files (nothing is written to disk). Any other link is refused.
func (im *importer) symlink(name, target string) error {
	p, err := cleanEntryName(name)
	if err != nil {
		return err
	}
	dir, base, _ := strings.Cut(p, "/")
	if base != "layer.tar" || !isHex(dir) {
		return fmt.Errorf("entry %q: symbolic link: %w", name, errdefs.ErrInvalidArgument)
	}
	to := path.Join(dir, target)
	if path.IsAbs(target) || to == ".." || strings.HasPrefix(to, "../") || strings.Contains(to, "/") {
		return fmt.Errorf("entry %q: symbolic link to %q, outside the archive's top directory: %w", name, target, errdefs.ErrInvalidArgument)
	}
	im.aliases[p] = to
	return nil
}

func isHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func (c *Client) newImporter(o importOpts) *importer {
	return &importer{c: c, o: o, cs: c.ContentStore(), files: map[string]ocispec.Descriptor{}, aliases: map[string]string{}}
}

// cleanEntryName checks an entry's name and returns it cleaned: relative,
// without "..", without a leading "./".
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("entry %q: not a relative slash-separated path: %w", name, errdefs.ErrInvalidArgument)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q: path has \"..\": %w", name, errdefs.ErrInvalidArgument)
		}
	}
	return path.Clean(name), nil
}

func (im *importer) entry(ctx context.Context, name string, kind entryKind, size int64, r io.Reader) error {
	p, err := cleanEntryName(name)
	if err != nil {
		return err
	}
	switch kind {
	case entryDir:
		return nil
	case entryOther:
		return fmt.Errorf("entry %q: not a regular file or directory: %w", name, errdefs.ErrInvalidArgument)
	}
	if size < 0 {
		return fmt.Errorf("entry %q: size %d: %w", name, size, errdefs.ErrInvalidArgument)
	}
	switch {
	case p == indexFile || p == dockerManifestFile:
		b, err := readSmall(name, r, size, MaxImportIndexSize)
		if err != nil {
			return err
		}
		if p == indexFile {
			im.index = b
		} else {
			im.dockerManifest = b
		}
		return nil
	case p == layoutFile:
		b, err := readSmall(name, r, size, maxLayoutFileSize)
		if err != nil {
			return err
		}
		var l ocispec.ImageLayout
		if err := json.Unmarshal(b, &l); err != nil || l.Version != ocispec.ImageLayoutVersion {
			return fmt.Errorf("entry %q: not an image layout version %s: %w", name, ocispec.ImageLayoutVersion, errdefs.ErrInvalidArgument)
		}
		return nil
	case p == "repositories" || path.Base(p) == "VERSION" || path.Base(p) == "json":
		// Metadata of the legacy docker-archive, not needed.
		return nil
	case strings.HasPrefix(p, "blobs/"):
		rest := strings.TrimPrefix(p, "blobs/")
		alg, enc, ok := strings.Cut(rest, "/")
		dgst := digest.Digest(alg + ":" + enc)
		if !ok || strings.Contains(enc, "/") || content.ValidateDigest(dgst) != nil {
			return fmt.Errorf("entry %q: blob name is not a digest: %w", name, errdefs.ErrInvalidArgument)
		}
		if size > im.o.maxBlobSize {
			return fmt.Errorf("entry %q: %d bytes, more than the limit of %d: %w", name, size, im.o.maxBlobSize, errdefs.ErrInvalidArgument)
		}
		desc := ocispec.Descriptor{Digest: dgst, Size: size}
		if err := content.WriteBlob(ctx, im.cs, "import-"+dgst.String(), r, desc); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		im.files[p] = desc
		return nil
	}
	// Another file of a docker-archive (a layer tar, a config): ingested
	// under the digest of its content, which manifest.json will name.
	if size > im.o.maxBlobSize {
		return fmt.Errorf("entry %q: %d bytes, more than the limit of %d: %w", name, size, im.o.maxBlobSize, errdefs.ErrInvalidArgument)
	}
	desc, err := im.ingestUnnamed(ctx, p, r, size)
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	im.files[p] = desc
	return nil
}

// ingestUnnamed stores a file whose digest is not known beforehand.
func (im *importer) ingestUnnamed(ctx context.Context, p string, r io.Reader, size int64) (ocispec.Descriptor, error) {
	h := sha256.Sum256([]byte(p))
	ref := "import-file-" + hex.EncodeToString(h[:16])
	w, err := content.OpenWriter(ctx, im.cs, content.WithRef(ref), content.WithDescriptor(ocispec.Descriptor{Size: size}))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer w.Close()
	if err := w.Truncate(0); err != nil {
		return ocispec.Descriptor{}, err
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if n != size {
		return ocispec.Descriptor{}, fmt.Errorf("read %d of %d bytes: %w", n, size, errdefs.ErrDataLoss)
	}
	dgst := w.Digest()
	if err := w.Commit(ctx, size, dgst); err != nil && !errdefs.IsAlreadyExists(err) {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{Digest: dgst, Size: size}, nil
}

func readSmall(name string, r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("entry %q: %d bytes, more than the limit of %d: %w", name, size, limit, errdefs.ErrInvalidArgument)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("entry %q: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("entry %q: more than the limit of %d bytes: %w", name, limit, errdefs.ErrInvalidArgument)
	}
	return b, nil
}

// finish checks that every image is complete and creates the records.
func (im *importer) finish(ctx context.Context) ([]images.Image, error) {
	var recs []images.Image
	if im.index != nil {
		var err error
		recs, err = im.fromIndex(ctx)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	if len(recs) == 0 && im.dockerManifest != nil {
		var err error
		recs, err = im.fromDockerManifest(ctx)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	if im.index == nil && im.dockerManifest == nil {
		return nil, fmt.Errorf("import: archive has neither %s nor %s: %w", indexFile, dockerManifestFile, errdefs.ErrInvalidArgument)
	}
	for _, rec := range recs {
		if err := im.checkComplete(ctx, rec.Target); err != nil {
			return nil, fmt.Errorf("import %s: %w", rec.Name, err)
		}
	}
	out := make([]images.Image, 0, len(recs))
	for _, rec := range recs {
		stored, err := im.c.images.Create(ctx, rec)
		if errdefs.IsAlreadyExists(err) {
			stored, err = im.c.images.Update(ctx, rec, "target")
		}
		if err != nil {
			return out, fmt.Errorf("import %s: %w", rec.Name, err)
		}
		out = append(out, stored)
	}
	return out, nil
}

// checkComplete walks target's tree: every manifest, config and layer
// must be in the store. Manifests of an index that are missing (platforms
// left out of the archive) are passed over. Each manifest and index is
// labelled with its children for garbage collection.
func (im *importer) checkComplete(ctx context.Context, target ocispec.Descriptor) error {
	children := labelChildren(im.cs, images.ChildrenHandler(im.cs))
	h := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		info, err := im.cs.Info(ctx, d.Digest)
		if err != nil {
			if errdefs.IsNotFound(err) && d.Digest != target.Digest && (images.IsManifestType(d.MediaType) || images.IsIndexType(d.MediaType)) {
				return nil, images.ErrSkipDesc
			}
			if errdefs.IsNotFound(err) && images.IsNonDistributableType(d.MediaType) {
				return nil, images.ErrSkipDesc
			}
			return nil, fmt.Errorf("blob %s (%s): %w", d.Digest, d.MediaType, err)
		}
		if info.Size != d.Size {
			return nil, fmt.Errorf("blob %s: %d bytes, descriptor says %d: %w", d.Digest, info.Size, d.Size, errdefs.ErrFailedPrecondition)
		}
		return children(ctx, d)
	})
	return images.Walk(ctx, h, target)
}

func (im *importer) fromIndex(ctx context.Context) ([]images.Image, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(im.index, &idx); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", indexFile, err, errdefs.ErrInvalidArgument)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("%s: schemaVersion %d: %w", indexFile, idx.SchemaVersion, errdefs.ErrInvalidArgument)
	}
	var recs []images.Image
	for _, d := range idx.Manifests {
		if !images.IsManifestType(d.MediaType) && !images.IsIndexType(d.MediaType) {
			continue // artifacts and other entries are not images
		}
		name, err := im.nameOf(d.Annotations)
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		target := ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
		rec := images.Image{Name: name, Target: target}
		if err := images.Validate(rec); err != nil {
			return nil, fmt.Errorf("%s: %w", indexFile, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// nameOf returns the name an index.json entry gives its image, or "".
func (im *importer) nameOf(ann map[string]string) (string, error) {
	if n := ann[AnnotationImageName]; n != "" {
		return normalizeName(n)
	}
	ref := ann[ocispec.AnnotationRefName]
	if ref == "" {
		return "", nil
	}
	if strings.ContainsAny(ref, "/:@") {
		return normalizeName(ref)
	}
	if im.o.baseName == "" {
		return "", nil
	}
	return normalizeName(im.o.baseName + ":" + ref)
}

func normalizeName(n string) (string, error) {
	named, err := reference.ParseDockerRef(n)
	if err != nil {
		return "", fmt.Errorf("image name %q: %v: %w", n, err, errdefs.ErrInvalidArgument)
	}
	return named.String(), nil
}

// fromDockerManifest builds a Docker schema 2 manifest for each entry of
// manifest.json out of its config and layer files, and names it by its
// RepoTags.
func (im *importer) fromDockerManifest(ctx context.Context) ([]images.Image, error) {
	var entries []dockerManifestEntry
	if err := json.Unmarshal(im.dockerManifest, &entries); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", dockerManifestFile, err, errdefs.ErrInvalidArgument)
	}
	var recs []images.Image
	for n, e := range entries {
		file := func(p string) (ocispec.Descriptor, error) {
			cp, err := cleanEntryName(p)
			if err != nil {
				return ocispec.Descriptor{}, fmt.Errorf("%s entry %d: %w", dockerManifestFile, n, err)
			}
			if to, ok := im.aliases[cp]; ok {
				cp = to
			}
			d, ok := im.files[cp]
			if !ok {
				return ocispec.Descriptor{}, fmt.Errorf("%s entry %d: file %q is not in the archive: %w", dockerManifestFile, n, p, errdefs.ErrNotFound)
			}
			return d, nil
		}
		cfg, err := file(e.Config)
		if err != nil {
			return nil, err
		}
		cfg.MediaType = images.MediaTypeDockerConfig
		if _, err := images.ReadConfig(ctx, im.cs, cfg); err != nil {
			return nil, fmt.Errorf("%s entry %d: %w", dockerManifestFile, n, err)
		}
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: images.MediaTypeDockerManifest,
			Config:    cfg,
			Layers:    []ocispec.Descriptor{},
		}
		for _, lp := range e.Layers {
			l, err := file(lp)
			if err != nil {
				return nil, err
			}
			l.MediaType, err = im.layerType(ctx, l)
			if err != nil {
				return nil, fmt.Errorf("%s entry %d: layer %q: %w", dockerManifestFile, n, lp, err)
			}
			m.Layers = append(m.Layers, l)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		md := ocispec.Descriptor{MediaType: images.MediaTypeDockerManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := content.WriteBlob(ctx, im.cs, "import-"+md.Digest.String(), bytes.NewReader(b), md); err != nil {
			return nil, fmt.Errorf("%s entry %d: store manifest: %w", dockerManifestFile, n, err)
		}
		for _, tag := range e.RepoTags {
			name, err := normalizeName(tag)
			if err != nil {
				return nil, fmt.Errorf("%s entry %d: %w", dockerManifestFile, n, err)
			}
			recs = append(recs, images.Image{Name: name, Target: md})
		}
		if len(e.RepoTags) == 0 && im.o.baseName != "" {
			recs = append(recs, images.Image{Name: im.o.baseName + "@" + md.Digest.String(), Target: md})
		}
	}
	return recs, nil
}

// layerType tells a layer's media type by the magic number of its
// compression.
func (im *importer) layerType(ctx context.Context, l ocispec.Descriptor) (string, error) {
	ra, err := im.cs.ReaderAt(ctx, l)
	if err != nil {
		return "", err
	}
	defer ra.Close()
	magic := make([]byte, 4)
	n, err := ra.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	magic = magic[:n]
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return images.MediaTypeDockerLayer, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return images.MediaTypeDockerLayerZstd, nil
	}
	return images.MediaTypeDockerLayerUncompressed, nil
}
