package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/remotes"
)

// runOptions are the flags of "dctr run".
type runOptions struct {
	ro remoteOptions

	rm, tty, detach, pull bool
	netHost, readOnly     bool
	privileged            bool
	env, mounts           []string
	envFile, logFile      string
	user, cwd, hostname   string
	memoryLimit           string
	cpus                  float64
	pidsLimit             int64
	capAdd, capDrop       []string
	snapshotter           string
}

// forwardedSignals are the signals a foreground "dctr run" passes on to
// its task, besides SIGINT and SIGTERM, which it takes over from main.
var forwardedSignals = []os.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func newRunCommand(g *globalOptions) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE ID [CMD [ARG...]]",
		Short: "Run a container from an image",
		Long: `Make the container ID from the image IMAGE, with a new snapshot of the
image called ID and a spec from the image's configuration and the flags,
and run its task: CMD [ARG...] in place of the image's Cmd when given,
after the image's Entrypoint.

Flags go before IMAGE: everything after ID is the command line, so
"dctr run img id sh -c 'echo hi'" gives -c to sh.

IMAGE is looked up in the namespace (by the name given, then in its
normalised form); a missing image is an error unless --pull, which pulls
and unpacks it with the registry flags of "dctr images pull", the
credentials flag being --registry-user (--user is the container's).

In the foreground (without -d) the task gets dctr's standard streams (or
--log-file), dctr waits for it to exit and exits with its exit status
(128+n when signal n ended it). SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1
and SIGUSR2 sent to dctr are passed on to the task's init process. Once
the task exits it is deleted; the container stays, unless --rm, which
removes it and its snapshot too.

With -t the task gets a terminal of its own (and TERM=xterm unless the
image or --env sets TERM): dctr's standard input is typed on it and its
output goes to dctr's standard output. When standard input is a terminal
it is put in raw mode while the task runs, so that every key reaches the
task's terminal (^C becomes a SIGINT there, for its foreground process
group), and is restored however dctr ends; the task's terminal has the
local one's size from the start and follows its changes (SIGWINCH).
Signals sent to dctr itself are passed on as without -t. -t excludes -d
and --log-file: the task's terminal lives in dctr.

With -d the task is started with no standard streams (or --log-file)
and dctr exits at once, printing nothing; the task runs on. "dctr tasks"
shows, signals, waits for and removes it. With --log-file the container
gets the label ` + logFileLabel + `=FILE (absolute), which "dctr tasks
attach" follows.

Should making the task or starting it fail, the container is removed
again with its snapshot: a failed "dctr run" leaves nothing behind.
The exit status is the task's, or 1 when dctr itself failed and 2 when
the command line is wrong.

--mount takes comma-separated fields: type (default bind), src or source,
dst, destination or target, and options (colon-separated), as in
--mount type=bind,src=/srv/data,dst=/data,options=ro:rbind. A bind mount
needs an absolute src, and gets the option rbind unless it names bind or
rbind. --env-file reads KEY=VALUE lines, skipping blank lines and lines
starting with #; --env flags come after it and win. A bare --env KEY
removes KEY from the image's environment.`,
		Args: minArgs(2, "IMAGE ID [CMD [ARG...]]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rm && o.detach {
				return usageError{fmt.Errorf("%s--rm and -d exclude each other: a detached task is not waited for", prefix(cmd))}
			}
			if o.tty && o.detach {
				return usageError{fmt.Errorf("%s-t and -d exclude each other: the task's terminal is read and written by dctr, which -d leaves at once (use --log-file and dctr tasks attach)", prefix(cmd))}
			}
			if o.tty && o.logFile != "" {
				return usageError{fmt.Errorf("%s-t and --log-file exclude each other: a terminal's output goes to dctr's standard output", prefix(cmd))}
			}
			specOpts, err := o.parse(cmd)
			if err != nil {
				return err
			}
			name, id := args[0], args[1]
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				img, err := o.image(ctx, cmd, client, name, g.namespace)
				if err != nil {
					return err
				}
				imgOpt := oci.WithImageConfig(img)
				if len(args) > 2 {
					imgOpt = oci.WithImageConfigArgs(img, args[2:])
				}
				copts := []containerd.NewContainerOpts{containerd.WithImage(img)}
				if o.logFile != "" {
					// For dctr tasks attach, in a later dctr.
					abs, err := filepath.Abs(o.logFile)
					if err != nil {
						return err
					}
					copts = append(copts, containerd.WithContainerLabels(map[string]string{logFileLabel: abs}))
				}
				if o.snapshotter != "" {
					copts = append(copts, containerd.WithSnapshotter(o.snapshotter))
				}
				copts = append(copts,
					containerd.WithNewSnapshot(id, img),
					containerd.WithNewSpec(append([]oci.SpecOpts{imgOpt}, specOpts...)...))
				ctr, err := client.NewContainer(ctx, id, copts...)
				if err != nil {
					return err
				}
				return o.runTask(ctx, cmd, ctr)
			})
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&o.rm, "rm", false, "remove the container and its snapshot once the task has exited")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the task a terminal, standard input typed on it (raw mode) and its output on standard output")
	f.BoolVarP(&o.detach, "detach", "d", false, "start the task and exit at once, leaving it running")
	f.StringArrayVar(&o.env, "env", nil, "set the environment variable `KEY=VALUE` (a bare KEY removes it)")
	f.StringVar(&o.envFile, "env-file", "", "read environment variables from `FILE`, one KEY=VALUE a line")
	f.StringArrayVar(&o.mounts, "mount", nil, "add the mount `SPEC`, as type=bind,src=S,dst=D,options=ro:rbind")
	f.BoolVar(&o.netHost, "net-host", false, "use the host's network namespace, /etc/resolv.conf and /etc/hosts")
	f.StringVar(&o.user, "user", "", "run as `USER[:GROUP]`, names or ids, looked up in the container's /etc/passwd and /etc/group")
	f.StringVar(&o.cwd, "cwd", "", "working `DIR` of the process, absolute (default: the image's, or /)")
	f.StringVar(&o.hostname, "hostname", "", "host `NAME` of the container")
	f.StringVar(&o.memoryLimit, "memory-limit", "", "memory limit in `BYTES`, a number with an optional unit K, M, G or T (powers of 1024)")
	f.Float64Var(&o.cpus, "cpus", 0, "limit the container to `N` CPUs' worth of time (1.5: one and a half)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "limit the container to `N` processes and threads")
	f.BoolVar(&o.readOnly, "read-only", false, "make the root filesystem read-only")
	f.BoolVar(&o.privileged, "privileged", false, "every capability, no masked paths or seccomp, writable /sys, every device allowed")
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "add the capability `CAP` (NET_ADMIN or CAP_NET_ADMIN; ALL; comma-separated lists too)")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "drop the capability `CAP` (as for --cap-add)")
	f.StringVar(&o.snapshotter, "snapshotter", "", "`NAME` of the snapshotter for the container's snapshot (default: the client's)")
	f.StringVar(&o.logFile, "log-file", "", "append the task's stdout and stderr to `FILE`, its stdin being the null device")
	f.BoolVar(&o.pull, "pull", false, "pull IMAGE when the namespace does not have it")
	o.ro.addFlagsNamed(f, "registry-user", "")
	return cmd
}

