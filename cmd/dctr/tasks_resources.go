package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

func newTasksMetricsCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "metrics [--format table|json] ID",
		Short: "Show the resource counters of a task",
		Long: `Show the counters of the cgroup of the task of container ID: CPU time,
memory, processes and block IO.

The table (the default) has one row a counter, as METRIC VALUE: times
as durations, sizes in binary units, a limit that is not set as "none".
--format json prints one object with the raw numbers, times in
nanoseconds and sizes in bytes (a memory limit not set is the kernel's
largest value, a pids limit not set 0):

	{"timestamp": RFC 3339, "cpu": {"usage_ns", "user_ns", "kernel_ns",
	 "periods", "throttled_periods", "throttled_time_ns"}, "memory":
	 {"usage_bytes", "max_usage_bytes", "limit_bytes", "cache_bytes",
	 "failcnt"}, "pids": {"current", "limit"}, "io": {"read_bytes",
	 "write_bytes"}}

A counter the cgroup does not keep (max usage and failcnt on cgroup v2)
is 0.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError{fmt.Errorf("%s--format %q: want table or json", prefix(cmd), format)}
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				task, err := loadTask(ctx, client, args[0])
				if err != nil {
					return err
				}
				m, err := task.Metrics(ctx)
				if err != nil {
					return err
				}
				if format == "json" {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(metricsJSON(m))
				}
				t := newTable(cmd.OutOrStdout(), "METRIC", "VALUE")
				for _, row := range metricsRows(m) {
					t.row(row[0], row[1])
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output `FORMAT`: table or json")
	return cmd
}

// taskMetrics is the JSON form of containerd.Metrics.
type taskMetrics struct {
	Timestamp string `json:"timestamp"`
	CPU       struct {
		Usage            uint64 `json:"usage_ns"`
		User             uint64 `json:"user_ns"`
		Kernel           uint64 `json:"kernel_ns"`
		Periods          uint64 `json:"periods"`
		ThrottledPeriods uint64 `json:"throttled_periods"`
		ThrottledTime    uint64 `json:"throttled_time_ns"`
	} `json:"cpu"`
	Memory struct {
		Usage    uint64 `json:"usage_bytes"`
		MaxUsage uint64 `json:"max_usage_bytes"`
		Limit    uint64 `json:"limit_bytes"`
		Cache    uint64 `json:"cache_bytes"`
		Failcnt  uint64 `json:"failcnt"`
	} `json:"memory"`
	Pids struct {
		Current uint64 `json:"current"`
		Limit   uint64 `json:"limit"`
	} `json:"pids"`
	IO struct {
		ReadBytes  uint64 `json:"read_bytes"`
		WriteBytes uint64 `json:"write_bytes"`
	} `json:"io"`
}

func metricsJSON(m *containerd.Metrics) taskMetrics {
	var j taskMetrics
	j.Timestamp = m.Timestamp.Format(time.RFC3339Nano)
	c := m.CPU
	j.CPU.Usage, j.CPU.User, j.CPU.Kernel = c.Usage, c.User, c.Kernel
	j.CPU.Periods, j.CPU.ThrottledPeriods, j.CPU.ThrottledTime = c.Periods, c.ThrottledPeriods, c.ThrottledTime
	mem := m.Memory
	j.Memory.Usage, j.Memory.MaxUsage, j.Memory.Limit, j.Memory.Cache, j.Memory.Failcnt = mem.Usage, mem.MaxUsage, mem.Limit, mem.Cache, mem.Failcnt
	j.Pids.Current, j.Pids.Limit = m.Pids.Current, m.Pids.Limit
	j.IO.ReadBytes, j.IO.WriteBytes = m.IO.ReadBytes, m.IO.WriteBytes
	return j
}

// noMemoryLimit is where a memory limit stops meaning anything: the
// kernel reports "no limit" as its largest value (about 8 EiB on cgroup
// v1, rounded down to a page).
const noMemoryLimit = 1 << 62

// metricsRows are the rows of the metrics table.
func metricsRows(m *containerd.Metrics) [][2]string {
	dur := func(ns uint64) string { return time.Duration(ns).String() }
	size := func(n uint64) string {
		if n >= noMemoryLimit {
			return "none"
		}
		return humanSize(int64(n))
	}
	num := func(n uint64) string { return strconv.FormatUint(n, 10) }
	pidsLimit := "none"
	if m.Pids.Limit > 0 {
		pidsLimit = num(m.Pids.Limit)
	}
	return [][2]string{
		{"cpu.usage", dur(m.CPU.Usage)},
		{"cpu.user", dur(m.CPU.User)},
		{"cpu.kernel", dur(m.CPU.Kernel)},
		{"cpu.periods", num(m.CPU.Periods)},
		{"cpu.throttled_periods", num(m.CPU.ThrottledPeriods)},
		{"cpu.throttled_time", dur(m.CPU.ThrottledTime)},
		{"memory.usage", size(m.Memory.Usage)},
		{"memory.max_usage", size(m.Memory.MaxUsage)},
		{"memory.limit", size(m.Memory.Limit)},
		{"memory.cache", size(m.Memory.Cache)},
		{"memory.failcnt", num(m.Memory.Failcnt)},
		{"pids.current", num(m.Pids.Current)},
		{"pids.limit", pidsLimit},
		{"io.read", size(m.IO.ReadBytes)},
		{"io.write", size(m.IO.WriteBytes)},
	}
}

// updateOptions are the flags of "dctr tasks update".
type updateOptions struct {
	memory, memorySwap string
	cpus               float64
	cpuShares          uint64
	pidsLimit          int64
}

func newTasksUpdateCommand(g *globalOptions) *cobra.Command {
	var o updateOptions
	cmd := &cobra.Command{
		Use:   "update [flags] ID",
		Short: "Change the resource limits of a running task",
		Long: `Change the limits of the task of container ID, live: those the flags
