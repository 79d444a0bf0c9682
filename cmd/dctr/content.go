package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/content"
	"github.com/daemonless/containerd/filters"
)

// newContentCommand builds "dctr content" and its verbs.
func newContentCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "content",
		Short: "Work on the content store: blobs and ingests",
		Long: `Work on the content store of the root, in the chosen namespace.

Blobs are shared on disk by all namespaces, but each namespace sees only
the blobs it has ingested itself, with labels of its own.`,
	}
	groupCommand(cmd)
	cmd.AddCommand(
		newIngestCommand(g),
		newActiveCommand(g),
		newAbortCommand(g),
		newFetchCommand(g),
		newFetchBlobCommand(g),
		newPushObjectCommand(g),
		newLsCommand(g),
		newPathCommand(g),
		newGetCommand(g),
		newRmCommand(g),
		newLabelCommand(g),
	)
	return cmd
}

func newIngestCommand(g *globalOptions) *cobra.Command {
	var (
		expected string
		size     int64
	)
	cmd := &cobra.Command{
		Use:   "ingest [--expected-digest DIGEST] [--expected-size BYTES] REF",
		Short: "Store a blob read from standard input and print its digest",
		Long: `Store a blob read from standard input under the ingest ref REF, and print
its digest.

With --expected-digest the blob is committed only when its digest matches;
a blob the namespace already holds is not read again. With --expected-size
an input that ends early leaves the ingest in place (see "dctr content
active"), and running the same command again continues it: the bytes
already stored are not written again, and unless an expected digest
checks the whole blob they are compared with the start of the input.`,
		Args: exactArgs(1, "REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			if err := content.ValidateRef(ref); err != nil {
				return err
			}
			desc := ocispec.Descriptor{Digest: digest.Digest(expected), Size: size}
			if expected != "" {
				if err := content.ValidateDigest(desc.Digest); err != nil {
					return fmt.Errorf("--expected-digest: %w", err)
				}
			}
			if size < 0 {
				return fmt.Errorf("--expected-size %d: must not be negative: %w", size, errdefs.ErrInvalidArgument)
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				d, err := ingest(ctx, cmd, client.ContentStore(), ref, cmd.InOrStdin(), desc)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), d)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&expected, "expected-digest", "", "commit only when the blob has this `DIGEST`")
	cmd.Flags().Int64Var(&size, "expected-size", 0, "commit only when the blob is this many `BYTES` long (0: any size)")
	return cmd
}

// ingest streams r into cs as the blob desc, under ref, and returns the
// blob's digest. A blob the namespace already holds is no error. An
// earlier ingest of ref is continued, as content.Copy describes.
func ingest(ctx context.Context, cmd *cobra.Command, cs content.Store, ref string, r io.Reader, desc ocispec.Descriptor) (digest.Digest, error) {
	opts := []content.WriterOpt{content.WithRef(ref), content.WithDescriptor(desc)}
	w, err := cs.Writer(ctx, opts...)
	if errdefs.IsUnavailable(err) {
		fmt.Fprintf(cmd.ErrOrStderr(), "dctr: ingest %q is held by another writer; waiting for it\n", ref)
		w, err = content.OpenWriter(ctx, cs, opts...)
	}
	if err != nil {
		if errdefs.IsAlreadyExists(err) && desc.Digest != "" {
			return desc.Digest, nil
		}
		return "", err
	}
	defer w.Close()
	if err := content.Copy(ctx, w, r, desc.Size, desc.Digest); err != nil && !errdefs.IsAlreadyExists(err) {
		return "", err
	}
	if desc.Digest != "" {
		return desc.Digest, nil
	}
	return w.Digest(), nil
}

func newAbortCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "abort REF...",
		Short: "Discard ingests under way",
		Long: `Discard the ingests REF... of the namespace and the bytes they hold. An
ingest held by a running writer is refused.`,
		Args: minArgs(1, "REF..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, ref := range args {
				if err := content.ValidateRef(ref); err != nil {
					return err
				}
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				return each(cmd, args, func(ref string) error {
					if err := client.ContentStore().Abort(ctx, ref); err != nil {
						return err
					}
					_, err := fmt.Fprintln(cmd.OutOrStdout(), ref)
					return err
				})
			})
		},
	}
}