// parse checks the flags that need more than pflag's parsing and returns
// the spec options they make, to apply after the image's configuration.
func (o *runOptions) parse(cmd *cobra.Command) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if o.privileged {
		opts = append(opts, oci.WithPrivileged)
	}
	if o.netHost {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostResolvconf, oci.WithHostHostsFile)
	}
	if o.hostname != "" {
		opts = append(opts, oci.WithHostname(o.hostname))
	}
	var env []string
	if o.envFile != "" {
		var err error
		if env, err = readEnvFile(o.envFile); err != nil {
			return nil, err
		}
	}
	if env = append(env, o.env...); len(env) > 0 {
		opts = append(opts, oci.WithEnv(env))
	}
	if len(o.mounts) > 0 {
		var mounts []specs.Mount
		for _, v := range o.mounts {
			m, err := parseMount(v)
			if err != nil {
				return nil, err
			}
			mounts = append(mounts, m)
		}
		opts = append(opts, oci.WithMounts(mounts))
	}
	if o.user != "" {
		opts = append(opts, oci.WithUser(o.user))
	}
	if o.cwd != "" {
		opts = append(opts, oci.WithProcessCwd(o.cwd))
	}
	if o.readOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	flags := cmd.Flags()
	if flags.Changed("memory-limit") {
		n, err := parseBytes(o.memoryLimit)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s--memory-limit %q: %w", prefix(cmd), o.memoryLimit, err)}
		}
		opts = append(opts, oci.WithMemoryLimit(n))
	}
	if flags.Changed("cpus") {
		opts = append(opts, oci.WithCPUs(o.cpus))
	}
	if flags.Changed("pids-limit") {
		opts = append(opts, oci.WithPidsLimit(o.pidsLimit))
	}
	if caps := splitList(o.capAdd); len(caps) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(caps))
	}
	if caps := splitList(o.capDrop); len(caps) > 0 {
		opts = append(opts, oci.WithDroppedCapabilities(caps))
	}
	if o.tty {
		opts = append(opts, oci.WithTTY)
	}
	return opts, nil
}