give; the others stay as they are. At least one flag is needed. Sizes
are numbers of bytes with an optional unit K, M, G or T (powers of 1024;
64m, 64M and 64MiB are the same).

--memory sets the memory limit; a limit below the memory in use may be
refused by the kernel, and then nothing changes. --memory-swap sets the
limit of memory and swap together (cgroup v1's memsw; -1 for none).
--cpus N gives the task N CPUs' worth of time in each period of 100 ms
(a CFS quota; 0.5 is half a CPU), --cpu-shares its weight against other
cgroups (1024 by default), --pids-limit the most processes and threads
it may have (-1 for no limit). Prints nothing.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := o.resources(cmd)
			if err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				task, err := loadTask(ctx, client, args[0])
				if err != nil {
					return err
				}
				return task.Update(ctx, containerd.WithResources(res))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.memory, "memory", "", "memory limit in `BYTES` (64m, 1G)")
	f.StringVar(&o.memorySwap, "memory-swap", "", "memory and swap limit in `BYTES`, or -1 for none")
	f.Float64Var(&o.cpus, "cpus", 0, "limit the task to `N` CPUs' worth of time (0.5: half a CPU)")
	f.Uint64Var(&o.cpuShares, "cpu-shares", 0, "relative CPU weight `N`, 2 to 262144 (default of the kernel: 1024)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "limit the task to `N` processes and threads, -1 for no limit")
	return cmd
}

// resources returns the limits the flags give, checked.
func (o *updateOptions) resources(cmd *cobra.Command) (*specs.LinuxResources, error) {
	flags := cmd.Flags()
	bad := func(flag, val string, err error) error {
		return usageError{fmt.Errorf("%s--%s %q: %w", prefix(cmd), flag, val, err)}
	}
	// The oci options check the values and convert them as for a new
	// container; their resources are the update's.
	var opts []oci.SpecOpts
	if flags.Changed("memory") {
		n, err := parseBytes(o.memory)
		if err != nil {
			return nil, bad("memory", o.memory, err)
		}
		opts = append(opts, oci.WithMemoryLimit(n))
	}
	if flags.Changed("cpus") {
		opts = append(opts, oci.WithCPUs(o.cpus))
	}
	if flags.Changed("cpu-shares") {
		opts = append(opts, oci.WithCPUShares(o.cpuShares))
	}
	if flags.Changed("pids-limit") {
		switch {
		case o.pidsLimit == -1:
		case o.pidsLimit < 1:
			return nil, bad("pids-limit", strconv.FormatInt(o.pidsLimit, 10), fmt.Errorf("want a number of processes, or -1 for no limit"))
		default:
			opts = append(opts, oci.WithPidsLimit(o.pidsLimit))
		}
	}
	var s oci.Spec
	for _, opt := range opts {
		if err := opt(cmd.Context(), nil, nil, &s); err != nil {
			return nil, usageError{fmt.Errorf("%s%w", prefix(cmd), err)}
		}
	}
	res := &specs.LinuxResources{}
	if s.Linux != nil && s.Linux.Resources != nil {
		res = s.Linux.Resources
	}
	if flags.Changed("pids-limit") && o.pidsLimit == -1 {
		none := int64(-1)
		res.Pids = &specs.LinuxPids{Limit: &none}
	}
	if flags.Changed("memory-swap") {
		var swap int64 = -1
		if o.memorySwap != "-1" {
			n, err := parseBytes(o.memorySwap)
			if err != nil {
				return nil, bad("memory-swap", o.memorySwap, fmt.Errorf("%w, or -1 for none", err))
			}
			swap = int64(n)
		}
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		res.Memory.Swap = &swap
	}
	if res.Memory == nil && res.CPU == nil && res.Pids == nil {
		return nil, usageError{fmt.Errorf("%snothing to change: give --memory, --memory-swap, --cpus, --cpu-shares or --pids-limit", prefix(cmd))}
	}
	return res, nil
}
