package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/namespaces"
	"github.com/daemonless/containerd/oci"
)

// markTopic is the topic of the markers a recorder publishes.
const markTopic = "/test/mark"

// recorder follows a client's events. Publishing is synchronous, so
// every event of an action is in the subscription's buffer once the
// action returns: next publishes a marker and returns what came before
// it.
type recorder struct {
	t    *testing.T
	c    *containerd.Client
	ch   <-chan *events.Envelope
	errs <-chan error
	mark int
}

// record subscribes to c's events matching any of filters (all without
// filters), and to the markers.
func record(t *testing.T, c *containerd.Client, filters ...string) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if len(filters) > 0 {
		filters = append(filters, "topic=="+markTopic)
	}
	ch, errs := c.Subscribe(ctx, filters...)
	return &recorder{t: t, c: c, ch: ch, errs: errs}
}

// next returns the events since the last call.
func (r *recorder) next() []*events.Envelope {
	r.t.Helper()
	r.mark++
	if err := r.c.Publish(context.Background(), markTopic, r.mark); err != nil {
		r.t.Fatalf("Publish(marker) = %v", err)
	}
	var got []*events.Envelope
	for {
		select {
		case env, ok := <-r.ch:
			if !ok {
				r.t.Fatalf("subscription ended: %v", <-r.errs)
			}
			if env.Topic == markTopic && env.Event == r.mark {
				return got
			}
			got = append(got, env)
		case err := <-r.errs:
			r.t.Fatalf("subscription error: %v", err)
		}
	}
}

// topics lists the topics of envs, in order.
func topics(envs []*events.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Topic)
	}
	return out
}

// only returns the payloads of envs of type T, checking their
// namespace.
func only[T any](t *testing.T, envs []*events.Envelope, ns string) []*T {
	t.Helper()
	var out []*T
	for _, e := range envs {
		if p, ok := e.Event.(*T); ok {
			if e.Namespace != ns {
				t.Errorf("%s event in namespace %q, want %q", e.Topic, e.Namespace, ns)
			}
			if e.Timestamp.IsZero() {
				t.Errorf("%s event has no timestamp", e.Topic)
			}
			out = append(out, p)
		}
	}
	return out
}

