package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	containerd "github.com/daemonless/containerd"
)

func newTasksCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tasks",
		Aliases: []string{"task", "t"},
		Short:   "List, inspect, exec in, signal, pause, update, follow and remove tasks",
		Long: `Work on the tasks of the namespace's containers, whichever process started
them ("dctr run -d", a program using the library): list them and their
processes, run more processes in them, signal, pause and resume them,
read their metrics and change their limits, follow their log, wait for
them and remove them.`,
	}
	groupCommand(cmd)
	cmd.AddCommand(newTasksLsCommand(g), newTasksPsCommand(g), newTasksExecCommand(g),
		newTasksPauseCommand(g, true), newTasksPauseCommand(g, false),
		newTasksMetricsCommand(g), newTasksUpdateCommand(g), newTasksAttachCommand(g),
		newTasksKillCommand(g), newTasksRmCommand(g), newTasksWaitCommand(g))
	return cmd
}

// loadTask returns the task of container id; NotFound, saying which, when
// there is no such container or it has no task. (Container.Task itself
// waits for a task another process holds exclusively for a moment.)
func loadTask(ctx context.Context, client *containerd.Client, id string) (containerd.Task, error) {
	ctr, err := client.LoadContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s has no task: %w", id, errdefs.ErrNotFound)
	}
	return task, err
}

func newTasksLsCommand(g *globalOptions) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [-q]",
		Aliases: []string{"list"},
		Short:   "List the tasks of the namespace",
		Long: `List the tasks of the namespace's containers: the container's id, the pid
of the task's init process and its status (CREATED, RUNNING, PAUSED,
STOPPED, or UNKNOWN when it cannot be read).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				cs, err := client.Containers(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				var t *table
				if !quiet {
					t = newTable(out, "TASK", "PID", "STATUS")
				}
				for _, c := range cs {
					task, err := c.Task(ctx, nil)
					if errdefs.IsNotFound(err) {
						continue
					}
					if err != nil {
						return err
					}
					if quiet {
						fmt.Fprintln(out, c.ID())
						continue
					}
					status := containerd.Unknown
					if st, err := task.Status(ctx); err == nil {
						status = st.Status
					}
					t.row(c.ID(), strconv.FormatUint(uint64(task.Pid()), 10), strings.ToUpper(string(status)))
				}
				if quiet {
					return nil
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print ids only")
	return cmd
}

func newTasksPsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "ps ID",
		Short: "List the processes of a task",
		Long: `List the processes of the task of container ID: each one's pid (in dctr's
pid namespace), the id of the exec'd process ("dctr tasks exec") it is,
or "-" for the task's init and the processes it started, and its command
line, read from /proc ("-" when it has exited meanwhile).`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				task, err := loadTask(ctx, client, args[0])
				if err != nil {
					return err
				}
				procs, err := task.Pids(ctx)
				if err != nil {
					return err
				}
				slices.SortFunc(procs, func(a, b containerd.ProcessInfo) int { return cmp.Compare(a.Pid, b.Pid) })
				t := newTable(cmd.OutOrStdout(), "PID", "EXEC ID", "COMMAND")
				for _, p := range procs {
					t.row(strconv.FormatUint(uint64(p.Pid), 10), dash(p.ExecID), commandLine(p.Pid))
				}
				return t.flush()
			})
		},
	}
}

// commandLine is the command line of process pid, its arguments joined by
// spaces with control characters shown as '?', or "-" when it cannot be
// read (the process has exited) or is empty (a zombie).
func commandLine(pid uint32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "-"
	}
	s := strings.TrimRight(string(b), "\x00")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return ' '
		case r < ' ' || r == 0x7f:
			return '?'
		}
		return r
	}, s)
	return dash(s)
}

func newTasksPauseCommand(g *globalOptions, pause bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pause ID...",
		Short: "Freeze every process of tasks",
		Long: `Freeze every process of the tasks of the containers ID... (the cgroup
freezer): they stay in memory, get no CPU time and handle no signals
until "dctr tasks resume". tasks ls shows them PAUSED. Prints nothing;
goes on after a failure and reports each.`,
		Args: minArgs(1, "ID..."),
	}
	if !pause {
		cmd.Use, cmd.Short = "resume ID...", "Thaw paused tasks"
		cmd.Long = `Thaw the processes of the tasks of the containers ID..., frozen by "dctr
