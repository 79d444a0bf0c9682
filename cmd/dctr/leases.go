package main

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/leases"
)

// newLeasesCommand builds "dctr leases" and its verbs.
func newLeasesCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "leases",
		Aliases: []string{"lease"},
		Short:   "List, create and remove leases",
		Long: `A lease keeps the blobs, snapshots and ingests it holds from garbage
collection until it is removed or expires. Pulls, imports and unpacks hold
a lease of their own while they run.`,
	}
	groupCommand(cmd)
	cmd.AddCommand(newLeasesLsCommand(g), newLeasesCreateCommand(g), newLeasesRmCommand(g))
	return cmd
}

func newLeasesLsCommand(g *globalOptions) *cobra.Command {
	var (
		quiet bool
		fltrs []string
	)
	cmd := &cobra.Command{
		Use:     "ls [-q] [--filter FILTER]...",
		Aliases: []string{"list"},
		Short:   "List the leases of the namespace",
		Long: `List the leases of the namespace: id, age, expiry ("-" for none), the number
of resources held, and labels.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				lm := client.LeasesService()
				ls, err := lm.List(ctx, fltrs...)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if quiet {
					for _, l := range ls {
						fmt.Fprintln(out, l.ID)
					}
					return nil
				}
				now := time.Now()
				t := newTable(out, "ID", "CREATED", "EXPIRES", "RESOURCES", "LABELS")
				for _, l := range ls {
					rs, err := lm.ListResources(ctx, l)
					if err != nil {
						return err
					}
					expires := "-"
					if at, ok := l.Expiry(); ok {
						if at.After(now) {
							expires = "in " + age(now, now.Add(-at.Sub(now)))
						} else {
							expires = "expired"
						}
					}
					labels := make(map[string]string, len(l.Labels))
					for k, v := range l.Labels {
						if k != leases.LabelExpire {
							labels[k] = v
						}
					}
					t.row(l.ID, ago(now, l.CreatedAt), expires, fmt.Sprint(len(rs)), formatLabels(labels))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print ids only")
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only leases matching `FILTER` (fields id, labels.KEY)")
	return cmd
}

func newLeasesCreateCommand(g *globalOptions) *cobra.Command {
	var (
		id      string
		expires time.Duration
		labels  []string
	)
	cmd := &cobra.Command{
		Use:   "create [--id ID] [--expires DURATION] [--label KEY=VALUE]...",
		Short: "Create a lease and print its id",
		Long: `Create a lease in the namespace and print its id: ID, or a random one. It
expires after DURATION (24h by default; 0 for never).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := []leases.Opt{leases.WithRandomID()}
			if id != "" {
				if err := leases.ValidateID(id); err != nil {
					return usageError{err}
				}
				opts = []leases.Opt{leases.WithID(id)}
			}
			switch {
			case expires > 0:
				opts = append(opts, leases.WithExpiration(expires))
			case expires < 0:
				return usageError{fmt.Errorf("leases create: --expires %v: must not be negative: %w", expires, errdefs.ErrInvalidArgument)}
			}
			ls, _, err := parseLabels(labels)
			if err != nil {
				return usageError{err}
			}
			opts = append(opts, leases.WithLabels(ls))
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				l, err := client.LeasesService().Create(ctx, opts...)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), l.ID)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the lease's `ID` (default: a random one)")
	cmd.Flags().DurationVar(&expires, "expires", leases.DefaultExpiration, "expire after `DURATION`; 0 for never")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "add the label `KEY=VALUE`")
	return cmd
}

func newLeasesRmCommand(g *globalOptions) *cobra.Command {
	var sync bool
	cmd := &cobra.Command{
		Use:     "rm [--sync] ID...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove leases",
		Long: `Remove the leases ID... and print each id removed. What they held is collected
by the next garbage collection (dctr gc) unless something else keeps it;
with --sync, one runs before dctr returns.`,
		Args: minArgs(1, "ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				lm := client.LeasesService()
				err := each(cmd, args, func(id string) error {
					if err := lm.Delete(ctx, leases.Lease{ID: id}); err != nil {
						return err
					}
					_, err := fmt.Fprintln(cmd.OutOrStdout(), id)
					return err
				})
				if sync {
					return syncGC(ctx, cmd, client, err)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&sync, "sync", false, "collect garbage before returning")
	return cmd
}