func TestEventsImages(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 2, 10_000)
	img.Push(t, reg.Host(), "team/app", "v1")
	c := newClient(t)
	r := record(t, c)
	ref := reg.Host() + "/team/app:v1"

	if _, err := c.Pull(ctx, ref, resolver(), containerd.WithPullLabels(map[string]string{"origin": "test"})); err != nil {
		t.Fatalf("Pull(%s) = %v", ref, err)
	}
	got := r.next()
	blobs := map[digest.Digest]int64{img.Manifest.Digest: img.Manifest.Size, img.Config.Digest: img.Config.Size}
	for _, l := range img.Layers {
		blobs[l.Digest] = l.Size
	}
	created := only[events.ContentCreate](t, got, "default")
	if len(created) != len(blobs) {
		t.Errorf("Pull: %d /content/create events, want %d (manifest, config, layers): %v", len(created), len(blobs), topics(got))
	}
	for _, cc := range created {
		if size, ok := blobs[cc.Digest]; !ok || size != cc.Size {
			t.Errorf("/content/create %s size %d: want one of the image's blobs with its size", cc.Digest, cc.Size)
		}
		delete(blobs, cc.Digest)
	}
	ic := only[events.ImageCreate](t, got, "default")
	if len(ic) != 1 || ic[0].Name != ref || ic[0].Labels["origin"] != "test" {
		t.Errorf("Pull: /images/create events %+v, want one for %s with its labels", ic, ref)
	}
	if len(got) != len(created)+1 || got[len(got)-1].Topic != events.TopicImageCreate {
		t.Errorf("Pull: events %v, want the blobs' /content/create then /images/create", topics(got))
	}

	// Pulling again stores nothing new: the record is updated.
	if _, err := c.Pull(ctx, ref, resolver()); err != nil {
		t.Fatalf("Pull(%s) again = %v", ref, err)
	}
	got = r.next()
	if iu := only[events.ImageUpdate](t, got, "default"); len(got) != 1 || len(iu) != 1 || iu[0].Name != ref {
		t.Errorf("second Pull: events %v, want one /images/update", topics(got))
	}

	is := c.ImageService()
	rec, err := is.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	rec.Labels = map[string]string{"stage": "prod"}
	if _, err := is.Update(ctx, rec, "labels.stage"); err != nil {
		t.Fatal(err)
	}
	got = r.next()
	if iu := only[events.ImageUpdate](t, got, "default"); len(got) != 1 || len(iu) != 1 || iu[0].Labels["stage"] != "prod" {
		t.Errorf("ImageService().Update: events %v, want one /images/update with the new label", topics(got))
	}
	// A failed change publishes nothing.
	if _, err := is.Create(ctx, rec); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Create of an existing image = %v", err)
	}
	if err := is.Delete(ctx, "example.com/nosuch:1"); !errdefs.IsNotFound(err) {
		t.Fatalf("Delete of a missing image = %v", err)
	}
	if got := r.next(); len(got) != 0 {
		t.Errorf("failed changes published %v", topics(got))
	}
	if err := is.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	got = r.next()
	if id := only[events.ImageDelete](t, got, "default"); len(got) != 1 || len(id) != 1 || id[0].Name != ref {
		t.Errorf("ImageService().Delete: events %v, want one /images/delete", topics(got))
	}

	// Import: its blobs are in already, so the record alone.
	var buf bytes.Buffer
	c2 := newClient(t)
	if _, err := c2.Pull(ctx, ref, resolver()); err != nil {
		t.Fatal(err)
	}
	if err := c2.Export(ctx, &buf, containerd.WithExportImage(ref)); err != nil {
		t.Fatalf("Export = %v", err)
	}
	if _, err := c.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Import = %v", err)
	}
	got = r.next()
	if ic := only[events.ImageCreate](t, got, "default"); len(got) != 1 || len(ic) != 1 || ic[0].Name != ref {
		t.Errorf("Import: events %v, want one /images/create", topics(got))
	}
	if _, err := c.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Import again = %v", err)
	}
	got = r.next()
	if iu := only[events.ImageUpdate](t, got, "default"); len(got) != 1 || len(iu) != 1 {
		t.Errorf("Import again: events %v, want one /images/update", topics(got))
	}
	// Into a fresh client, an import stores the blobs too.
	c3 := newClient(t)
	r3 := record(t, c3, "topic~=^/content/", "topic~=^/images/")
	ns3 := namespaces.WithNamespace(ctx, "imports")
	if _, err := c3.Import(ns3, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Import = %v", err)
	}
	got = r3.next()
	if cc, ic := only[events.ContentCreate](t, got, "imports"), only[events.ImageCreate](t, got, "imports"); len(cc) != 4 || len(ic) != 1 || len(got) != 5 {
		t.Errorf("Import into a fresh root: events %v, want 4 /content/create and one /images/create", topics(got))
	}
}