// image returns the image name of namespace ns, pulled and unpacked first
// with --pull when the namespace lacks it.
func (o *runOptions) image(ctx context.Context, cmd *cobra.Command, client *containerd.Client, name, ns string) (containerd.Image, error) {
	img, err := getImage(ctx, client, name)
	if err == nil || !errdefs.IsNotFound(err) {
		return img, err
	}
	if !o.pull {
		return nil, fmt.Errorf("image %q is not in namespace %q; pull it first (dctr images pull) or add --pull: %w", name, ns, errdefs.ErrNotFound)
	}
	ref, err := remotes.ParseRef(name)
	if err != nil {
		return nil, err
	}
	res, err := o.ro.resolver(ctx, cmd, ref)
	if err != nil {
		return nil, err
	}
	opts := []containerd.RemoteOpt{containerd.WithResolver(res), containerd.WithPullUnpack}
	if o.snapshotter != "" {
		opts = append(opts, containerd.WithPullSnapshotter(o.snapshotter))
	}
	// Standard output is the container's: progress goes to a terminal on
	// standard error, or nowhere.
	if errw := cmd.ErrOrStderr(); isTerminal(errw) {
		pp := newProgressPrinter(errw, "downloading")
		defer pp.finish()
		opts = append(opts, containerd.WithProgress(pp.update))
	}
	img, err = client.Pull(ctx, ref.String(), opts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

// ioCreator returns the streams of the task: the log file, else nothing
// for a detached task, else dctr's own streams.
func (o *runOptions) ioCreator(cmd *cobra.Command) containerd.IOCreator {
	switch {
	case o.logFile != "":
		return containerd.LogFile(o.logFile)
	case o.detach:
		return containerd.NullIO
	}
	opts := []containerd.IOOpt{containerd.WithStreams(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())}
	if o.tty {
		opts = append(opts, containerd.WithTerminal)
	}
	return containerd.NewCreator(opts...)
}

// runTask makes and starts the task of ctr, a container this command has
// just made, and in the foreground waits for its exit. A failure before
// the task runs removes the container again, as does any failure with
// --rm.
func (o *runOptions) runTask(ctx context.Context, cmd *cobra.Command, ctr containerd.Container) error {
	// Cleaning up goes on even when ctx has been cancelled.
	cleanCtx := context.WithoutCancel(ctx)
	var task containerd.Task
	removeAll := func(cause error) error {
		var errs []error
		if task != nil {
			if _, err := task.Delete(cleanCtx, containerd.WithProcessKill); err != nil {
				errs = append(errs, err)
			}
		}
		if err := ctr.Delete(cleanCtx, containerd.WithSnapshotCleanup); err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w (and removing container %s again: %v)", cause, ctr.ID(), errors.Join(errs...))
		}
		return cause
	}

	t, err := ctr.NewTask(ctx, o.ioCreator(cmd))
	if err != nil {
		return removeAll(err)
	}
	task = t
	exited, err := task.Wait(ctx)
	if err != nil {
		return removeAll(err)
	}
	var fg *foreground
	if !o.detach {
		// From here SIGINT and SIGTERM are the task's, not dctr's.
		fg = takeForeground(ctx)
		defer fg.release()
	}
	if err := ctx.Err(); err != nil {
		return removeAll(err)
	}
	if o.tty {
		// The task's terminal gets the local one's size before its
		// program starts, and the local terminal goes raw.
		if err := fg.useTerminal(newLocalTerminal(cmd.InOrStdin(), cmd.OutOrStdout(), true)); err != nil {
			return removeAll(err)
		}
		if err := fg.resize(ctx, task); err != nil {
			return removeAll(err)
		}
	}
	if err := task.Start(ctx); err != nil {
		return removeAll(err)
	}
	if o.detach {
		return nil
	}

	st := fg.wait(ctx, cmd, task, exited, "task "+ctr.ID())
	if err := st.Error(); err != nil {
		// The wait was given up: the task is ended, not left unwatched.
		err = fmt.Errorf("task %s: wait: %w", ctr.ID(), err)
		if o.rm {
			return removeAll(err)
		}
		if _, derr := task.Delete(cleanCtx, containerd.WithProcessKill); derr != nil {
			return fmt.Errorf("%w (and deleting the task: %v)", err, derr)
		}
		return err
	}
	if _, err := task.Delete(cleanCtx); err != nil {
		if o.rm {
			return removeAll(err)
		}
		return err
	}
	task = nil
	if o.rm {
		if err := ctr.Delete(cleanCtx, containerd.WithSnapshotCleanup); err != nil {
			return err
		}
	}
	if code := st.ExitCode(); code != 0 {
		return exitStatusError{int(code)}
	}
	return nil
}

// readEnvFile reads the KEY=VALUE lines of an --env-file; blank lines and
// lines starting with # are skipped. The value is everything after the
// first =, spaces included.
func readEnvFile(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("run: --env-file: %w", err)
	}
	var env []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimLeft(strings.TrimSuffix(line, "\r"), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, usageError{fmt.Errorf("run: --env-file %s:%d: %q is not KEY=VALUE", file, i+1, line)}
		}
		env = append(env, line)
	}
	return env, nil
}

