package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc [--dry-run]",
		Short: "Remove the blobs, snapshots, leases and ingests nothing needs",
		Long: `Collect garbage in every namespace of the root: remove the blobs and
snapshots no image, container, unexpired lease or containerd.io/gc.root label
keeps (directly or through their references), expired leases, and ingests no
lease holds that nothing wrote to for 24 hours. Safe beside pulls, runs and
other dctr or library processes on the same root.

Prints what was removed, one row each (TYPE is content, snapshots/<name>,
ingests or leases; SIZE the disk space freed, "-" when another namespace
keeps the data), then a summary. With --dry-run nothing is removed and the
rows say what would be.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				var opts []containerd.GCOpt
				if dryRun {
					opts = append(opts, containerd.WithGCDryRun)
				}
				stats, err := client.GC(ctx, opts...)
				if perr := printGC(cmd.OutOrStdout(), stats, dryRun); err == nil {
					err = perr
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print what would be removed")
	return cmd
}

// printGC prints the rows of what a collection removed and its summary.
func printGC(w io.Writer, stats containerd.GCStats, dryRun bool) error {
	if len(stats.Removed) > 0 {
		t := newTable(w, "TYPE", "NAMESPACE", "ID", "SIZE")
		for _, r := range stats.Removed {
			size := "-"
			if r.Size > 0 || r.Type == "ingests" {
				size = humanSize(r.Size)
			}
			t.row(r.Type, dash(r.Namespace), r.ID, size)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, gcSummary(stats, dryRun))
	return err
}

// gcSummary says in one line what a collection did: "removed 3 blobs,
// 1 snapshot, 0 ingests, 0 leases; freed 1.2 MiB in 15ms".
func gcSummary(stats containerd.GCStats, dryRun bool) string {
	verb, freed := "removed", "freed"
	if dryRun {
		verb, freed = "would remove", "would free"
	}
	return fmt.Sprintf("%s %s, %s, %s, %s; %s %s in %v", verb,
		plural(int64(stats.ContentRemoved), "blob"), plural(int64(stats.SnapshotsRemoved), "snapshot"),
		plural(int64(stats.IngestsRemoved), "ingest"), plural(int64(stats.LeasesRemoved), "lease"),
		freed, humanSize(stats.BytesFreed), stats.Duration.Round(100*time.Microsecond))
}

// syncGC runs a collection after the removals of a --sync command, whose
// error is prev, and prints its summary. A collection that fails is
// reported; prev, when not nil, is what the command returns.
func syncGC(ctx context.Context, cmd *cobra.Command, client *containerd.Client, prev error) error {
	stats, err := client.GC(ctx)
	if err != nil {
		err = fmt.Errorf("gc: %w", err)
		if prev != nil {
			report(cmd, err)
			return prev
		}
		return err
	}
	_, perr := fmt.Fprintln(cmd.OutOrStdout(), "gc: "+gcSummary(stats, false))
	return errors.Join(prev, perr)
}
