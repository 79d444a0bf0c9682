package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
)

func newContainersCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "containers",
		Aliases: []string{"container", "c"},
		Short:   "List, show and remove containers",
	}
	groupCommand(cmd)
	cmd.AddCommand(newContainersLsCommand(g), newContainersInfoCommand(g), newContainersRmCommand(g))
	return cmd
}

func newContainersLsCommand(g *globalOptions) *cobra.Command {
	var (
		quiet bool
		fltrs []string
	)
	cmd := &cobra.Command{
		Use:   "ls [-q] [--filter FILTER]...",
		Short: "List the containers of the namespace",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				cs, err := client.Containers(ctx, fltrs...)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if quiet {
					for _, c := range cs {
						fmt.Fprintln(out, c.ID())
					}
					return nil
				}
				t := newTable(out, "CONTAINER", "IMAGE", "SNAPSHOTTER", "SNAPSHOT")
				for _, c := range cs {
					info, err := c.Info(ctx)
					if err != nil {
						return err
					}
					t.row(info.ID, dash(info.Image), dash(info.Snapshotter), dash(info.SnapshotKey))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print ids only")
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only containers matching `FILTER` (fields id, image, snapshotter, snapshotkey, labels.KEY)")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newContainersInfoCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "info ID",
		Short: "Show a container's record, spec included, as JSON",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				c, err := client.LoadContainer(ctx, args[0])
				if err != nil {
					return err
				}
				info, err := c.Info(ctx)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			})
		},
	}
}

func newContainersRmCommand(g *globalOptions) *cobra.Command {
	var keepSnapshot bool
	cmd := &cobra.Command{
		Use:     "rm [--keep-snapshot] ID...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove containers and their snapshots",
		Long:    `Remove the containers ID... and, unless --keep-snapshot, their root filesystem snapshots; print each id removed.`,
		Args:    minArgs(1, "ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return each(cmd, args, func(id string) error {
					c, err := client.LoadContainer(ctx, id)
					if err != nil {
						return err
					}
					var opts []containerd.DeleteOpts
					if !keepSnapshot {
						opts = append(opts, containerd.WithSnapshotCleanup)
					}
					if err := c.Delete(ctx, opts...); err != nil {
						if errdefs.IsFailedPrecondition(err) {
							return fmt.Errorf("%w (dctr tasks rm -f %s removes the task, killing it if it runs)", err, id)
						}
						return err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
					return err
				})
			})
		},
	}
	cmd.Flags().BoolVar(&keepSnapshot, "keep-snapshot", false, "keep the container's snapshot")
	return cmd
}
