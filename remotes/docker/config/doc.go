// Package config provides the docker.RegistryHosts of a registry client:
// for each registry name, the endpoints to try (mirrors first, the
// upstream last), each with an http.Client carrying its TLS settings and
// an Authorizer carrying its credentials.
//
// It reads the hosts directories containerd reads (certs.d), so files
// users already have keep working. It does not hold credentials
// (package remotes/docker/credentials reads those) nor talk to
// registries.
//
// # Defaults
//
// Without configuration a registry is served by itself over https, with
// TLS 1.2 or later and the system's roots; "docker.io" is served by
// "registry-1.docker.io"; loopback registries ("localhost", 127.0.0.0/8,
// "[::1]", any port) are served over plain http. WithPlainHTTP and
// WithSkipVerify change this for hosts named without a scheme. Every
// client drops the Authorization header, and every header but a few that
// describe the content, of a redirect that leaves the scheme, host and
// port of the request, so that the storage a registry sends blob
// downloads to never sees its credentials or configured headers; and it
// refuses such a redirect for a request with a body.
//
// # Token realms and plain http
//
// An endpoint's TLS settings (ca, client, skip_verify, WithSkipVerify)
// and its hosts.toml headers reach a token realm only when the realm is
// on the endpoint's own scheme, host and port. A realm elsewhere is
// verified against the base transport's roots, offered no client
// certificate, and sent only WithDefaultHeader's headers.
//
// The credentials of a Basic challenge go over plain http only to a
// loopback host, or to a host the user asked plain http for: one that
// hosts.toml names with an http:// URL, or that WithPlainHTTP selects.
//
// # Hosts directories
//
// WithHostDir names a hosts directory, such as /etc/containerd/certs.d
// or /etc/docker/certs.d. For a registry name the first of these
// subdirectories that exists is read:
//
//	<dir>/<host>_<port>_/   (for names with a port: "localhost_5000_")
//	<dir>/<host>:<port>/    (the name as it is: "localhost:5000", "docker.io")
//	<dir>/_default/         (for every registry without a directory of its own)
//
// A subdirectory holds a hosts.toml file. Without one, Docker's older
// layout is read instead: *.crt files are CA certificates, each *.cert
// file a client certificate whose key is the *.key file of the same name
// (or which holds its key itself).
//
// # hosts.toml
//
// The file describes the upstream at its top level and mirrors in
// [host."<url>"] tables, tried in the order of the file before the
// upstream:
//
//	# The upstream; without server it is the registry itself.
//	server = "https://registry-1.docker.io"
//	capabilities = ["pull", "resolve", "push"]
//	ca = "/etc/certs/registry-ca.pem"
//
//	[host."https://mirror.internal:5000"]
//	  capabilities = ["pull", "resolve"]
//	  ca = ["mirror-ca.pem"]                   # relative to this directory
//	  client = [["client.cert", "client.key"]] # or "both-in-one.pem"
//	  skip_verify = false
//	  dial_timeout = "5s"
//	  [host."https://mirror.internal:5000".header]
//	    X-Mirror-Token = "abc"
//
//	[host."https://proxy.internal/registry/v2/docker.io"]
//	  override_path = true
//
// Keys, at the top level and in each host table:
//
//   - capabilities: what the host is used for, of "pull" (blobs and
//     manifests by digest), "resolve" (tags to digests) and "push". The
//     default is ["pull", "resolve"] for a mirror and all three for the
//     upstream; a resolver skips hosts without the capability it needs.
//   - ca: a CA certificate file, or a list of them, added to the system's
//     roots.
//   - client: a client certificate file holding its key, or a list of such
//     files, or a list of [certificate, key] pairs.
//   - skip_verify: do not verify the server's certificate (for tests).
//   - header: headers sent with every request to the host, each a string
//     or a list of strings.
//   - override_path: the URL's path is the API root as it is, rather than
//     a prefix that "/v2" is appended to.
//   - dial_timeout: how long connecting may take, as "10s".
//
// A URL or server without a scheme is https (http for a loopback host
// with no TLS setting, or when WithPlainHTTP says so); relative file
// names are relative to the directory of the file. Keys the package does
// not know are ignored.
//
// # Caching
//
// The function ConfigureHosts returns keeps, per registry name, the
// endpoints it built, so that connections and tokens are reused; it
// builds them again when the name's directory or its hosts.toml changes
// (by modification time and size). It is safe for concurrent use.
//
// # Errors
//
// The returned function fails with InvalidArgument for a name that is not
// a host[:port], for a hosts.toml that is malformed or larger than
// MaxHostsFileSize (the error names the file and the line), and for
// certificate files that cannot be used; with NotFound for certificate
// files that do not exist.
package config
