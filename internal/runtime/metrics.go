package runtime

import "time"

// Metrics are the resource counters of a task's cgroup.
type Metrics struct {
	// Timestamp is when they were read.
	Timestamp time.Time
	CPU       CPUMetrics
	Memory    MemoryMetrics
	Pids      PidsMetrics
	IO        IOMetrics
}

// CPUMetrics counts CPU time, in nanoseconds.
type CPUMetrics struct {
	// Usage is the CPU time of the task's processes; User and Kernel split
	// it by mode (where the cgroup says).
	Usage, User, Kernel uint64
	// Periods and ThrottledPeriods count the enforcement periods of a CPU
	// quota and those in which the task was throttled; ThrottledTime is
	// how long it was.
	Periods, ThrottledPeriods, ThrottledTime uint64
}

// MemoryMetrics are in bytes.
type MemoryMetrics struct {
	// Usage is the memory in use now, MaxUsage the most ever used (0
	// where the cgroup does not say), Limit the limit (the largest value
	// when there is none), Cache the page cache.
	Usage, MaxUsage, Limit, Cache uint64
	// Failcnt counts the times the limit was hit (cgroup v1).
	Failcnt uint64
}

// PidsMetrics count processes.
type PidsMetrics struct {
	// Current is the number of processes and threads; Limit their limit,
	// 0 for none.
	Current, Limit uint64
}

// IOMetrics are in bytes, over all block devices.
type IOMetrics struct {
	ReadBytes, WriteBytes uint64
}
