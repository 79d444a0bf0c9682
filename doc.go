// Package containerd provides a client that does containerd's job inside
// the caller's own process: a content-addressed store, and — as the
// project grows — images, snapshots, containers and tasks, with no daemon,
// no shim and no RPC.
//
// The client's shape is containerd's Go client's:
//
//	client, err := containerd.New("/var/lib/dctr", containerd.WithNamespace("example"))
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	cs := client.ContentStore()
//
// # Root and namespaces
//
// Everything lives under one root directory: the metadata database
// meta.db, and the blobs under content/. Several processes may open the
// same root at once, say a service and the dctr command: both work and
// neither waits for more than a transaction of the other.
//
// Namespaces isolate metadata. A client has a default namespace
// ([WithNamespace], "default" when unset), and every call may name
// another through its context with namespaces.WithNamespace, so one client
// serves many tenants. Blobs on disk are shared among namespaces and
// stored once, but a namespace sees only the blobs it committed itself.
//
// # Errors
//
// Errors wrap the kinds of github.com/containerd/errdefs, so callers test
// them as they would containerd's: errdefs.IsNotFound(err).
package containerd