func TestEventsContent(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	r := record(t, c, "topic~=^/content/")
	cs := c.ContentStore()
	if _, ok := cs.(content.PathProvider); !ok {
		t.Errorf("ContentStore() is no longer a PathProvider")
	}
	data := "some content\n"
	desc := ocispec.Descriptor{Digest: digest.FromString(data), Size: int64(len(data))}
	if err := content.WriteBlob(ctx, cs, "blob", strings.NewReader(data), desc); err != nil {
		t.Fatal(err)
	}
	got := r.next()
	if cc := only[events.ContentCreate](t, got, "default"); len(got) != 1 || len(cc) != 1 || *cc[0] != (events.ContentCreate{Digest: desc.Digest, Size: desc.Size}) {
		t.Errorf("WriteBlob: events %v, want one /content/create %s %d", topics(got), desc.Digest, desc.Size)
	}
	// Written again: nothing new.
	if err := content.WriteBlob(ctx, cs, "blob", strings.NewReader(data), desc); err != nil {
		t.Fatal(err)
	}
	if got := r.next(); len(got) != 0 {
		t.Errorf("WriteBlob of a blob held: events %v, want none", topics(got))
	}
	// A writer committed with no size or digest given.
	ns := namespaces.WithNamespace(ctx, "other")
	w, err := cs.Writer(ns, content.WithRef("open"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, 0, ""); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got = r.next()
	if cc := only[events.ContentCreate](t, got, "other"); len(got) != 1 || len(cc) != 1 || *cc[0] != (events.ContentCreate{Digest: desc.Digest, Size: desc.Size}) {
		t.Errorf("Writer.Commit(0, \"\") in namespace other: events %v, want one /content/create %s %d", topics(got), desc.Digest, desc.Size)
	}
	if err := cs.Delete(ctx, desc.Digest); err != nil {
		t.Fatal(err)
	}
	if err := cs.Delete(ctx, desc.Digest); !errdefs.IsNotFound(err) {
		t.Fatalf("second Delete = %v", err)
	}
	got = r.next()
	if cd := only[events.ContentDelete](t, got, "default"); len(got) != 1 || len(cd) != 1 || cd[0].Digest != desc.Digest {
		t.Errorf("Delete: events %v, want one /content/delete", topics(got))
	}
}

func TestEventsUnpackAndContainers(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	img := testutil.RandomImage(t, 2, 10_000)
	r := record(t, c, "topic~=^/snapshot/", "topic~=^/containers/")
	image, err := pullUnpacked(t, c, img)
	if err != nil {
		t.Fatalf("Pull(WithPullUnpack) = %v", err)
	}
	sn := c.DefaultSnapshotter()
	diffIDs, err := image.RootFS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chain := images.ChainIDs(diffIDs)
	got := r.next()
	prepared := map[string]events.SnapshotPrepare{}
	for _, p := range only[events.SnapshotPrepare](t, got, "default") {
		if _, dup := prepared[p.Key]; dup || p.Snapshotter != sn {
			t.Errorf("/snapshot/prepare %+v: twice, or not of snapshotter %s", p, sn)
		}
		prepared[p.Key] = *p
	}
	commits := only[events.SnapshotCommit](t, got, "default")
	if len(commits) != len(chain) {
		t.Fatalf("unpack: %d /snapshot/commit events, want %d: %v", len(commits), len(chain), topics(got))
	}
	removed := map[string]bool{}
	for _, rm := range only[events.SnapshotRemove](t, got, "default") {
		removed[rm.Key] = true
	}
	committed := map[string]bool{}
	for _, cm := range commits {
		if _, ok := prepared[cm.Key]; !ok || cm.Snapshotter != sn {
			t.Errorf("/snapshot/commit %+v of a snapshot not prepared", cm)
		}
		committed[cm.Key] = true
		if cm.Name != chain[0].String() && cm.Name != chain[1].String() {
			t.Errorf("/snapshot/commit %+v: not a layer's ChainID", cm)
		}
	}
	// Every snapshot prepared was committed or removed, once.
	for key := range prepared {
		if committed[key] == removed[key] {
			t.Errorf("snapshot %s prepared: committed %v, removed %v; want one of them", key, committed[key], removed[key])
		}
	}
	if len(got) != len(prepared)+len(commits)+len(removed) {
		t.Errorf("unpack: events %v, want prepares, commits and removes only", topics(got))
	}

	// A container with a snapshot of its own.
	ct, err := c.NewContainer(ctx, "web",
		containerd.WithImage(image),
		containerd.WithNewSnapshot("web-rootfs", image),
		containerd.WithNewSpec(oci.WithImageConfig(image)))
	if err != nil {
		t.Fatalf("NewContainer = %v", err)
	}
	got = r.next()
	if fmt.Sprint(topics(got)) != "[/snapshot/prepare /containers/create]" {
		t.Fatalf("NewContainer: events %v, want /snapshot/prepare, /containers/create", topics(got))
	}
	if p := got[0].Event.(*events.SnapshotPrepare); *p != (events.SnapshotPrepare{Key: "web-rootfs", Parent: chain[1].String(), Snapshotter: sn}) {
		t.Errorf("NewContainer: %+v", *p)
	}
	if cc := got[1].Event.(*events.ContainerCreate); *cc != (events.ContainerCreate{ID: "web", Image: image.Name()}) {
		t.Errorf("NewContainer: %+v", *cc)
	}
	if _, err := ct.SetLabels(ctx, map[string]string{"team": "a"}); err != nil {
		t.Fatal(err)
	}
	if err := ct.Update(ctx, containerd.UpdateSpec(oci.WithHostname("h"))); err != nil {
		t.Fatal(err)
	}
	got = r.next()
	cu := only[events.ContainerUpdate](t, got, "default")
	if len(got) != 2 || len(cu) != 2 || cu[0].ID != "web" || cu[0].Labels["team"] != "a" || cu[1].SnapshotKey != "web-rootfs" || cu[1].Image != image.Name() {
		t.Errorf("SetLabels, Update: events %v (%+v), want two /containers/update", topics(got), cu)
	}
	if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		t.Fatal(err)
	}
	got = r.next()
	if fmt.Sprint(topics(got)) != "[/containers/delete /snapshot/remove]" ||
		*got[0].Event.(*events.ContainerDelete) != (events.ContainerDelete{ID: "web"}) ||
		*got[1].Event.(*events.SnapshotRemove) != (events.SnapshotRemove{Key: "web-rootfs", Snapshotter: sn}) {
		t.Errorf("Delete(WithSnapshotCleanup): events %v, want /containers/delete, /snapshot/remove", topics(got))
	}

	// A NewContainer that fails removes its snapshot and stores no
	// record.
	_, err = c.NewContainer(ctx, "bad", containerd.WithNewSnapshot("bad-rootfs", image), containerd.WithNewSpec(oci.WithProcessArgs()))
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("NewContainer without a command = %v", err)
	}
	got = r.next()
	if fmt.Sprint(topics(got)) != "[/snapshot/prepare /snapshot/remove]" {
		t.Errorf("failed NewContainer: events %v, want /snapshot/prepare, /snapshot/remove", topics(got))
	}

	// A view publishes nothing; its removal does.
	if _, err := c.SnapshotService("").View(ctx, "look", chain[1].String()); err != nil {
		t.Fatal(err)
	}
	if got := r.next(); len(got) != 0 {
		t.Errorf("View: events %v, want none", topics(got))
	}
	if err := c.SnapshotService("").Remove(ctx, "look"); err != nil {
		t.Fatal(err)
	}
	if got := r.next(); len(got) != 1 || got[0].Topic != events.TopicSnapshotRemove {
		t.Errorf("Remove(view): events %v, want one /snapshot/remove", topics(got))
	}
}