// parseMount reads an --mount value, as "dctr run --help" describes.
func parseMount(v string) (specs.Mount, error) {
	bad := func(format string, args ...any) error {
		return usageError{fmt.Errorf("run: --mount %q: %s", v, fmt.Sprintf(format, args...))}
	}
	var (
		m    specs.Mount
		seen = map[string]bool{}
	)
	for _, field := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return m, bad("field %q is not KEY=VALUE", field)
		}
		var name string
		switch k {
		case "type":
			name, m.Type = "type", val
		case "src", "source":
			name, m.Source = "src", val
		case "dst", "destination", "target":
			name, m.Destination = "dst", val
		case "options":
			name = "options"
			for _, opt := range strings.Split(val, ":") {
				if opt == "" {
					return m, bad("options %q: empty option", val)
				}
				m.Options = append(m.Options, opt)
			}
		default:
			return m, bad("unknown field %q (want type, src, dst or options)", k)
		}
		if seen[name] {
			return m, bad("field %s given twice", name)
		}
		seen[name] = true
		if val == "" {
			return m, bad("field %s is empty", k)
		}
	}
	if m.Type == "" {
		m.Type = "bind"
	}
	if m.Destination == "" {
		return m, bad("no dst")
	}
	if !path.IsAbs(m.Destination) {
		return m, bad("dst %q is not an absolute path", m.Destination)
	}
	if m.Type != "bind" {
		if m.Source == "" {
			m.Source = m.Type
		}
		return m, nil
	}
	if m.Source == "" {
		return m, bad("no src")
	}
	if !filepath.IsAbs(m.Source) {
		return m, bad("src %q is not an absolute path", m.Source)
	}
	if _, err := os.Stat(m.Source); err != nil {
		return m, fmt.Errorf("run: --mount %q: src: %w", v, err)
	}
	if !slices.Contains(m.Options, "bind") && !slices.Contains(m.Options, "rbind") {
		m.Options = append(m.Options, "rbind")
	}
	return m, nil
}

// parseBytes reads a size in bytes: a number with an optional unit K, M,
// G or T (powers of 1024), which may be followed by B or iB, in any case.
func parseBytes(s string) (uint64, error) {
	num, shift := strings.ToUpper(s), 0
units:
	for i, unit := range []string{"K", "M", "G", "T"} {
		for _, suffix := range []string{unit + "IB", unit + "B", unit} {
			if rest, ok := strings.CutSuffix(num, suffix); ok {
				num, shift = rest, 10*(i+1)
				break units
			}
		}
	}
	if shift == 0 {
		num = strings.TrimSuffix(num, "B")
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > math.MaxInt64>>shift {
		return 0, errors.New("want a number of bytes with an optional unit K, M, G or T")
	}
	return n << shift, nil
}

// splitList splits comma-separated lists given in repeated flags.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
