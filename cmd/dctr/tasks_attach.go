package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
)

// logFileLabel is the container label "dctr run --log-file" sets to the
// log file's absolute path, for "dctr tasks attach".
const logFileLabel = "dctr.log-file"

// followInterval is how often attach looks for more of the log.
const followInterval = 100 * time.Millisecond

func newTasksAttachCommand(g *globalOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "attach [--all] ID",
		Short: "Follow the log of a task until it exits",
		Long: `Print what the task of container ID writes to its log file, as it is
written, until the task exits; then print the rest and exit with 0. The
task's exit status is not known here (see "dctr tasks wait").

The log file is the one "dctr run --log-file" gave the task, whichever
dctr started it, recorded as the container's label ` + logFileLabel + `. A task
without one writes its output to the process that started it, or
nowhere: there is nothing to attach to, which is an error. Only the
output is followed: the task's standard input is not dctr's.

Without --all, only what is written from now on is printed; with it, the
whole file first (a file shared by several tasks holds their output
too). The first SIGINT or SIGTERM stops following, quietly; the task
runs on.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				ctr, err := client.LoadContainer(ctx, id)
				if err != nil {
					return err
				}
				labels, err := ctr.Labels(ctx)
				if err != nil {
					return err
				}
				path := labels[logFileLabel]
				if path == "" {
					return fmt.Errorf("container %s has no log file to attach to (no label %s): its task's output goes to the process that started it, or nowhere; \"dctr run --log-file\" gives one: %w", id, logFileLabel, errdefs.ErrFailedPrecondition)
				}
				task, err := loadTask(ctx, client, id)
				if err != nil {
					return err
				}
				exited, err := task.Wait(ctx)
				if err != nil {
					return err
				}
				f, err := os.Open(path)
				if err != nil {
					return fmt.Errorf("task %s: log file: %w", id, err)
				}
				defer f.Close()
				if !all {
					if _, err := f.Seek(0, io.SeekEnd); err != nil {
						return fmt.Errorf("task %s: log file: %w", id, err)
					}
				}
				return follow(ctx, cmd.OutOrStdout(), f, exited)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "print the whole log file first, not only what is written from now on")
	return cmd
}

// follow copies what is appended to f to out until exited delivers (then
// it copies the rest) or ctx ends.
func follow(ctx context.Context, out io.Writer, f *os.File, exited <-chan containerd.ExitStatus) error {
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		if _, err := io.Copy(out, f); err != nil {
			return err
		}
		select {
		case <-exited:
			// The task's processes have all exited: whatever they
			// wrote is in the file.
			_, err := io.Copy(out, f)
			return err
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}
