// Command dctr is the command-line tool of the daemonless containerd
// library: it opens a root directly, in its own process, and works on it
// through the library's public API only. No daemon is involved; several
// dctr processes and library users may share one root at the same time.
//
// # Usage
//
//	dctr [--root DIR] [--namespace NS] [--state DIR] COMMAND ...
//
// Global flags default to the environment variables DCTR_ROOT,
// DCTR_NAMESPACE and DCTR_STATE, and after them to the library's defaults
// (containerd.DefaultRoot, the namespace "default", the client's state
// directory). A flag given on the command line wins over its variable.
//
// # Content
//
// The content commands work on the content store of the root, in the
// chosen namespace:
//
//	dctr content ingest [--expected-digest D] [--expected-size N] REF < blob
//	dctr content active [--filter F]...
//	dctr content abort REF...
//	dctr content ls [-q] [--filter F]...
//	dctr content path [-q] DIGEST...
//	dctr content get DIGEST > blob
//	dctr content rm DIGEST...
//	dctr content label DIGEST KEY=VALUE...
//	dctr content fetch LOCATOR OBJECT [mediatype:TYPE...] > object
//	dctr content fetch-blob LOCATOR DIGEST > blob
//	dctr content push-object REMOTE DIGEST
//	dctr registry tags REF
//
// The commands that talk to registries take --plain-http, --skip-verify,
// -u USER[:PASSWORD] (the password from $DCTR_PASSWORD when omitted) and
// --hosts-dir DIR (containerd's certs.d layout of hosts.toml files,
// default /etc/containerd/certs.d when it exists, or $DCTR_HOSTS_DIR).
// Without -u, credentials come from docker's config.json (and its
// credential helpers) and podman's auth.json; credentials given with -u
// go to the reference's own registry only.
//
// ingest reads a blob from standard input under the ingest ref REF and
// prints its digest. An ingest of REF cut short earlier is resumed: the
// part already stored is checked against the start of the input and, when
// it matches, not written again.
//
// Filters use the syntax of package filters (see its documentation):
// fields digest, size and labels.KEY for blobs, and ref, offset, total and
// expected for ingests. Repeated --filter flags are alternatives; the
// selectors inside one are all required.
//
// # Running containers
//
// run makes a container from an image and runs its task in dctr's own
// process, through the library (runc's libcontainer: root and cgroups
// needed); tasks works on the tasks of the namespace's containers,
// whichever process started them:
//
//	dctr run [--rm] [-d] [-t] [--env K=V]... [--env-file F] [--mount SPEC]...
//	         [--net-host] [--user U] [--cwd D] [--hostname H]
//	         [--memory-limit B] [--cpus N] [--pids-limit N] [--read-only]
//	         [--privileged] [--cap-add C]... [--cap-drop C]...
//	         [--snapshotter S] [--log-file F] [--pull] IMAGE ID [CMD [ARG...]]
//	dctr tasks ls [-q]
//	dctr tasks ps ID
//	dctr tasks exec [--exec-id X] [-t] [-i] [--user U] [--cwd D] [--env K=V]...
//	                ID CMD [ARG...]
//	dctr tasks pause ID...
//	dctr tasks resume ID...
//	dctr tasks metrics [--format table|json] ID
//	dctr tasks update [--memory B] [--memory-swap B] [--cpus N]
//	                  [--cpu-shares N] [--pids-limit N] ID
//	dctr tasks attach [--all] ID
//	dctr tasks kill [-a] [-s SIGNAL] ID
//	dctr tasks wait ID
//	dctr tasks rm [-f] ID...
//
// run's flags come before IMAGE: everything after ID is the command line
// given in place of the image's Cmd. The container's snapshot is called
// ID too. IMAGE must be in the namespace already, unless --pull, which
// pulls and unpacks it (taking the registry flags, the credentials flag
// being --registry-user, since --user is the container's user).
//
// In the foreground, run gives the task dctr's standard streams (or the
// --log-file), passes on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
// SIGUSR2 to it, waits for its exit, deletes the task and exits with its
// exit status (128+n when signal n ended it); --rm removes the container
// and its snapshot too, else the container stays. With -d the task is
// started with no streams (or the --log-file) and dctr exits at once,
// printing nothing, while the task runs on; --rm with -d is a usage
// error. When making or starting the task fails, the container is
// removed again: a failed run leaves nothing behind. --log-file records
// the file's absolute path as the container's label dctr.log-file, for
// tasks attach.
//
// # Terminals
//
// run -t and tasks exec -t give the process a pseudo-terminal of its own
// (TERM=xterm unless set), whose master lives in dctr: its output goes to
// dctr's standard output, and dctr's standard input (always, for run; with
// -i, for exec) is typed on it. When that input is a terminal, dctr puts it
// in raw mode while the process runs, so that every key reaches the
// process's terminal: ^C becomes a SIGINT there, for the process's
// foreground process group, and ^D an end-of-file. The mode is restored on
// every way out (exit, failure, signal). The process's terminal gets the
// local one's size (run: before the program starts; exec: as soon as it
// has started) and follows its changes (SIGWINCH). Signals sent to dctr
// itself are still passed on: in raw mode the local terminal makes none
// from keys, so one that arrives was sent on purpose (kill). Because the
// master lives in dctr, -t excludes run's -d and --log-file; exec -t
// without -i types ^D at once, as near as a terminal gets to no input.
//
// tasks ls shows each task's container id, the pid of its init process
// and its status (CREATED, RUNNING, PAUSED, STOPPED). tasks ps lists a
// task's processes: pid, the exec id of the exec'd process it is ("-" for
// the init and its children) and its command line. tasks exec runs a
// command in a running task with the init's user, environment and working
// directory unless --user (names looked up in the task's own /etc/passwd
// and /etc/group), --env and --cwd say otherwise; it passes dctr's signals
// on to the process, exits with its exit status and removes it (an exec
// id is free again afterwards); a paused task is refused. tasks pause and
// resume freeze and thaw every process of tasks. tasks metrics shows the
// counters of a task's cgroup as a METRIC VALUE table, or as JSON with
// --format json (times in ns, sizes in bytes). tasks update changes the
// memory (and memory+swap), CPU quota (--cpus) and shares, and pids limits
// of a running task live; sizes take K, M, G, T units, -1 means no limit
// for --memory-swap and --pids-limit. tasks attach follows the log file of
// a task run with --log-file (from the end, or with --all from the start)
// until the task exits; a task without one has nothing to attach to.
// Commands that load a task retry for up to 2 s while another process
// holds it exclusively for a moment (sets it up, removes it, checks it).
// tasks kill sends
// SIGTERM, or the -s SIGNAL given by name (KILL, SIGKILL) or number, to
// the task's init, or with -a to all its processes. tasks rm removes
// stopped tasks, and with -f kills running ones first; a container with a
// task cannot be removed until its task is. tasks wait waits for a task's
// exit and prints its exit status and exits with it; but only the
// process that started a task learns its exit status, so for a task
// another process started (dctr run -d), wait says on standard error
// that the status is unknown and exits with 255, containerd's
// UnknownExitStatus.
//
// # Namespaces, leases and garbage collection
//
//	dctr namespaces ls [-q]
//	dctr namespaces create NAME [KEY=VALUE]...
//	dctr namespaces label NAME [KEY=VALUE]...
//	dctr namespaces rm NAME...
//	dctr leases ls [-q] [--filter F]...
//	dctr leases create [--id ID] [--expires DURATION] [--label KEY=VALUE]...
//	dctr leases rm [--sync] ID...
//	dctr images rm [--sync] REF...
//	dctr gc [--dry-run]
//
// A namespace exists once created or once anything is stored in it; rm
// refuses one that still holds images, containers, leases, content or
// snapshots and says what. A lease keeps what it holds from garbage
// collection; leases create prints the new lease's id (random unless
// --id), which expires after 24 hours unless --expires says otherwise (0:
// never). gc removes, in every namespace, the blobs and snapshots nothing
// keeps (images, containers, unexpired leases, the containerd.io/gc.root
// label, and what they reference), expired leases, and ingests idle for
// 24 hours that no lease holds; it prints a TYPE NAMESPACE ID SIZE row for
// each thing removed and a summary ("removed 3 blobs, 2 snapshots, 0
// ingests, 0 leases; freed 1.2 MiB in 12ms"); with --dry-run nothing is
// removed. images rm and leases rm with --sync run gc after the removals
// and print its summary after "gc: ".
//
// # Events
//
//	dctr events [--filter F]... [--since T]
//
// events prints the events of the root as they happen, whatever process
// publishes them (a service embedding the library, another dctr): one
// line each, the time in RFC 3339 UTC, the namespace, the topic and the
// event as JSON. Filters are containerd's (topic==/tasks/exit,
// topic~=^/images/, namespace==x; commas AND, several filters OR). With
// --since (RFC 3339, or a duration such as 10m), the events the root's
// journal still holds from then are printed first. It runs until
// interrupted.
//
// # Errors and exit status
//
// Each failure is reported as one line on standard error, "dctr: " and
// the error. The exit status is 0 on success, 1 when an operation failed,
// and 2 when the command line itself is wrong (unknown command or flag,
// wrong number of arguments). Commands taking several digests go on after
// one fails and report each failure on its own line. run in the
// foreground and tasks wait exit with the task's exit status instead
// when they have one, so 1 and 2 may be the task's.
package main
