package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/namespaces"
)

// Environment variables that give the global flags their defaults.
const (
	envRoot      = "DCTR_ROOT"
	envNamespace = "DCTR_NAMESPACE"
	envState     = "DCTR_STATE"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // an operation failed
	exitUsage   = 2 // the command line is wrong
)

func main() {
	// The first SIGINT or SIGTERM cancels the command, which then stops
	// cleanly (an ingest stays resumable); a second one kills dctr. A
	// command may take the signals over instead (dctr run passes them on
	// to its container).
	ctx, stop := watchInterrupts(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interrupts routes the SIGINT and SIGTERM dctr receives: to the handler
// a command installed with takeInterrupts, or else, the first of them, to
// the cancellation of the command's context, after which the signals'
// default action is back (a second one kills dctr).
type interrupts struct {
	cancel context.CancelFunc
	ch     chan os.Signal

	mu      sync.Mutex
	handler func(os.Signal)
}

type interruptsKey struct{}

// watchInterrupts returns a context that the first SIGINT or SIGTERM
// cancels, unless a command takes them over, and a function that stops
// watching.
func watchInterrupts(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{cancel: cancel, ch: make(chan os.Signal, 1)}
	signal.Notify(in.ch, os.Interrupt, syscall.SIGTERM)
	go in.loop()
	return context.WithValue(ctx, interruptsKey{}, in), func() {
		signal.Stop(in.ch)
		cancel()
	}
}

func (in *interrupts) loop() {
	for sig := range in.ch {
		in.mu.Lock()
		h := in.handler
		if h == nil {
			// Cancelled under the lock: a takeInterrupts either came
			// first and gets this signal, or comes after and finds ctx
			// cancelled.
			in.cancel()
			in.mu.Unlock()
			signal.Stop(in.ch)
			return
		}
		in.mu.Unlock()
		h(sig)
	}
}

// takeInterrupts makes the SIGINT and SIGTERM that dctr receives go to
// handler, called one at a time on the goroutine watching them (it must
// not block), until release is called; they no longer cancel ctx. It
// reports false, and does nothing, when ctx comes from no watchInterrupts
// (run called in a test): the caller then owns the process's signals.
// Once a signal has cancelled ctx, later ones are not watched any more
// and handler gets none: a caller checks ctx.Err() after taking them.
func takeInterrupts(ctx context.Context, handler func(os.Signal)) (release func(), ok bool) {
	in, ok := ctx.Value(interruptsKey{}).(*interrupts)
	if !ok {
		return func() {}, false
	}
	in.mu.Lock()
	in.handler = handler
	in.mu.Unlock()
	return func() {
		in.mu.Lock()
		in.handler = nil
		in.mu.Unlock()
	}, true
}

// run executes the command line args and returns the exit status. Every
// failure not yet reported is printed to stderr as one line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var status exitStatusError
	if errors.As(err, &status) {
		return status.code
	}
	var reported reportedError
	if !errors.As(err, &reported) {
		fmt.Fprintf(stderr, "dctr: %s\n", oneLine(err.Error()))
	}
	var usage usageError
	if errors.As(err, &usage) {
		return exitUsage
	}
	return exitFailure
}

// globalOptions holds the values of the root command's persistent flags.
type globalOptions struct {
	root      string
	namespace string
	stateDir  string
}

// newRootCommand builds the whole command tree. Each call returns a fresh
// tree, with the defaults of its global flags read from the environment.
func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	cmd := &cobra.Command{
		Use:   "dctr",
		Short: "Work on a daemonless containerd root",
		Long: `dctr works on a daemonless containerd root directly, in its own process.

The global flags default to the environment variables DCTR_ROOT,
DCTR_NAMESPACE and DCTR_STATE; a flag on the command line wins.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	groupCommand(cmd)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s%w", prefix(c), err)}
	})
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.root, "root", envOr(envRoot, containerd.DefaultRoot()), "root directory ($"+envRoot+")")
	pf.StringVarP(&g.namespace, "namespace", "n", envOr(envNamespace, namespaces.Default), "namespace ($"+envNamespace+")")
	pf.StringVar(&g.stateDir, "state", os.Getenv(envState), "runtime state directory ($"+envState+"; default: the client's, "+containerd.DefaultStateDir()+")")

	cmd.AddCommand(newContentCommand(g), newImagesCommand(g), newRegistryCommand(g), newSnapshotsCommand(g), newContainersCommand(g), newRunCommand(g), newTasksCommand(g), newApplyCommand())
	cmd.AddCommand(newNamespacesCommand(g), newLeasesCommand(g), newGCCommand(g))
	cmd.AddCommand(newEventsCommand(g))
	return cmd
}

// envOr returns the environment variable key when it is set and not
// empty, def otherwise.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// groupCommand makes cmd a command that only holds others: without
// arguments it prints its help, and an argument that names no subcommand
// is a usage error (cobra's default would report it as a plain failure).
func groupCommand(cmd *cobra.Command) {
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return usageError{errors.New(msg)}
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return c.Help()
	}
}

// withClient opens the client the global flags describe, calls fn with it
// and closes it. The command's context carries the namespace.
func (g *globalOptions) withClient(cmd *cobra.Command, fn func(ctx context.Context, client *containerd.Client) error) (err error) {
	if err := namespaces.Validate(g.namespace); err != nil {
		return err
	}
	opts := []containerd.ClientOpt{containerd.WithNamespace(g.namespace)}
	if g.stateDir != "" {
		opts = append(opts, containerd.WithStateDir(g.stateDir))
	}
	client, err := containerd.New(g.root, opts...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := client.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	ctx := namespaces.WithNamespace(cmd.Context(), g.namespace)
	return fn(ctx, client)
}

// usageError marks an error in the command line itself: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// reportedError is returned by commands that have already printed their
// failures, one line each: run prints nothing more and exits with 1.
type reportedError struct{ failed int }

func (e reportedError) Error() string { return fmt.Sprintf("%d failed", e.failed) }

// exitStatusError makes run exit with code and print nothing: dctr run
// passing on its container's exit status.
type exitStatusError struct{ code int }

func (e exitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// report prints err as one line on cmd's error stream, as run does.
func report(cmd *cobra.Command, err error) {
	fmt.Fprintf(cmd.ErrOrStderr(), "dctr: %s\n", oneLine(err.Error()))
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// Argument-count checks that fail with usage errors naming what is
// expected. names describes the positional arguments for the message.

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return argCountError(c, fmt.Sprintf("exactly %d", n), names, len(args))
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return argCountError(c, fmt.Sprintf("at least %d", n), names, len(args))
		}
		return nil
	}
}

func rangeArgs(lo, hi int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return argCountError(c, fmt.Sprintf("%d to %d", lo, hi), names, len(args))
		}
		return nil
	}
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%stakes no arguments, got %q; see '%s --help'", prefix(c), args, c.CommandPath())}
	}
	return nil
}

func argCountError(c *cobra.Command, want, names string, got int) error {
	plural := "s"
	if want == "exactly 1" || want == "at least 1" {
		plural = ""
	}
	return usageError{fmt.Errorf("%swants %s argument%s (%s), got %d; see '%s --help'", prefix(c), want, plural, names, got, c.CommandPath())}
}

// prefix names a subcommand at the start of an error message: "content
// ls: " for "dctr content ls", nothing for dctr itself, whose name starts
// every message anyway.
func prefix(c *cobra.Command) string {
	if _, sub, ok := strings.Cut(c.CommandPath(), " "); ok {
		return sub + ": "
	}
	return ""
}
