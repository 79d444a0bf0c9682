//go:build cgo

package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update changes the resource limits of a running or paused task, live:
// the memory limit, reservation, swap and swappiness, the CPU shares,
// quota, period and cpusets, the pids limit and the block IO weight. What
// res leaves unset (nil or zero) stays as it is. A limit the kernel
// refuses (a memory limit below the memory in use, say) leaves every
// limit as it was. A stopped task is NotFound; res nil InvalidArgument.
func (t *Task) Update(ctx context.Context, res *specs.LinuxResources) error {
	const op = "update"
	if err := t.check(ctx, op); err != nil {
		return err
	}
	if res == nil {
		return taskError(t.id, op, errors.New("no resources"), errdefs.ErrInvalidArgument)
	}
	if len(res.Devices) > 0 || res.HugepageLimits != nil || res.Network != nil || res.Rdma != nil {
		return taskError(t.id, op, errors.New("only memory, cpu, pids and block IO weight can be updated"), errdefs.ErrInvalidArgument)
	}
	if t.hasExited() {
		return taskError(t.id, op, errors.New("init has exited"), errdefs.ErrNotFound)
	}
	cfg := t.container.Config()
	cg := *cfg.Cgroups
	r := *cg.Resources
	cg.Resources = &r
	cfg.Cgroups = &cg

	if m := res.Memory; m != nil {
		if m.Limit != nil {
			r.Memory = *m.Limit
			// With no swap limit given, memory+swap follows the memory
			// limit when it did before (v1 refuses a memory limit above
			// memory+swap).
			if m.Swap == nil && r.MemorySwap > 0 && r.MemorySwap < r.Memory {
				r.MemorySwap = r.Memory
			}
		}
		if m.Reservation != nil {
			r.MemoryReservation = *m.Reservation
		}
		if m.Swap != nil {
			r.MemorySwap = *m.Swap
		}
		if m.Swappiness != nil {
			v := *m.Swappiness
			r.MemorySwappiness = &v
		}
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil {
			r.CpuShares = *c.Shares
		}
		if c.Quota != nil {
			r.CpuQuota = *c.Quota
		}
		if c.Period != nil {
			r.CpuPeriod = *c.Period
		}
		if c.Burst != nil {
			v := *c.Burst
			r.CpuBurst = &v
		}
		if c.RealtimeRuntime != nil {
			r.CpuRtRuntime = *c.RealtimeRuntime
		}
		if c.RealtimePeriod != nil {
			r.CpuRtPeriod = *c.RealtimePeriod
		}
		if c.Cpus != "" {
			r.CpusetCpus = c.Cpus
		}
		if c.Mems != "" {
			r.CpusetMems = c.Mems
		}
	}
	if p := res.Pids; p != nil {
		var v int64
		if p.Limit != nil {
			v = *p.Limit
		}
		if v <= 0 {
			v = -1 // no limit
		}
		r.PidsLimit = &v
	}
	if b := res.BlockIO; b != nil {
		if b.Weight != nil {
			r.BlkioWeight = *b.Weight
		}
		if len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 || len(b.ThrottleWriteBpsDevice) > 0 ||
			len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0 {
			return taskError(t.id, op, errors.New("per-device block IO limits cannot be updated"), errdefs.ErrInvalidArgument)
		}
	}
	if err := t.container.Set(cfg); err != nil {
		return taskError(t.id, op, fmt.Errorf("%w", err), errdefs.ErrInvalidArgument)
	}
	return nil
}
