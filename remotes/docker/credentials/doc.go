// Package credentials provides registry credentials read from the files
// that docker, podman and skopeo keep them in, and from the credential
// helpers those files name.
//
// A [Store] answers [Store.Credentials] for a registry host; its method
// value has the type that docker.WithAuthCredentials and
// config.WithCredentials take:
//
//	store, err := credentials.Load()
//	hosts := config.ConfigureHosts(ctx, config.WithCredentials(store.Credentials))
//
// It does not log in, store credentials, or talk to registries.
//
// # Sources
//
// Credentials are looked up in this order; the first source that has an
// entry for the host wins:
//
//  1. credentials given with [WithStatic];
//  2. the containers auth file of podman and skopeo: $REGISTRY_AUTH_FILE,
//     else the first of $XDG_RUNTIME_DIR/containers/auth.json and
//     ~/.config/containers/auth.json that exists (or the file of
//     [WithAuthFile]);
//  3. docker's config.json: $DOCKER_CONFIG/config.json, else
//     ~/.docker/config.json (or the directory of [WithDockerConfigDir]).
//
// Within a file, a credential helper comes first: the one credHelpers
// names for the host, else the credsStore default. When the helper has
// nothing for the host, the file's auths entry is used: a base64 "auth"
// of "user:password", or "username" and "password", or an
// "identitytoken", returned as a secret with an empty username (docker's
// convention for an OAuth2 refresh token). Files are read once, by Load;
// helpers run at each lookup, so that they can hand out fresh tokens.
//
// # Hosts
//
// Keys are matched without regard to case, as bare hosts ("ghcr.io",
// "localhost:5000") or URLs ("https://ghcr.io", "https://host/v1/"), the
// scheme and path dropped. "docker.io", "index.docker.io" and
// "registry-1.docker.io" all name Docker Hub, whose key docker writes as
// "https://index.docker.io/v1/". Keys that name a namespace inside a
// registry ("quay.io/team", which podman allows) are ignored: credentials
// are looked up by host only.
//
// # Credential helpers
//
// A helper "name" is the program docker-credential-name found in $PATH,
// run as "docker-credential-name get" with the server URL on its standard
// input, as the docker-credential-helpers protocol says. It answers a
// JSON object {"ServerURL", "Username", "Secret"}; a Username of
// "<token>" marks the Secret as an identity token. A helper that reports
// "credentials not found" means no credentials, not an error. Its output
// is bounded by MaxHelperOutput and its run time by [WithHelperTimeout];
// nothing secret is ever put in its arguments.
//
// # Errors
//
// Load fails with InvalidArgument for a file that is malformed (the error
// names the file and where) or larger than MaxFileSize, and with NotFound
// for a file given by WithAuthFile that does not exist. Credentials fails
// with NotFound when a helper is not installed, with DeadlineExceeded
// when one runs too long, and with Unknown when one fails otherwise.
// Secrets never appear in errors.
package credentials
