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
// # Errors and exit status
//
// Each failure is reported as one line on standard error, "dctr: " and
// the error. The exit status is 0 on success, 1 when an operation failed,
// and 2 when the command line itself is wrong (unknown command or flag,
// wrong number of arguments). Commands taking several digests go on after
// one fails and report each failure on its own line.
package main
