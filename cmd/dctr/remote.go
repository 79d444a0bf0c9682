package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/remotes"
	"github.com/daemonless/containerd/remotes/docker"
	"github.com/daemonless/containerd/remotes/docker/config"
	"github.com/daemonless/containerd/remotes/docker/credentials"
)

const (
	envHostsDir = "DCTR_HOSTS_DIR"
	envPassword = "DCTR_PASSWORD"
	// defaultHostsDir is where containerd users keep their hosts.toml
	// files; it is read when it exists.
	defaultHostsDir = "/etc/containerd/certs.d"
)

// remoteOptions are the flags of commands that talk to registries.
type remoteOptions struct {
	plainHTTP  bool
	skipVerify bool
	user       string
	userFlag   string // the credentials flag, for messages: "-u"
	hostsDir   string
}

func (o *remoteOptions) addFlags(fs *pflag.FlagSet) {
	o.addFlagsNamed(fs, "user", "u")
}

// addFlagsNamed is addFlags with the credentials flag called --name (-short
// unless short is empty), for commands whose --user means something else.
func (o *remoteOptions) addFlagsNamed(fs *pflag.FlagSet, name, short string) {
	o.userFlag = "--" + name
	if short != "" {
		o.userFlag = "-" + short
	}
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "speak plain HTTP to the registry (loopback registries always are)")
	fs.BoolVar(&o.skipVerify, "skip-verify", false, "do not verify the registry's TLS certificate")
	fs.StringVarP(&o.user, name, short, "", "credentials `USER[:PASSWORD]` for the reference's registry (password from $"+envPassword+" when omitted; default: docker's config.json, podman's auth.json)")
	fs.StringVar(&o.hostsDir, "hosts-dir", envOr(envHostsDir, defaultHostsDir), "directory of per-registry hosts.toml files, containerd's certs.d layout ($"+envHostsDir+")")
}

// resolver builds the resolver for commands on ref: the hosts of
// --hosts-dir, the TLS flags, and credentials from -u for ref's registry
// only, else from the docker and podman credential files.
func (o *remoteOptions) resolver(ctx context.Context, cmd *cobra.Command, ref remotes.Ref) (remotes.Resolver, error) {
	var copts []credentials.Opt
	if o.user != "" {
		user, pass, ok := strings.Cut(o.user, ":")
		if !ok {
			pass = os.Getenv(envPassword)
		}
		if user == "" || pass == "" {
			return nil, fmt.Errorf("%s %q: want USER:PASSWORD, or USER with $%s set: %w", o.userFlag, user, envPassword, errdefs.ErrInvalidArgument)
		}
		copts = append(copts, credentials.WithStatic(ref.Domain, user, pass))
	}
	creds, err := credentials.Load(copts...)
	if err != nil {
		return nil, err
	}
	hopts := []config.HostOpt{config.WithCredentials(creds.Credentials)}
	if o.hostsDir != "" {
		_, err := os.Stat(o.hostsDir)
		switch {
		case err == nil:
			hopts = append(hopts, config.WithHostDir(o.hostsDir))
		case errors.Is(err, fs.ErrNotExist) && !cmd.Flags().Changed("hosts-dir") && os.Getenv(envHostsDir) == "":
			// The default directory is optional.
		default:
			return nil, fmt.Errorf("--hosts-dir: %w", err)
		}
	}
	if o.plainHTTP {
		hopts = append(hopts, config.WithPlainHTTP(func(string) bool { return true }))
	}
	if o.skipVerify {
		hopts = append(hopts, config.WithSkipVerify(true))
	}
	return docker.NewResolver(docker.WithHosts(config.ConfigureHosts(ctx, hopts...))), nil
}

// newFetchCommand builds "dctr content fetch".
func newFetchCommand(g *globalOptions) *cobra.Command {
	var ro remoteOptions
	cmd := &cobra.Command{
		Use:   "fetch [flags] LOCATOR OBJECT [mediatype:TYPE...]",
		Short: "Write a registry object to standard output",
		Long: `Write the object OBJECT of the repository LOCATOR to standard output:
a manifest or index named by tag or digest, or a blob named by digest.

LOCATOR is a repository ("docker.io/library/redis", "localhost:5000/app");
OBJECT a tag ("latest") or a digest. A hint mediatype:TYPE says what a
digest names when the registry cannot tell: a manifest or index type
fetches a manifest, any other type a blob. Without a hint a digest is
tried as a manifest, then as a blob.

Everything is checked before it is written: size, digest, and for
manifests their shape.`,
		Args: minArgs(2, "LOCATOR OBJECT [mediatype:TYPE...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			hint, err := mediaTypeHint(args[2:])
			if err != nil {
				return err
			}
			return ro.fetchTo(cmd, args[0], args[1], hint)
		},
	}
	ro.addFlags(cmd.Flags())
	return cmd
}

// blobHint is the media type hint that makes fetchObject fetch a blob.
const blobHint = "application/octet-stream"

// fetchTo writes the object of locator to the command's standard output,
// as "dctr content fetch" describes.
func (o *remoteOptions) fetchTo(cmd *cobra.Command, locator, object, hint string) error {
	ref, err := remotes.ParseLocator(locator, object)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	res, err := o.resolver(ctx, cmd, ref)
	if err != nil {
		return err
	}
	rc, err := fetchObject(ctx, res, ref, hint)
	if err != nil {
		return err
	}
	return copyOut(cmd, rc, ref.String())
}