func newActiveCommand(g *globalOptions) *cobra.Command {
	var fltrs []string
	cmd := &cobra.Command{
		Use:   "active [--filter FILTER]...",
		Short: "List the ingests under way",
		Long: `List the ingests under way in the namespace: their ref, how many bytes they
hold, the size expected ("-" when unknown), and when they started and
were last written.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := filters.Parse(fltrs...); err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				sts, err := client.ContentStore().ListStatuses(ctx, fltrs...)
				if err != nil {
					return err
				}
				t := newTable(cmd.OutOrStdout(), "REF", "OFFSET", "TOTAL", "STARTED", "UPDATED")
				now := time.Now()
				for _, st := range sts {
					total := "-"
					if st.Total > 0 {
						total = fmt.Sprint(st.Total)
					}
					t.row(st.Ref, fmt.Sprint(st.Offset), total, ago(now, st.StartedAt), ago(now, st.UpdatedAt))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only ingests matching `FILTER` (fields ref, offset, total, expected); repeat for alternatives")
	return cmd
}

func newLsCommand(g *globalOptions) *cobra.Command {
	var (
		quiet bool
		fltrs []string
	)
	cmd := &cobra.Command{
		Use:   "ls [-q] [--filter FILTER]...",
		Short: "List the blobs of the namespace",
		Long: `List the blobs of the namespace in digest order: digest, size, age and
labels ("-" when none).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := filters.Parse(fltrs...); err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				bw := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
				cs := client.ContentStore()
				if quiet {
					err := cs.Walk(ctx, func(info content.Info) error {
						bw.WriteString(info.Digest.String())
						return bw.WriteByte('\n')
					}, fltrs...)
					if err != nil {
						return err
					}
					return bw.Flush()
				}
				t := newTable(bw, "DIGEST", "SIZE", "AGE", "LABELS")
				now := time.Now()
				err := cs.Walk(ctx, func(info content.Info) error {
					t.row(info.Digest.String(), humanSize(info.Size), age(now, info.CreatedAt), formatLabels(info.Labels))
					return nil
				}, fltrs...)
				if err != nil {
					return err
				}
				if err := t.flush(); err != nil {
					return err
				}
				return bw.Flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print digests only")
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only blobs matching `FILTER` (fields digest, size, labels.KEY); repeat for alternatives")
	return cmd
}

func newPathCommand(g *globalOptions) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "path [-q] DIGEST...",
		Short: "Print the paths of blobs' files",
		Long: `Print the digest and the path of each blob's file, or with -q the path
alone. The files are the store's own: read them, never write them.`,
		Args: minArgs(1, "DIGEST..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := parseDigests(cmd, args)
			if err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				pp, ok := client.ContentStore().(content.PathProvider)
				if !ok {
					return fmt.Errorf("the content store keeps no blob files: %w", errdefs.ErrNotImplemented)
				}
				out := cmd.OutOrStdout()
				return each(cmd, ds, func(d digest.Digest) error {
					p, err := pp.BlobPath(ctx, d)
					if err != nil {
						return err
					}
					if quiet {
						_, err = fmt.Fprintln(out, p)
					} else {
						_, err = fmt.Fprintln(out, d, p)
					}
					return err
				})
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print paths only")
	return cmd
}

func newGetCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get DIGEST",
		Short: "Write a blob to standard output",
		Args:  exactArgs(1, "DIGEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := digest.Digest(args[0])
			if err := content.ValidateDigest(d); err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				ra, err := client.ContentStore().ReaderAt(ctx, ocispec.Descriptor{Digest: d})
				if err != nil {
					return err
				}
				defer ra.Close()
				// Hide the destination's ReadFrom so that the large buffer is used.
				out := struct{ io.Writer }{cmd.OutOrStdout()}
				if _, err := io.CopyBuffer(out, content.NewReader(ra), make([]byte, 1<<20)); err != nil {
					return fmt.Errorf("content %s: copy to output: %w", d, err)
				}
				return nil
			})
		},
	}
}

func newRmCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rm DIGEST...",
		Short: "Remove blobs from the namespace",
		Long: `Remove blobs from the namespace and print the digest of each one removed.
A blob's file is deleted once no namespace holds the blob.`,
		Args: minArgs(1, "DIGEST..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := parseDigests(cmd, args)
			if err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				cs := client.ContentStore()
				out := cmd.OutOrStdout()
				return each(cmd, ds, func(d digest.Digest) error {
					if err := cs.Delete(ctx, d); err != nil {
						return err
					}
					_, err := fmt.Fprintln(out, d)
					return err
				})
			})
		},
	}
}

func newLabelCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "label DIGEST KEY=VALUE...",
		Short: "Set or remove labels of a blob",
		Long: `Set labels of a blob in the namespace; KEY= (an empty value) removes the
label KEY. Prints the blob's labels afterwards ("-" when none).`,
		Args: minArgs(2, "DIGEST KEY=VALUE..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := digest.Digest(args[0])
			if err := content.ValidateDigest(d); err != nil {
				return err
			}
			labels, paths, err := parseLabels(args[1:])
			if err != nil {
				return err
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				info, err := client.ContentStore().Update(ctx, content.Info{Digest: d, Labels: labels}, paths...)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), formatLabels(info.Labels))
				return err
			})
		},
	}
}

// parseDigests checks every argument with content.ValidateDigest. It
// reports each bad one on its own line and then fails with a
// reportedError, before anything has been done.
func parseDigests(cmd *cobra.Command, args []string) ([]digest.Digest, error) {
	ds := make([]digest.Digest, 0, len(args))
	failed := 0
	for _, a := range args {
		d := digest.Digest(a)
		if err := content.ValidateDigest(d); err != nil {
			report(cmd, err)
			failed++
			continue
		}
		ds = append(ds, d)
	}
	if failed > 0 {
		return nil, reportedError{failed}
	}
	return ds, nil
}

// each calls fn for every item, reporting each failure on its own line
// and going on; it fails with a reportedError when any did.
func each[T any](cmd *cobra.Command, items []T, fn func(T) error) error {
	failed := 0
	for _, it := range items {
		if err := fn(it); err != nil {
			report(cmd, err)
			failed++
		}
	}
	if failed > 0 {
		return reportedError{failed}
	}
	return nil
}

// parseLabels turns KEY=VALUE arguments into the labels and fieldpaths of
// a content.Manager.Update: "labels.KEY" for each key, in the order of
// first mention. An empty VALUE removes the label; of repeated keys the
// last wins.
func parseLabels(args []string) (map[string]string, []string, error) {
	labels := make(map[string]string, len(args))
	var paths []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, nil, fmt.Errorf("label %q: want KEY=VALUE, or KEY= to remove the label: %w", a, errdefs.ErrInvalidArgument)
		}
		if err := content.ValidateLabel(k, v); err != nil {
			return nil, nil, fmt.Errorf("label %q: %w", a, err)
		}
		if _, seen := labels[k]; !seen {
			paths = append(paths, "labels."+k)
		}
		labels[k] = v
	}
	return labels, paths, nil
}
