package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/snapshot"
)

// snapshotOptions holds the snapshots command's --snapshotter.
type snapshotOptions struct {
	g    *globalOptions
	name string
}

// with opens the client and calls fn with the chosen snapshotter.
func (o *snapshotOptions) with(cmd *cobra.Command, fn func(ctx context.Context, sn snapshot.Snapshotter) error) error {
	return o.g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
		return fn(ctx, client.SnapshotService(o.name))
	})
}

func newSnapshotsCommand(g *globalOptions) *cobra.Command {
	o := &snapshotOptions{g: g}
	cmd := &cobra.Command{
		Use:     "snapshots",
		Aliases: []string{"snapshot", "s"},
		Short:   "Work on the snapshots of a snapshotter",
		Long: `Work on the snapshots of a snapshotter of the namespace. Image layers are
committed snapshots named by their ChainID; a container's root filesystem
is an active snapshot on top of them.`,
	}
	groupCommand(cmd)
	cmd.PersistentFlags().StringVar(&o.name, "snapshotter", "", "`NAME` of the snapshotter: overlay or native (default: overlay where the root supports it)")
	cmd.AddCommand(newSnapshotsLsCommand(o), newSnapshotsInfoCommand(o), newSnapshotsPrepareCommand(o, false),
		newSnapshotsPrepareCommand(o, true), newSnapshotsCommitCommand(o), newSnapshotsRmCommand(o),
		newSnapshotsMountsCommand(o), newSnapshotsUsageCommand(o), newSnapshotsTreeCommand(o),
		newSnapshotsLabelCommand(o))
	return cmd
}

// walk lists the snapshots matching fltrs.
func walk(ctx context.Context, sn snapshot.Snapshotter, fltrs ...string) ([]snapshot.Info, error) {
	var infos []snapshot.Info
	err := sn.Walk(ctx, func(_ context.Context, info snapshot.Info) error {
		infos = append(infos, info)
		return nil
	}, fltrs...)
	return infos, err
}

func newSnapshotsLsCommand(o *snapshotOptions) *cobra.Command {
	var (
		quiet bool
		fltrs []string
	)
	cmd := &cobra.Command{
		Use:   "ls [-q] [--filter FILTER]...",
		Short: "List snapshots",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				infos, err := walk(ctx, sn, fltrs...)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if quiet {
					for _, info := range infos {
						fmt.Fprintln(out, info.Name)
					}
					return nil
				}
				t := newTable(out, "KEY", "PARENT", "KIND")
				for _, info := range infos {
					parent := info.Parent
					if parent == "" {
						parent = "-"
					}
					t.row(info.Name, parent, info.Kind.String())
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print keys only")
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only snapshots matching `FILTER` (fields kind, name, parent, labels.KEY)")
	return cmd
}

func newSnapshotsInfoCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "info KEY",
		Short: "Show a snapshot as JSON",
		Args:  exactArgs(1, "KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				info, err := sn.Stat(ctx, args[0])
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Kind    string            `json:"kind"`
					Name    string            `json:"name"`
					Parent  string            `json:"parent,omitempty"`
					Labels  map[string]string `json:"labels,omitempty"`
					Created string            `json:"created"`
					Updated string            `json:"updated"`
				}{info.Kind.String(), info.Name, info.Parent, info.Labels,
					info.Created.Format("2006-01-02T15:04:05.999999999Z07:00"), info.Updated.Format("2006-01-02T15:04:05.999999999Z07:00")})
			})
		},
	}
}

// newSnapshotsPrepareCommand makes "prepare KEY [PARENT]" or, for a view,
// "view KEY PARENT"; with --target it prints the mount command.
func newSnapshotsPrepareCommand(o *snapshotOptions, view bool) *cobra.Command {
	var target string
	var labels []string
	use, short, args := "prepare [--target DIR] KEY [PARENT]", "Make an active snapshot on a committed parent", rangeArgs(1, 2, "KEY [PARENT]")
	if view {
		use, short, args = "view [--target DIR] KEY [PARENT]", "Make a read-only snapshot of a committed parent", rangeArgs(1, 2, "KEY [PARENT]")
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `. With --target, print the command that mounts it there.
Labels are given as KEY=VALUE with --label.`,
		Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			parent := ""
			if len(args) == 2 {
				parent = args[1]
			}
			lbls, _, err := parseLabels(labels)
			if err != nil {
				return err
			}
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				prepare := sn.Prepare
				if view {
					prepare = sn.View
				}
				mounts, err := prepare(ctx, args[0], parent, snapshot.WithLabels(lbls))
				if err != nil {
					return err
				}
				if target != "" {
					_, err = fmt.Fprintln(cmd.OutOrStdout(), snapshot.MountCommand(mounts, target))
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "print the command that mounts the snapshot at `DIR`")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "set label `KEY=VALUE`")
	return cmd
}

func newSnapshotsCommitCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "commit NAME KEY",
		Short: "Commit the active snapshot KEY as NAME",
		Args:  exactArgs(2, "NAME KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				return sn.Commit(ctx, args[0], args[1])
			})
		},
	}
}

func newSnapshotsRmCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm KEY...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove snapshots",
		Long:    `Remove the snapshots KEY... and print each key removed. A committed snapshot with children is refused.`,
		Args:    minArgs(1, "KEY..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				return each(cmd, args, func(key string) error {
					if err := sn.Remove(ctx, key); err != nil {
						return err
					}
					_, err := fmt.Fprintln(cmd.OutOrStdout(), key)
					return err
				})
			})
		},
	}
}

func newSnapshotsMountsCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "mounts TARGET KEY",
		Short: "Print the command that mounts a snapshot at TARGET",
		Args:  exactArgs(2, "TARGET KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				mounts, err := sn.Mounts(ctx, args[1])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), snapshot.MountCommand(mounts, args[0]))
				return err
			})
		},
	}
}

func newSnapshotsUsageCommand(o *snapshotOptions) *cobra.Command {
	var exact bool
	cmd := &cobra.Command{
		Use:   "usage [-b] [KEY...]",
		Short: "Show the disk snapshots use by themselves",
		Long:  `Show the disk each snapshot uses by itself, its parents not counted; all of them without KEY, with a total.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				if len(args) == 0 {
					infos, err := walk(ctx, sn)
					if err != nil {
						return err
					}
					for _, info := range infos {
						args = append(args, info.Name)
					}
				}
				size := humanSize
				if exact {
					size = func(n int64) string { return fmt.Sprint(n) }
				}
				t := newTable(cmd.OutOrStdout(), "KEY", "SIZE", "INODES")
				var total snapshot.Usage
				err := each(cmd, args, func(key string) error {
					u, err := sn.Usage(ctx, key)
					if err != nil {
						return err
					}
					total.Add(u)
					t.row(key, size(u.Size), fmt.Sprint(u.Inodes))
					return nil
				})
				if len(args) > 1 {
					t.row("total", size(total.Size), fmt.Sprint(total.Inodes))
				}
				if ferr := t.flush(); err == nil {
					err = ferr
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&exact, "bytes", "b", false, "print sizes in bytes")
	return cmd
}

func newSnapshotsTreeCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tree",
		Short: "Show snapshots as a tree of parents and children",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				infos, err := walk(ctx, sn)
				if err != nil {
					return err
				}
				children := map[string][]string{}
				known := map[string]bool{}
				for _, info := range infos {
					known[info.Name] = true
				}
				for _, info := range infos {
					p := info.Parent
					if !known[p] {
						p = "" // a root here
					}
					children[p] = append(children[p], info.Name)
				}
				out := cmd.OutOrStdout()
				var print func(key, indent string)
				print = func(key, indent string) {
					kids := children[key]
					sort.Strings(kids)
					for _, k := range kids {
						fmt.Fprintf(out, "%s%s\n", indent, k)
						print(k, indent+"  ")
					}
				}
				print("", "")
				return nil
			})
		},
	}
}

func newSnapshotsLabelCommand(o *snapshotOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "label KEY LABEL=VALUE...",
		Short: "Set or remove labels of a snapshot",
		Long:  `Set labels of a snapshot; LABEL= (an empty value) removes one. Prints the snapshot's labels afterwards ("-" when none).`,
		Args:  minArgs(2, "KEY LABEL=VALUE..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			labels, paths, err := parseLabels(args[1:])
			if err != nil {
				return err
			}
			return o.with(cmd, func(ctx context.Context, sn snapshot.Snapshotter) error {
				info, err := sn.Update(ctx, snapshot.Info{Name: args[0], Labels: labels}, paths...)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), formatLabels(info.Labels))
				return err
			})
		},
	}
}
