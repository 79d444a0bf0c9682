// Command holdbench starts N tasks running sleep in one process and holds
// them, then reports what holding them costs: the process's resident
// memory (VmRSS) and threads, idle (client open, image ready, a first task
// run and deleted) and with the N tasks running, and the processes on the
// host that are not the containers' own. containerd would run one shim
// process per container; here the caller's process is the only other one.
//
//	holdbench -root ROOT -state STATE -image REF [-n 100]
//
// The image must be in ROOT's default namespace with sleep (see
// bench/exec-vs-runc.sh). The containers, tasks and snapshots are removed
// at the end.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

func main() {
	root := flag.String("root", "", "client root")
	state := flag.String("state", "", "state directory")
	ref := flag.String("image", "", "image name")
	n := flag.Int("n", 100, "tasks to hold")
	flag.Parse()
	if err := run(*root, *state, *ref, *n); err != nil {
		log.Fatal(err)
	}
}

type holder struct {
	ct   containerd.Container
	task containerd.Task
}

func run(root, state, ref string, n int) (retErr error) {
	ctx := context.Background()
	c, err := containerd.New(root, containerd.WithStateDir(state), containerd.WithKillTasksOnClose)
	if err != nil {
		return err
	}
	defer c.Close()
	img, err := c.GetImage(ctx, ref)
	if err != nil {
		return err
	}
	var held []holder
	defer func() {
		for _, h := range held {
			if h.task != nil {
				h.task.Delete(ctx, containerd.WithProcessKill)
			}
			h.ct.Delete(ctx, containerd.WithSnapshotCleanup)
		}
	}()
	start := func(i int) error {
		id := fmt.Sprintf("hold-%d", i+1)
		ct, err := c.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
			containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "100000")))
		if err != nil {
			return err
		}
		held = append(held, holder{ct: ct})
		task, err := ct.NewTask(ctx, containerd.NullIO)
		if err != nil {
			return err
		}
		held[len(held)-1].task = task
		if _, err := task.Wait(ctx); err != nil {
			return err
		}
		return task.Start(ctx)
	}
	// Idle: one task run and deleted, so that what every process that
	// ever ran a task has is counted in.
	if err := start(-1); err != nil {
		return err
	}
	h := held[0]
	h.task.Delete(ctx, containerd.WithProcessKill)
	h.ct.Delete(ctx, containerd.WithSnapshotCleanup)
	held = held[:0]
	runtime.GC()
	debug.FreeOSMemory()
	idleRSS, idleThreads := self()

	for i := range n {
		if err := start(i); err != nil {
			return fmt.Errorf("task %d: %w", i, err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	rss, threads := self()
	inits := map[int]bool{}
	for _, h := range held {
		inits[int(h.task.Pid())] = true
	}
	others := otherProcesses(inits)
	fmt.Printf("%d tasks running\n", n)
	fmt.Printf("holder RSS: idle %.1f MB, holding %.1f MB, +%.1f MB (%.0f KB a task)\n",
		mb(idleRSS), mb(rss), mb(rss-idleRSS), float64(rss-idleRSS)/1024/float64(n))
	fmt.Printf("holder threads: idle %d, holding %d\n", idleThreads, threads)
	fmt.Printf("processes of the holder's that are not a container's init: %d %v\n", len(others), others)
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// self returns this process's VmRSS in bytes and its thread count.
func self() (rss int64, threads int) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			kb, _ := strconv.ParseInt(fs[0], 10, 64)
			rss = kb << 10
		case "Threads":
			threads, _ = strconv.Atoi(fs[0])
		}
	}
	return rss, threads
}

// otherProcesses returns the children of this process that are not in
// inits, with their command names.
func otherProcesses(inits map[int]bool) []string {
	me := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(filepath.Base(d))
		if ppid == me && !inits[pid] {
			out = append(out, fmt.Sprintf("%d(%s)", pid, s[strings.IndexByte(s, '(')+1:i]))
		}
	}
	return out
}
