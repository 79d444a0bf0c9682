package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/namespaces"
)

// newNamespacesCommand builds "dctr namespaces" and its verbs.
func newNamespacesCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "namespaces",
		Aliases: []string{"namespace", "ns"},
		Short:   "List, create, label and remove namespaces",
		Long: `Namespaces isolate images, containers, leases and labels; blobs and snapshots
on disk are shared. A namespace is made by create, or by storing anything in
it (the first pull into it), and listed either way.`,
	}
	groupCommand(cmd)
	cmd.AddCommand(newNamespacesLsCommand(g), newNamespacesCreateCommand(g), newNamespacesLabelCommand(g), newNamespacesRmCommand(g))
	return cmd
}

func newNamespacesLsCommand(g *globalOptions) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [-q]",
		Aliases: []string{"list"},
		Short:   "List the namespaces and their labels",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				ns := client.NamespaceService()
				names, err := ns.List(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if quiet {
					for _, n := range names {
						fmt.Fprintln(out, n)
					}
					return nil
				}
				t := newTable(out, "NAME", "LABELS")
				for _, n := range names {
					labels, err := ns.Labels(ctx, n)
					if err != nil {
						return err
					}
					t.row(n, formatLabels(labels))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print names only")
	return cmd
}

func newNamespacesCreateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME [KEY=VALUE]...",
		Short: "Create a namespace",
		Long: `Create the namespace NAME with the labels given. A name is 1 to 76 letters and
digits with single '.', '_' or '-' between them, as in containerd.`,
		Args: minArgs(1, "NAME [KEY=VALUE]..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := namespaces.Validate(args[0]); err != nil {
				return usageError{err}
			}
			labels, _, err := parseLabels(args[1:])
			if err != nil {
				return usageError{err}
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return client.NamespaceService().Create(ctx, args[0], labels)
			})
		},
	}
}

func newNamespacesLabelCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "label NAME [KEY=VALUE]...",
		Short: "Set or remove labels of a namespace",
		Long: `Set labels of the namespace NAME; KEY= (an empty value) removes the label KEY.
Prints the namespace's labels afterwards ("-" when none).`,
		Args: minArgs(1, "NAME [KEY=VALUE]..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			labels, paths, err := parseLabels(args[1:])
			if err != nil {
				return usageError{err}
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				ns := client.NamespaceService()
				for _, p := range paths {
					k := p[len("labels."):]
					if err := ns.SetLabel(ctx, args[0], k, labels[k]); err != nil {
						return err
					}
				}
				all, err := ns.Labels(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), formatLabels(all))
				return err
			})
		},
	}
}

func newNamespacesRmCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove empty namespaces",
		Long: `Remove the namespaces NAME... and print each name removed. A namespace that
still holds images, containers, leases, content or snapshots is not removed;
the error says what it holds.`,
		Args: minArgs(1, "NAME..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return each(cmd, args, func(name string) error {
					if err := client.NamespaceService().Delete(ctx, name); err != nil {
						return err
					}
					_, err := fmt.Fprintln(cmd.OutOrStdout(), name)
					return err
				})
			})
		},
	}
}
