package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/platforms"
	"github.com/daemonless/containerd/remotes"
)

// newImagesCommand builds "dctr images" and its verbs.
func newImagesCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image", "i"},
		Short:   "Pull, push, list and name images",
	}
	groupCommand(cmd)
	cmd.AddCommand(newImagesPullCommand(g), newImagesPushCommand(g), newImagesLsCommand(g),
		newImagesRmCommand(g), newImagesTagCommand(g), newImagesInspectCommand(g),
		newImagesImportCommand(g), newImagesExportCommand(g))
	return cmd
}

func newImagesPullCommand(g *globalOptions) *cobra.Command {
	var (
		ro          remoteOptions
		platform    string
		all         bool
		noUnpack    bool
		snapshotter string
	)
	cmd := &cobra.Command{
		Use:   "pull [flags] REF",
		Short: "Pull an image from a registry",
		Long: `Pull the image REF for a platform (the host's by default): its index or
manifest, config and layers, checked and stored in the content store; the
image record is stored last. The image is unpacked into the snapshotter as
it downloads, unless --no-unpack. Progress is shown live on a terminal and
as plain lines otherwise.`,
		Args: exactArgs(1, "REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := remotes.ParseRef(args[0])
			if err != nil {
				return err
			}
			opts := []containerd.RemoteOpt{}
			if platform != "" {
				opts = append(opts, containerd.WithPlatform(platform))
			}
			if all {
				opts = append(opts, containerd.WithAllPlatforms)
			}
			if !noUnpack {
				opts = append(opts, containerd.WithPullUnpack)
				if snapshotter != "" {
					opts = append(opts, containerd.WithPullSnapshotter(snapshotter))
				}
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				res, err := ro.resolver(ctx, cmd, ref)
				if err != nil {
					return err
				}
				pp := newProgressPrinter(cmd.OutOrStdout(), "downloading")
				// The first descriptor handled is the one the reference resolved to.
				first := images.HandlerFunc(func(_ context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
					pp.resolved(ref.String(), d.Digest.String())
					return nil, nil
				})
				img, err := client.Pull(ctx, ref.String(), append(opts, containerd.WithResolver(res), containerd.WithProgress(pp.update), containerd.WithImageHandler(first))...)
				pp.finish()
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", img.Name(), img.Target().Digest); err != nil || noUnpack {
					return err
				}
				diffIDs, err := img.RootFS(ctx)
				if err != nil {
					return err
				}
				if snapshotter == "" {
					snapshotter = client.DefaultSnapshotter()
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "unpacked into %s: %s\n", snapshotter, images.ChainID(diffIDs))
				return err
			})
		},
	}
	ro.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&platform, "platform", "", "`PLATFORM` to pull (\"linux/arm64\"); default: the host's")
	cmd.Flags().BoolVar(&all, "all-platforms", false, "pull every platform of an index")
	cmd.Flags().BoolVar(&noUnpack, "no-unpack", false, "only download: do not unpack into a snapshotter")
	cmd.Flags().StringVar(&snapshotter, "snapshotter", "", "`NAME` of the snapshotter to unpack into (default: overlay where the root supports it)")
	return cmd
}

func newImagesPushCommand(g *globalOptions) *cobra.Command {
	var ro remoteOptions
	cmd := &cobra.Command{
		Use:   "push [flags] REMOTE [LOCAL]",
		Short: "Push an image to a registry",
		Long: `Push the local image LOCAL (REMOTE itself by default) to REMOTE. REMOTE may
name no tag: the image is then pushed by digest only. Content the
registry holds is not sent again.`,
		Args: rangeArgs(1, 2, "REMOTE [LOCAL]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := remotes.ParseRef(args[0])
			if err != nil {
				return err
			}
			local := args[0]
			if len(args) == 2 {
				local = args[1]
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				img, err := getImage(ctx, client, local)
				if err != nil {
					return err
				}
				res, err := ro.resolver(ctx, cmd, ref)
				if err != nil {
					return err
				}
				pp := newProgressPrinter(cmd.OutOrStdout(), "uploading")
				err = client.Push(ctx, args[0], img.Target(), containerd.WithResolver(res), containerd.WithProgress(pp.update))
				pp.finish()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", ref.Name, img.Target().Digest)
				return err
			})
		},
	}
	ro.addFlags(cmd.Flags())
	return cmd
}

// getImage finds an image by the name given, or by its normalised form
// ("redis" is "docker.io/library/redis:latest").
func getImage(ctx context.Context, client *containerd.Client, name string) (containerd.Image, error) {
	img, err := client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		if ref, perr := remotes.ParseRef(name); perr == nil && ref.String() != name {
			if img2, err2 := client.GetImage(ctx, ref.String()); err2 == nil {
				return img2, nil
			}
		}
	}
	return img, err
}

