package containerd_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/internal/testutil"
	"github.com/daemonless/containerd/oci"
)

// newBenchTaskEnv is newTaskEnv for a benchmark: a client with its own
// root and state directory (under DCTR_BENCH_DIR, or the temp dir), and
// a busybox test image pulled and unpacked.
func newBenchTaskEnv(b *testing.B) *taskEnv {
	b.Helper()
	testutil.RequiresContainers(b)
	root, err := os.MkdirTemp(benchDir(), "bench-run")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	e := &taskEnv{root: root, state: b.TempDir()}
	c, err := containerd.New(e.root, containerd.WithStateDir(e.state))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	e.c = c
	reg := testutil.NewRegistry(b)
	testutil.BusyboxImage(b).Push(b, reg.Host(), "bench/busybox", "v1")
	if e.img, err = c.Pull(context.Background(), reg.Host()+"/bench/busybox:v1", resolver(), containerd.WithPullUnpack); err != nil {
		b.Fatal(err)
	}
	return e
}

// runTrue runs ct's task (its command /bin/true) to its end and deletes it.
func runTrue(b *testing.B, ctx context.Context, ct containerd.Container) {
	task, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := task.Wait(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if st := <-ch; st.ExitCode() != 0 || st.Error() != nil {
		b.Fatalf("/bin/true exited %d (%v)", st.ExitCode(), st.Error())
	}
	if _, err := task.Delete(ctx); err != nil {
		b.Fatal(err)
	}
}

// reportPercentiles reports the median and the 99th percentile of the
// iterations' durations, in ms, next to ns/op.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.5), "ms/median")
	b.ReportMetric(at(0.99), "ms/p99")
}

// BenchmarkRunTrue measures start to exit of /bin/true in a busybox
// image, in one long-lived process.
//
// container: each iteration is a whole run, as "dctr run --rm" does it:
// NewContainer (a new snapshot, the spec from the image config), NewTask,
// Wait, Start, the exit, Task.Delete and Container.Delete with its
// snapshot. The bar: median <= 16 ms, p99 <= 40 ms.
//
// task: the container is made once; each iteration is NewTask to
// Task.Delete only (mount, cgroup, init, exit, unmount), to tell the
// task's cost from the container's and its snapshot's.
//
//	go test -run XXX -bench RunTrue -benchtime 300x .
//
// Keep the test binary out of any directory that holds the state
// directory (go test -c -o /tmp/x.test with the state in /tmp/...):
// libcontainer then cannot seal the binary it re-executes as the
// container's init with an overlay mount, and copies it, 40 MB, for every
// container instead.
func BenchmarkRunTrue(b *testing.B) {
	e := newBenchTaskEnv(b)
	ctx := context.Background()
	spec := containerd.WithNewSpec(oci.WithImageConfig(e.img), oci.WithProcessArgs("/bin/true"))
	n := 0
	b.Run("container", func(b *testing.B) {
		var d []time.Duration
		for b.Loop() {
			n++
			id := fmt.Sprintf("true-%d", n)
			start := time.Now()
			ct, err := e.c.NewContainer(ctx, id, containerd.WithImage(e.img), containerd.WithNewSnapshot(id, e.img), spec)
			if err != nil {
				b.Fatal(err)
			}
			runTrue(b, ctx, ct)
			if err := ct.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		reportPercentiles(b, d)
	})
	b.Run("task", func(b *testing.B) {
		ct, err := e.c.NewContainer(ctx, "true-task", containerd.WithImage(e.img), containerd.WithNewSnapshot("true-task", e.img), spec)
		if err != nil {
			b.Fatal(err)
		}
		defer ct.Delete(ctx, containerd.WithSnapshotCleanup)
		var d []time.Duration
		for b.Loop() {
			start := time.Now()
			runTrue(b, ctx, ct)
			d = append(d, time.Since(start))
		}
		reportPercentiles(b, d)
	})
}
