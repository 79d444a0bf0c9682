// Command execbench measures, in one long-lived process, an exec of
// /bin/true in a running container: Exec, Wait, Start, the exit and the
// process's Delete, the way a service embedding the library does it. It
// prints the median, p90 and p99 of the wall times in ms.
//
//	execbench -root ROOT -state STATE -image REF [-n 300]
//
// The image must be in ROOT's default namespace, unpacked, with sleep and
// /bin/true (bench/exec-vs-runc.sh prepares one). The container and its
// snapshot are made for the run and removed after. Keep this binary out of
// any directory above STATE: libcontainer then cannot seal the binary it
// re-executes with an overlay, and copies it for every process instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"slices"
	"time"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

func main() {
	root := flag.String("root", "", "client root")
	state := flag.String("state", "", "state directory")
	ref := flag.String("image", "", "image name")
	n := flag.Int("n", 300, "execs to time")
	flag.Parse()
	if err := run(*root, *state, *ref, *n); err != nil {
		log.Fatal(err)
	}
}

func run(root, state, ref string, n int) (retErr error) {
	ctx := context.Background()
	c, err := containerd.New(root, containerd.WithStateDir(state))
	if err != nil {
		return err
	}
	defer c.Close()
	img, err := c.GetImage(ctx, ref)
	if err != nil {
		return err
	}
	ct, err := c.NewContainer(ctx, "execbench", containerd.WithImage(img), containerd.WithNewSnapshot("execbench", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "100000")))
	if err != nil {
		return err
	}
	defer ct.Delete(ctx, containerd.WithSnapshotCleanup)
	task, err := ct.NewTask(ctx, containerd.NullIO)
	if err != nil {
		return err
	}
	defer task.Delete(ctx, containerd.WithProcessKill)
	if err := task.Start(ctx); err != nil {
		return err
	}
	spec, err := task.Spec(ctx)
	if err != nil {
		return err
	}
	ps := *spec.Process
	ps.Args = []string{"/bin/true"}
	d := make([]time.Duration, 0, n)
	for i := -5; i < n; i++ { // five warm-up execs
		start := time.Now()
		p, err := task.Exec(ctx, fmt.Sprintf("true-%d", i+5), &ps, nil)
		if err != nil {
			return err
		}
		ch, err := p.Wait(ctx)
		if err != nil {
			return err
		}
		if err := p.Start(ctx); err != nil {
			return err
		}
		if st := <-ch; st.ExitCode() != 0 || st.Error() != nil {
			return fmt.Errorf("/bin/true exited %d (%v)", st.ExitCode(), st.Error())
		}
		if _, err := p.Delete(ctx); err != nil {
			return err
		}
		if i >= 0 {
			d = append(d, time.Since(start))
		}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	fmt.Printf("%d execs of /bin/true, wall ms: median %.1f p90 %.1f p99 %.1f\n", len(d), at(0.5), at(0.9), at(0.99))
	return nil
}