func TestEventsFilters(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	nsA := namespaces.WithNamespace(ctx, "a")
	nsB := namespaces.WithNamespace(ctx, "b")
	ofB := record(t, c, "namespace==b")
	deletesOrA := record(t, c, "topic~=/delete$", "namespace==a,topic==/containers/create")
	byID := record(t, c, "event.id==one")
	for _, ctx := range []context.Context{nsA, nsB} {
		for _, id := range []string{"one", "two"} {
			if _, err := c.NewContainer(ctx, id, containerd.WithNewSpec(oci.WithProcessArgs("x"))); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.ContainerService().Delete(ctx, "one"); err != nil {
			t.Fatal(err)
		}
	}
	if got := ofB.next(); fmt.Sprint(topics(got)) != "[/containers/create /containers/create /containers/delete]" || got[0].Namespace != "b" {
		t.Errorf("namespace==b: events %v", topics(got))
	}
	got := deletesOrA.next()
	var desc []string
	for _, e := range got {
		desc = append(desc, e.Namespace+e.Topic)
	}
	if fmt.Sprint(desc) != "[a/containers/create a/containers/create a/containers/delete b/containers/delete]" {
		t.Errorf("deletes or creates in a: events %v", desc)
	}
	if got := byID.next(); len(got) != 4 {
		t.Errorf("event.id==one: events %v, want 4", topics(got))
	}
	// A filter that does not parse.
	ch, errs := c.Subscribe(ctx, "topic==")
	if _, ok := <-ch; ok {
		t.Error("a subscription with a bad filter got an event")
	}
	if err := <-errs; !errdefs.IsInvalidArgument(err) {
		t.Errorf("Subscribe(bad filter) error = %v, want InvalidArgument", err)
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	c, err := containerd.New(t.TempDir(), containerd.WithNamespace("mine"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := record(t, c, "topic~=^/example/")
	type deployed struct{ App string }
	if err := c.Publish(ctx, "/example/deployed", &deployed{App: "api"}); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	if err := c.Publish(namespaces.WithNamespace(ctx, "theirs"), "/example/other", 42); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	got := r.next()
	if len(got) != 2 || got[0].Namespace != "mine" || got[0].Event.(*deployed).App != "api" || got[1].Namespace != "theirs" || got[1].Event != 42 {
		t.Errorf("events %+v", got)
	}
	for _, tc := range []struct {
		ctx   context.Context
		topic string
		event any
	}{
		{ctx, "example", 1},
		{ctx, "/example/", 1},
		{ctx, "/exa mple", 1},
		{ctx, "/example", nil},
		{namespaces.WithNamespace(ctx, "bad/ns"), "/example", 1},
	} {
		if err := c.Publish(tc.ctx, tc.topic, tc.event); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Publish(%q, %v) = %v, want InvalidArgument", tc.topic, tc.event, err)
		}
	}
	if got := r.next(); len(got) != 0 {
		t.Errorf("refused publishes delivered %v", topics(got))
	}
}

// TestSubscribeSlow: a subscriber that does not read falls behind and is
// told so, while one that reads gets every event and Publish never
// waits.
func TestSubscribeSlow(t *testing.T) {
	const total, batch = 3000, 500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t)
	slow, slowErrs := c.Subscribe(ctx)
	fast, fastErrs := c.Subscribe(ctx)
	batchRead := make(chan struct{})
	fastGot := make(chan int)
	go func() {
		n := 0
		for env := range fast {
			if env.Event != n {
				t.Errorf("fast subscriber: event %v, want %d", env.Event, n)
			}
			n++
			if n%batch == 0 {
				batchRead <- struct{}{}
			}
			if n == total {
				break
			}
		}
		fastGot <- n
	}()
	for i := range total {
		if err := c.Publish(ctx, "/test/n", i); err != nil {
			t.Fatal(err)
		}
		if (i+1)%batch == 0 {
			<-batchRead
		}
	}
	if n := <-fastGot; n != total {
		t.Errorf("fast subscriber got %d events, want %d", n, total)
	}
	select {
	case err := <-fastErrs:
		t.Errorf("fast subscriber: %v", err)
	default:
	}
	err := <-slowErrs
	if !errdefs.IsResourceExhausted(err) || !strings.Contains(err.Error(), "fell 1024 events behind") {
		t.Errorf("slow subscriber's error = %v, want ResourceExhausted saying it fell 1024 behind", err)
	}
	n := 0
	for range slow {
		n++
	}
	if n != 1024 {
		t.Errorf("slow subscriber could read %d events, want the 1024 buffered", n)
	}
	if _, ok := <-slowErrs; ok {
		t.Error("slow subscriber's error channel still open")
	}
}

// TestSubscribeEnds: the end of the context closes both channels and
// leaves no goroutine.
func TestSubscribeEnds(t *testing.T) {
	c := newClient(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	var subs []<-chan *events.Envelope
	var errss []<-chan error
	for range 50 {
		ch, errs := c.Subscribe(ctx)
		subs, errss = append(subs, ch), append(errss, errs)
	}
	if err := c.Publish(ctx, "/test/one", 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	for i := range subs {
		n := 0
		for range subs[i] {
			n++
		}
		if err, ok := <-errss[i]; ok || n != 1 {
			t.Errorf("subscription %d: %d events, then error %v (open %v); want 1 and a closed channel", i, n, err, ok)
		}
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	ch, errs := c.Subscribe(dctx)
	for range ch {
	}
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the deadline: %v, want DeadlineExceeded", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before subscribing", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