tasks pause". Prints nothing; goes on after a failure and reports each.`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
			return each(cmd, args, func(id string) error {
				task, err := loadTask(ctx, client, id)
				if err != nil {
					return err
				}
				if pause {
					return task.Pause(ctx)
				}
				return task.Resume(ctx)
			})
		})
	}
	return cmd
}

func newTasksKillCommand(g *globalOptions) *cobra.Command {
	var (
		all    bool
		sigArg string
	)
	cmd := &cobra.Command{
		Use:   "kill [-a] [-s SIGNAL] ID",
		Short: "Signal a task",
		Long: `Send a signal (SIGTERM unless -s) to the init process of the task of
container ID, or with -a to every process of the task. SIGNAL is a name,
with or without SIG and in any case (SIGKILL, KILL, kill), or a number.
Prints nothing: "dctr tasks wait ID" waits for the task's exit.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := parseSignal(sigArg)
			if err != nil {
				return usageError{fmt.Errorf("%s--signal %q: %w", prefix(cmd), sigArg, err)}
			}
			var opts []containerd.KillOpts
			if all {
				opts = append(opts, containerd.WithKillAll)
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				task, err := loadTask(ctx, client, args[0])
				if err != nil {
					return err
				}
				return task.Kill(ctx, sig, opts...)
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process of the task")
	cmd.Flags().StringVarP(&sigArg, "signal", "s", "SIGTERM", "`SIGNAL` to send, by name or number")
	return cmd
}

// parseSignal reads a signal name (SIGKILL, KILL, kill) or number.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal number out of range 1..64")
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errors.New("no such signal; want a name such as SIGKILL or KILL, or a number")
}

// signalName is the name of sig, SIGTERM, or "signal N" for one without.
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}

func newTasksRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] ID...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove tasks",
		Long: `Remove the tasks of the containers ID...: their state, cgroup and mounted
root filesystem. The containers stay. A task still running (or paused)
is an error unless -f, which kills all its processes and waits for its
exit first. Prints nothing.`,
		Args: minArgs(1, "ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []containerd.ProcessDeleteOpts
			if force {
				opts = append(opts, containerd.WithProcessKill)
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return each(cmd, args, func(id string) error {
					task, err := loadTask(ctx, client, id)
					if err != nil {
						return err
					}
					_, err = task.Delete(ctx, opts...)
					if errdefs.IsFailedPrecondition(err) {
						return fmt.Errorf("%w (-f kills it first)", err)
					}
					return err
				})
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a task still running first")
	return cmd
}

func newTasksWaitCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait ID",
		Short: "Wait for a task to exit",
		Long: `Wait for the task of container ID to exit, print its exit status and exit
with it (128+n when signal n ended it).

Only the process that started a task learns how it exited, and "dctr
run -d" has exited by then: for a task another process started, wait
still waits for the exit, then prints nothing on standard output, says
on standard error that the status is unknown, and exits with 255
(containerd's UnknownExitStatus).`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				task, err := loadTask(ctx, client, id)
				if err != nil {
					return err
				}
				exited, err := task.Wait(ctx)
				if err != nil {
					return err
				}
				st := <-exited
				if err := st.Error(); err != nil {
					if errors.Is(err, containerd.ErrNotParent) {
						report(cmd, fmt.Errorf("task %s has exited; its exit status is unknown here: only the process that started it learns it", id))
						return exitStatusError{containerd.UnknownExitStatus}
					}
					return fmt.Errorf("task %s: wait: %w", id, err)
				}
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), st.ExitCode()); err != nil {
					return err
				}
				if code := st.ExitCode(); code != 0 {
					return exitStatusError{int(code)}
				}
				return nil
			})
		},
	}
}
