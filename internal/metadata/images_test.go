package metadata

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/namespaces"
)

func newImageStore(t *testing.T) *ImageStore {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewImageStore(db, namespaces.Default)
}

func target(s string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString(s), Size: int64(100 + len(s)),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": s}}
}

func TestImageStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newImageStore(t)
	img, err := s.Create(ctx, images.Image{Name: "docker.io/library/redis:7", Target: target("a"), Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if img.CreatedAt.IsZero() || !img.CreatedAt.Equal(img.UpdatedAt) {
		t.Fatalf("Create set times %v / %v", img.CreatedAt, img.UpdatedAt)
	}
	got, err := s.Get(ctx, img.Name)
	if err != nil || got.Target.Digest != img.Target.Digest || got.Target.Annotations["org.opencontainers.image.ref.name"] != "a" || got.Labels["k"] != "v" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := s.Create(ctx, images.Image{Name: img.Name, Target: target("b")}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Create of an existing name = %v, want AlreadyExists", err)
	}

	// Update: a label alone, then the target alone, then both.
	up, err := s.Update(ctx, images.Image{Name: img.Name, Labels: map[string]string{"x": "1"}}, "labels.x")
	if err != nil || up.Labels["k"] != "v" || up.Labels["x"] != "1" || up.Target.Digest != img.Target.Digest {
		t.Fatalf("Update(labels.x) = %+v, %v", up, err)
	}
	up, err = s.Update(ctx, images.Image{Name: img.Name, Target: target("b")}, "target")
	if err != nil || up.Target.Digest != target("b").Digest || len(up.Labels) != 2 || !up.CreatedAt.Equal(img.CreatedAt) {
		t.Fatalf("Update(target) = %+v, %v", up, err)
	}
	up, err = s.Update(ctx, images.Image{Name: img.Name, Target: target("c")})
	if err != nil || up.Target.Digest != target("c").Digest || len(up.Labels) != 0 {
		t.Fatalf("Update() = %+v, %v; want target c and no labels", up, err)
	}
	for _, tc := range []struct {
		img images.Image
		fps []string
	}{
		{images.Image{Name: img.Name}, []string{"name"}},
		{images.Image{Name: img.Name, Target: ocispec.Descriptor{}}, []string{"target"}},
		{images.Image{Name: img.Name, Labels: map[string]string{"": "x"}}, []string{"labels"}},
	} {
		if _, err := s.Update(ctx, tc.img, tc.fps...); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Update(%+v, %q) = %v, want InvalidArgument", tc.img, tc.fps, err)
		}
	}
	if got, _ := s.Get(ctx, img.Name); got.Target.Digest != target("c").Digest {
		t.Fatalf("refused updates changed the image: %+v", got)
	}
	if _, err := s.Update(ctx, images.Image{Name: "missing", Target: target("a")}); !errdefs.IsNotFound(err) {
		t.Fatalf("Update(missing) = %v, want NotFound", err)
	}
	if err := s.Delete(ctx, img.Name); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := s.Get(ctx, img.Name); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Delete = %v, want NotFound", err)
	}
	if err := s.Delete(ctx, img.Name); !errdefs.IsNotFound(err) {
		t.Fatalf("Delete again = %v, want NotFound", err)
	}
}

func TestImageStoreListAndNamespaces(t *testing.T) {
	s := newImageStore(t)
	a := namespaces.WithNamespace(context.Background(), "a")
	b := namespaces.WithNamespace(context.Background(), "b")
	for _, n := range []string{"r/app:2", "r/app:1", "r/other:1"} {
		lbl := map[string]string{"team": strings.Split(n, "/")[1][:3]}
		if _, err := s.Create(a, images.Image{Name: n, Target: target(n), Labels: lbl}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ctx context.Context, fs ...string) []string {
		imgs, err := s.List(ctx, fs...)
		if err != nil {
			t.Fatalf("List(%q) = %v", fs, err)
		}
		var out []string
		for _, i := range imgs {
			out = append(out, i.Name)
		}
		return out
	}
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{nil, []string{"r/app:1", "r/app:2", "r/other:1"}},
		{[]string{"name==r/app:1"}, []string{"r/app:1"}},
		{[]string{"name~=^r/app"}, []string{"r/app:1", "r/app:2"}},
		{[]string{"labels.team==oth"}, []string{"r/other:1"}},
		{[]string{"target.digest==" + target("r/app:2").Digest.String()}, []string{"r/app:2"}},
		{[]string{"target.mediatype==" + ocispec.MediaTypeImageManifest}, nil},
		{[]string{"name==r/app:1", "name==r/other:1"}, []string{"r/app:1", "r/other:1"}},
	} {
		if got := names(a, tc.filters...); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.filters, got, tc.want)
		}
	}
	if got := names(b); len(got) != 0 {
		t.Fatalf("namespace b lists %q", got)
	}
	if _, err := s.Get(b, "r/app:1"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get in b of a's image = %v, want NotFound", err)
	}
	if _, err := s.Create(b, images.Image{Name: "r/app:1", Target: target("other")}); err != nil {
		t.Fatalf("the same name in another namespace: %v", err)
	}
	if _, err := s.List(a, "name=="); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("List with a malformed filter = %v, want InvalidArgument", err)
	}
}

func TestImageStoreRefusesBadRecords(t *testing.T) {
	ctx := context.Background()
	s := newImageStore(t)
	good := target("x")
	for _, tc := range []struct {
		name string
		img  images.Image
	}{
		{"empty name", images.Image{Target: good}},
		{"control character", images.Image{Name: "a\nb", Target: good}},
		{"not UTF-8", images.Image{Name: "\xff", Target: good}},
		{"too long", images.Image{Name: strings.Repeat("n", images.MaxNameLength+1), Target: good}},
		{"no media type", images.Image{Name: "n", Target: ocispec.Descriptor{Digest: good.Digest, Size: 1}}},
		{"no size", images.Image{Name: "n", Target: ocispec.Descriptor{MediaType: good.MediaType, Digest: good.Digest}}},
		{"bad digest", images.Image{Name: "n", Target: ocispec.Descriptor{MediaType: good.MediaType, Digest: "sha256:../x", Size: 1}}},
		{"bad label", images.Image{Name: "n", Target: good, Labels: map[string]string{"": "v"}}},
	} {
		if _, err := s.Create(ctx, tc.img); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Create(%s) = %v, want InvalidArgument", tc.name, err)
		}
	}
	if imgs, _ := s.List(ctx); len(imgs) != 0 {
		t.Fatalf("refused records were stored: %+v", imgs)
	}
}