// present is img seen for the host's platform when the store holds that
// platform's manifest, else for the first platform it holds: an image
// pulled for another platform than the host's still shows its size and
// configuration.
func present(ctx context.Context, client *containerd.Client, img containerd.Image) containerd.Image {
	cs := img.ContentStore()
	if _, err := images.Manifest(ctx, cs, img.Target(), img.Platform()); err == nil {
		return img
	}
	ps, err := images.Platforms(ctx, cs, img.Target())
	if err != nil {
		return img
	}
	for _, p := range ps {
		m := platforms.OnlyStrict(p)
		if _, err := images.Manifest(ctx, cs, img.Target(), m); err == nil {
			return containerd.NewImageWithPlatform(client, img.Metadata(), m)
		}
	}
	return img
}

func newImagesLsCommand(g *globalOptions) *cobra.Command {
	var (
		quiet bool
		fltrs []string
	)
	cmd := &cobra.Command{
		Use:   "ls [-q] [--filter FILTER]...",
		Short: "List the images of the namespace",
		Long: `List the images of the namespace: name, type, digest, full size (target,
manifest, config and layers of the host's platform) and the platforms
of the target.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				imgs, err := client.ListImages(ctx, fltrs...)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if quiet {
					for _, i := range imgs {
						fmt.Fprintln(out, i.Name())
					}
					return nil
				}
				t := newTable(out, "REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS")
				for _, i := range imgs {
					i = present(ctx, client, i)
					size := "-"
					if n, err := i.Size(ctx); err == nil {
						size = humanSize(n)
					}
					var ps []string
					if pl, err := images.Platforms(ctx, i.ContentStore(), i.Target()); err == nil {
						for _, p := range pl {
							ps = append(ps, platforms.Format(p))
						}
					}
					plat := strings.Join(ps, ",")
					if plat == "" {
						plat = "-"
					}
					t.row(i.Name(), i.Target().MediaType, i.Target().Digest.String(), size, plat)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print names only")
	cmd.Flags().StringArrayVar(&fltrs, "filter", nil, "list only images matching `FILTER` (fields name, target.digest, target.mediatype, labels.KEY)")
	return cmd
}

func newImagesRmCommand(g *globalOptions) *cobra.Command {
	var sync bool
	cmd := &cobra.Command{
		Use:   "rm [--sync] REF...",
		Short: "Remove image records",
		Long: `Remove the image records REF... and print each name removed. Their content
and snapshots stay until a garbage collection (dctr gc) finds nothing else
keeps them; with --sync, one runs before dctr returns, and its summary is
printed last ("gc: removed ...").`,
		Args: minArgs(1, "REF..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				err := each(cmd, args, func(name string) error {
					img, err := getImage(ctx, client, name)
					if err != nil {
						return err
					}
					if err := client.ImageService().Delete(ctx, img.Name()); err != nil {
						return err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), img.Name())
					return err
				})
				if sync {
					return syncGC(ctx, cmd, client, err)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&sync, "sync", false, "collect garbage before returning")
	return cmd
}

func newImagesTagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SRC DST...",
		Short: "Give an image more names",
		Long:  `Name the target of the image SRC also DST..., replacing what those names held. Names are normalised as references are.`,
		Args:  minArgs(2, "SRC DST..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			var dsts []string
			for _, a := range args[1:] {
				ref, err := remotes.ParseRef(a)
				if err != nil {
					return err
				}
				dsts = append(dsts, ref.String())
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				src, err := getImage(ctx, client, args[0])
				if err != nil {
					return err
				}
				is := client.ImageService()
				return each(cmd, dsts, func(dst string) error {
					rec := images.Image{Name: dst, Target: src.Target(), Labels: src.Labels()}
					_, err := is.Create(ctx, rec)
					if errdefs.IsAlreadyExists(err) {
						_, err = is.Update(ctx, rec, "target")
					}
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), dst)
					return err
				})
			})
		},
	}
}

func newImagesInspectCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect REF",
		Short: "Show an image record and its configuration as JSON",
		Args:  exactArgs(1, "REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				img, err := getImage(ctx, client, args[0])
				if err != nil {
					return err
				}
				img = present(ctx, client, img)
				out := struct {
					images.Image
					Size   int64 `json:"size,omitempty"`
					Config any   `json:"config,omitempty"`
				}{Image: img.Metadata()}
				if n, err := img.Size(ctx); err == nil {
					out.Size = n
				}
				if cfg, err := img.Config(ctx); err == nil {
					out.Config = cfg
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			})
		},
	}
}
