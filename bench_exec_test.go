package containerd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

// BenchmarkExecTrue measures an exec of /bin/true in a running container,
// from Exec to Delete of the process (Exec, Wait, Start, the exit,
// Delete), in one long-lived process. The bar: median <= 10 ms.
//
//	go test -c -o /tmp/dctr.test . && /tmp/dctr.test -test.run XXX -test.bench ExecTrue -test.benchtime 300x
func BenchmarkExecTrue(b *testing.B) {
	e := newBenchTaskEnv(b)
	ctx := context.Background()
	ct, err := e.c.NewContainer(ctx, "exec-bench", containerd.WithImage(e.img), containerd.WithNewSnapshot("exec-bench", e.img),
		containerd.WithNewSpec(oci.WithImageConfig(e.img), oci.WithProcessArgs("sleep", "100000")))
	if err != nil {
		b.Fatal(err)
	}
	defer ct.Delete(ctx, containerd.WithSnapshotCleanup)
	task, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		b.Fatal(err)
	}
	defer task.Delete(ctx, containerd.WithProcessKill)
	if err := task.Start(ctx); err != nil {
		b.Fatal(err)
	}
	spec, err := task.Spec(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ps := *spec.Process
	ps.Args = []string{"/bin/true"}
	n := 0
	var d []time.Duration
	for b.Loop() {
		n++
		start := time.Now()
		p, err := task.Exec(ctx, fmt.Sprintf("true-%d", n), &ps, nil)
		if err != nil {
			b.Fatal(err)
		}
		ch, err := p.Wait(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			b.Fatal(err)
		}
		if st := <-ch; st.ExitCode() != 0 || st.Error() != nil {
			b.Fatalf("/bin/true exited %d (%v)", st.ExitCode(), st.Error())
		}
		if _, err := p.Delete(ctx); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	reportPercentiles(b, d)
}