// mediaTypeHint reads the mediatype:TYPE arguments; the last one wins.
func mediaTypeHint(args []string) (string, error) {
	var hint string
	for _, a := range args {
		t, ok := strings.CutPrefix(a, "mediatype:")
		if !ok || t == "" || strings.ContainsAny(t, " \t\n") {
			return "", usageError{fmt.Errorf("hint %q: want mediatype:TYPE", a)}
		}
		hint = t
	}
	return hint, nil
}

// fetchObject opens what ref names, as "dctr content fetch" describes.
func fetchObject(ctx context.Context, res remotes.Resolver, ref remotes.Ref, hint string) (io.ReadCloser, error) {
	f, err := res.Fetcher(ctx, ref.String())
	if err != nil {
		return nil, err
	}
	manifest := hint == "" || remotes.IsManifestType(hint) || remotes.IsIndexType(hint)
	if ref.Digest == "" || manifest {
		_, desc, err := res.Resolve(ctx, ref.String())
		switch {
		case err == nil:
			return f.Fetch(ctx, desc)
		case ref.Digest == "" || hint != "" || !errdefs.IsNotFound(err):
			return nil, err
		}
		// A digest without a hint that is no manifest: try it as a blob.
	}
	return fetchBlob(ctx, f, ref)
}

func fetchBlob(ctx context.Context, f remotes.Fetcher, ref remotes.Ref) (io.ReadCloser, error) {
	fd, ok := f.(remotes.FetcherByDigest)
	if !ok {
		return nil, fmt.Errorf("%s: the fetcher cannot fetch by digest alone: %w", ref, errdefs.ErrNotImplemented)
	}
	rc, _, err := fd.FetchByDigest(ctx, ref.Digest)
	return rc, err
}

// copyOut writes rc to the command's standard output and closes it. An
// error in the stream (a size or digest mismatch found at its end) fails
// the command, though bytes may have been written already.
func copyOut(cmd *cobra.Command, rc io.ReadCloser, what string) error {
	defer rc.Close()
	out := struct{ io.Writer }{cmd.OutOrStdout()}
	if _, err := io.CopyBuffer(out, rc, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// newFetchBlobCommand builds "dctr content fetch-blob".
func newFetchBlobCommand(g *globalOptions) *cobra.Command {
	var ro remoteOptions
	cmd := &cobra.Command{
		Use:   "fetch-blob [flags] LOCATOR DIGEST",
		Short: "Write a blob of a registry to standard output",
		Long: `Write the blob DIGEST of the repository LOCATOR to standard output, checked
against its digest and the size the registry reports. With "dctr content
ingest" it makes a pipeline:

  dctr content fetch-blob LOCATOR DIGEST | dctr content ingest --expected-digest DIGEST REF`,
		Args: exactArgs(2, "LOCATOR DIGEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := content.ValidateDigest(digest.Digest(args[1])); err != nil {
				return err
			}
			return ro.fetchTo(cmd, args[0], args[1], blobHint)
		},
	}
	ro.addFlags(cmd.Flags())
	return cmd
}

// newPushObjectCommand builds "dctr content push-object".
func newPushObjectCommand(g *globalOptions) *cobra.Command {
	var (
		ro        remoteOptions
		mediaType string
	)
	cmd := &cobra.Command{
		Use:   "push-object [flags] REMOTE DIGEST",
		Short: "Push one blob of the content store to a registry",
		Long: `Push the blob DIGEST of the namespace's content store to the repository
REMOTE ("localhost:5000/app"). A blob the registry already has is not
sent again. Prints the digest and what happened: pushed, exists or
mounted.`,
		Args: exactArgs(2, "REMOTE DIGEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := digest.Digest(args[1])
			if err := content.ValidateDigest(d); err != nil {
				return err
			}
			ref, err := remotes.ParseRef(args[0])
			if err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				cs := client.ContentStore()
				info, err := cs.Info(ctx, d)
				if err != nil {
					return err
				}
				res, err := ro.resolver(ctx, cmd, ref)
				if err != nil {
					return err
				}
				p, err := res.Pusher(ctx, ref.String())
				if err != nil {
					return err
				}
				desc := ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: info.Size}
				outcome := "pushed"
				err = remotes.Push(ctx, p, cs, desc, remotes.WithProgress(func(pr remotes.Progress) {
					switch pr.State {
					case remotes.ProgressExists:
						outcome = "exists"
					case remotes.ProgressMounted:
						outcome = "mounted"
					}
				}))
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), d, outcome)
				return err
			})
		},
	}
	ro.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&mediaType, "media-type", "application/octet-stream", "media `TYPE` of the blob")
	return cmd
}

// newRegistryCommand builds "dctr registry".
func newRegistryCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Ask registries about their repositories",
	}
	groupCommand(cmd)
	var ro remoteOptions
	tags := &cobra.Command{
		Use:   "tags [flags] REF",
		Short: "List the tags of a repository",
		Long:  `List the tags of the repository REF names ("docker.io/library/redis"), one per line, in the registry's order.`,
		Args:  exactArgs(1, "REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := remotes.ParseRef(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			res, err := ro.resolver(ctx, cmd, ref)
			if err != nil {
				return err
			}
			tg, ok := res.(remotes.Tagger)
			if !ok {
				return fmt.Errorf("the resolver cannot list tags: %w", errdefs.ErrNotImplemented)
			}
			list, err := tg.Tags(ctx, ref.String())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, t := range list {
				if _, err := fmt.Fprintln(out, t); err != nil {
					return err
				}
			}
			return nil
		},
	}
	ro.addFlags(tags.Flags())
	cmd.AddCommand(tags)
	return cmd
}
