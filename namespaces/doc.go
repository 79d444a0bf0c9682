// Package namespaces provides the namespace carried by a context, and the
// rules a namespace name follows.
//
// A namespace isolates metadata: images, containers, leases and content
// labels in one namespace are invisible in another, while the blobs and
// snapshots on disk are shared. One client serves many namespaces: its
// methods take the namespace from the context when [WithNamespace] put one
// there, and use the client's default otherwise.
//
// # Names
//
// A name is 1 to 76 characters: letters and digits, in runs separated by
// single '.', '_' or '-' characters ("default", "k8s.io", "moby"). The rules
// are containerd's, so names move between the two unchanged.
package namespaces
