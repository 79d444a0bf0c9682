package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
)

// execOptions are the flags of "dctr tasks exec".
type execOptions struct {
	execID           string
	tty, interactive bool
	user, cwd        string
	env              []string
}

func newTasksExecCommand(g *globalOptions) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [flags] ID CMD [ARG...]",
		Short: "Run a command in a running task",
		Long: `Run CMD [ARG...] in the running task of container ID, as a process of its
own joining the task's namespaces and cgroup, and wait for it to exit.
It runs with the environment, user and working directory of the task's
init unless --env, --user and --cwd say otherwise. Flags go before ID:
everything after it is the command line.

The process's standard output and error are dctr's; its standard input
is the null device unless -i, which gives it dctr's. With -t it gets a
terminal of its own (and TERM=xterm unless set), its output going to
dctr's standard output. With -t and -i, standard input is typed on that
terminal and, when it is a terminal itself, put in raw mode while the
process runs (restored however dctr ends), so that every key, ^C
included, reaches the process's terminal; with -t alone an end-of-file
(^D) is typed on it at once. The terminal has the local one's size and
follows its changes (SIGWINCH).

SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to dctr are
passed on to the process. dctr exits with its exit status (128+n when
signal n ended it), once it has removed the process; the task runs on.
--exec-id names the process (letters and digits, with '.', '_' or '-'
between them; default: random hex), as "dctr tasks ps" shows it.`,
		Args: minArgs(2, "ID CMD [ARG...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, argv := args[0], args[1:]
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return o.exec(ctx, cmd, client, id, argv)
			})
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.execID, "exec-id", "", "`ID` of the exec'd process (default: random hex)")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the process a terminal, its output on standard output")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "give the process dctr's standard input (typed on its terminal with -t, in raw mode)")
	f.StringVar(&o.user, "user", "", "run as `USER[:GROUP]`, names or ids, looked up in the container's /etc/passwd and /etc/group (default: the init's)")
	f.StringVar(&o.cwd, "cwd", "", "working `DIR` of the process, absolute (default: the init's)")
	f.StringArrayVar(&o.env, "env", nil, "set the environment variable `KEY=VALUE` (a bare KEY removes it)")
	return cmd
}

// process returns the spec of the exec'd process: the init's, from the
// task's spec s, with argv and what the flags change.
func (o *execOptions) process(ctx context.Context, s *oci.Spec, argv []string) (*specs.Process, error) {
	if s.Process == nil {
		return nil, fmt.Errorf("the task's spec has no process to start from")
	}
	// The options work on a copy: the spec may be the client's own.
	proc := *s.Process
	proc.Env = slices.Clone(proc.Env)
	proc.User.AdditionalGids = slices.Clone(proc.User.AdditionalGids)
	proc.Terminal = false
	proc.ConsoleSize = nil
	scratch := &oci.Spec{Process: &proc, Root: s.Root}
	opts := []oci.SpecOpts{oci.WithProcessArgs(argv...)}
	if len(o.env) > 0 {
		opts = append(opts, oci.WithEnv(o.env))
	}
	if o.user != "" {
		// Names are looked up in the task's mounted root filesystem.
		opts = append(opts, oci.WithUser(o.user))
	}
	if o.cwd != "" {
		opts = append(opts, oci.WithProcessCwd(o.cwd))
	}
	if o.tty {
		opts = append(opts, oci.WithTTY)
	}
	for _, opt := range opts {
		if err := opt(ctx, nil, nil, scratch); err != nil {
			return nil, err
		}
	}
	return scratch.Process, nil
}

// exec runs argv in the task of container id and waits for it.
func (o *execOptions) exec(ctx context.Context, cmd *cobra.Command, client *containerd.Client, id string, argv []string) error {
	task, err := loadTask(ctx, client, id)
	if err != nil {
		return err
	}
	// A process joining a frozen cgroup would freeze before it ran, and
	// dctr with it.
	if st, err := task.Status(ctx); err == nil && st.Status == containerd.Paused {
		return fmt.Errorf("task %s is paused; dctr tasks resume %s first: %w", id, id, errdefs.ErrFailedPrecondition)
	}
	s, err := task.Spec(ctx)
	if err != nil {
		return err
	}
	proc, err := o.process(ctx, s, argv)
	if err != nil {
		return fmt.Errorf("task %s: exec: %w", id, err)
	}
	execID := o.execID
	if execID == "" {
		execID = randomID()
	}
	p, err := task.Exec(ctx, execID, proc, containerd.NewCreator(o.streams(cmd)...))
	if err != nil {
		return err
	}
	what := fmt.Sprintf("task %s exec %s", id, execID)
	// Removing the process goes on even when ctx has been cancelled.
	cleanCtx := context.WithoutCancel(ctx)
	remove := func(cause error, opts ...containerd.ProcessDeleteOpts) error {
		if _, err := p.Delete(cleanCtx, opts...); err != nil {
			return fmt.Errorf("%w (and removing %s: %v)", cause, what, err)
		}
		return cause
	}
	exited, err := p.Wait(ctx)
	if err != nil {
		return remove(err)
	}
	fg := takeForeground(ctx)
	defer fg.release()
	if err := ctx.Err(); err != nil {
		return remove(err)
	}
	if o.tty {
		if err := fg.useTerminal(newLocalTerminal(cmd.InOrStdin(), cmd.OutOrStdout(), o.interactive)); err != nil {
			return remove(err)
		}
	}
	if err := p.Start(ctx); err != nil {
		return remove(err)
	}
	if o.tty {
		// An exec'd process's terminal exists once it has started; a
		// program reading the size at once may see none, then gets a
		// SIGWINCH.
		if err := fg.resize(ctx, p); err != nil && running(ctx, p) {
			return remove(fmt.Errorf("%s: resize its terminal: %w", what, err), containerd.WithProcessKill)
		}
		if !o.interactive {
			// No input: its terminal's end-of-file (^D) is typed at
			// once, as near as a terminal gets to the null device.
			if err := p.CloseIO(ctx, containerd.WithStdinCloser); err != nil && running(ctx, p) {
				return remove(fmt.Errorf("%s: close its input: %w", what, err), containerd.WithProcessKill)
			}
		}
	}
	st := fg.wait(ctx, cmd, p, exited, what)
	if err := st.Error(); err != nil {
		// The wait was given up: the process is ended, not left behind.
		return remove(fmt.Errorf("%s: wait: %w", what, err), containerd.WithProcessKill)
	}
	if _, err := p.Delete(cleanCtx); err != nil {
		return err
	}
	if code := st.ExitCode(); code != 0 {
		return exitStatusError{int(code)}
	}
	return nil
}

// streams returns the IO options of the exec'd process.
func (o *execOptions) streams(cmd *cobra.Command) []containerd.IOOpt {
	var in = cmd.InOrStdin()
	if !o.interactive {
		in = nil
	}
	opts := []containerd.IOOpt{containerd.WithStreams(in, cmd.OutOrStdout(), cmd.ErrOrStderr())}
	if o.tty {
		opts = append(opts, containerd.WithTerminal)
	}
	return opts
}

// randomID returns 12 random hex digits, the default exec id.
func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
