package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/daemonless/containerd/internal/archive"
)

func newApplyCommand() *cobra.Command {
	var overlayWhiteouts bool
	cmd := &cobra.Command{
		Use:   "apply [--overlay-whiteouts] DIR < LAYER",
		Short: "Apply a layer read from stdin to a directory",
		Long: `Apply an image layer read from stdin — a tar, gzip- or zstd-compressed or
plain, told apart by its first bytes — to DIR, as an unpack does: whiteouts
remove what they name, and nothing is ever written outside DIR (paths,
symlinks and hardlinks that lead out are refused). Prints the layer's
uncompressed digest (its diffID) and size.

With --overlay-whiteouts, DIR is taken for an overlay upperdir: deletions
are written as overlay whiteouts rather than done.`,
		Args: exactArgs(1, "DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if fi, err := os.Stat(dir); err != nil {
				return err
			} else if !fi.IsDir() {
				return fmt.Errorf("apply: %s is not a directory", dir)
			}
			wf := archive.WhiteoutDelete
			if overlayWhiteouts {
				wf = archive.WhiteoutOverlay
			}
			res, err := archive.ApplyLayer(cmd.Context(), dir, cmd.InOrStdin(), archive.WithWhiteouts(wf))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s, %d bytes)\n", res.DiffID, dir, res.Compression, res.Size)
			return err
		},
	}
	cmd.Flags().BoolVar(&overlayWhiteouts, "overlay-whiteouts", false, "write deletions as overlay whiteouts (DIR is an upperdir)")
	return cmd
}
