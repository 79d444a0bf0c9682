// Package containerd provides a client that does containerd's job inside
// the caller's own process: a content-addressed store, a registry client,
// images, snapshots, OCI runtime specs, containers and tasks, with no
// daemon, no shim and no RPC.
//
// The client's shape is containerd's Go client's:
//
//	client, err := containerd.New("/var/lib/dctr", containerd.WithNamespace("example"))
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	image, err := client.Pull(ctx, "registry.example/app:1", containerd.WithPullUnpack)
//	container, err := client.NewContainer(ctx, "app",
//		containerd.WithImage(image),
//		containerd.WithNewSnapshot("app-rootfs", image),
//		containerd.WithNewSpec(oci.WithImageConfig(image)))
//	defer container.Delete(ctx, containerd.WithSnapshotCleanup)
//	task, err := container.NewTask(ctx, containerd.Stdio)
//	defer task.Delete(ctx)
//	exitCh, err := task.Wait(ctx) // before Start: no exit is lost
//	err = task.Start(ctx)
//	err = task.Kill(ctx, syscall.SIGTERM)
//	status := <-exitCh
//
// # Root and namespaces
//
// Everything lives under one root directory: the metadata database
// meta.db, the blobs under content/, the snapshots under snapshots/. Several
// processes may open the same root at once, say a service and the dctr
// command: both work and neither waits for more than a transaction of the
// other.
//
// Namespaces isolate metadata. A client has a default namespace
// ([WithNamespace], "default" when unset), and every call may name
// another through its context with namespaces.WithNamespace, so one client
// serves many tenants. Blobs and layers on disk are shared among
// namespaces and stored once, but a namespace sees only what it has.
//
// # Tasks
//
// A task runs in the calling process through runc's libcontainer: the
// caller is the parent of every task it starts, and nothing else runs on
// its behalf. Running tasks needs Linux, cgo and root.
//
//   - The init hook. libcontainer starts a container by running the
//     calling program's binary again; importing this package is all that
//     takes, in any program and in go test binaries. The re-executed
//     process is recognised by libcontainer's environment, never by its
//     arguments, so a program's own "init" command is left alone. The hook
//     also keeps the main goroutine on the main thread (see package
//     internal/runtime/inithook for why); a program must not unlock it.
//   - State. Runtime state lives under the state directory ([WithStateDir],
//     /run/dctr for root): <state>/<namespace>/runc/<id> is libcontainer's,
//     and a task's root filesystem is mounted at
//     <state>/<namespace>/tasks/<id>/rootfs. Task.Delete removes both, and
//     the task's cgroup.
//   - Cgroups. A task's cgroup is /dctr/<namespace>/<id> unless
//     [WithCgroupParent] or the spec's Linux.CgroupsPath says otherwise;
//     libcontainer's cgroupfs driver works on cgroup v1, hybrid and v2.
//   - Exit statuses are exact: the code, or 128+n for a process killed by
//     signal n. A task another process started (Container.Task finds it
//     from its state) can be signalled, inspected and deleted, and its
//     exit is seen, but its exit status is not this process's to know:
//     Wait reports [UnknownExitStatus] with an error wrapping
//     [ErrNotParent], never a made-up 0.
//   - Closing the client leaves its tasks running.
//   - Seccomp profiles (oci.WithDefaultSeccompProfile) are installed only
//     by builds with the "seccomp" build tag (cgo and libseccomp; Debian:
//     libseccomp-dev); without it NewTask refuses a spec that has one,
//     with a NotImplemented error, rather than run without its filter.
//
// # Events
//
// The client publishes an event for each change it makes: images,
// containers, content and snapshots, whoever calls the stores, and the
// tasks' lifecycle. [Client.Subscribe] delivers them, filtered in
// containerd's syntax, with containerd's topics and payload shapes (the
// types of package events); [Client.Publish] adds a program's own. A
// subscriber that falls 1024 events behind is dropped with an error
// rather than waited for. Every client also appends its events to a
// bounded journal in the root, which subscribers follow: they see the
// events of the other processes on the root too, within milliseconds,
// and [Client.SubscribeSince] replays the journal from a time.
//
// # Namespaces, leases and garbage collection
//
// [Client.NamespaceService] lists, creates, labels and deletes namespaces;
// one is made by Create or by the first thing stored in it, and is
// deleted only once empty. [Client.GC] removes what nothing keeps — blobs,
// snapshots, expired leases, stale ingests — following containerd's
// rules: images keep their tree of blobs and unpacked snapshots,
// containers their snapshot, leases ([Client.WithLease],
// [Client.LeasesService]) what they hold, and the
// containerd.io/gc.root label whatever it is on. Pull, Import, Unpack and
// NewContainer run under a lease, so a collection beside them, in this
// process or another, never takes what they have made and not yet
// referenced. [WithGCPolicy] collects after deletes.
//
// # Errors
//
// Errors wrap the kinds of github.com/containerd/errdefs, so callers test
// them as they would containerd's: errdefs.IsNotFound(err).
package containerd
