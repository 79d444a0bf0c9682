package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	containerd "github.com/daemonless/containerd"
	"github.com/daemonless/containerd/images"
)

func newImagesImportCommand(g *globalOptions) *cobra.Command {
	var base string
	cmd := &cobra.Command{
		Use:   "import [--base-name NAME] FILE|DIR|-",
		Short: "Import images from an OCI layout or a docker-archive",
		Long: `Import the images of an OCI image layout (a tar, or a directory) or of a
docker-archive ("docker save"), from FILE, DIR or standard input ("-").
Every blob is checked against its digest; image records are stored only
once their content is complete. Prints the names imported.`,
		Args: exactArgs(1, "FILE|DIR|-"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []containerd.ImportOpt
			if base != "" {
				opts = append(opts, containerd.WithImportBaseName(base))
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				imported, err := importFrom(ctx, cmd, client, args[0], opts)
				if err != nil {
					return err
				}
				for _, img := range imported {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", img.Name, img.Target.Digest)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&base, "base-name", "", "repository `NAME` for entries named by a bare tag")
	return cmd
}

// importFrom imports from a directory, a file, or standard input ("-").
func importFrom(ctx context.Context, cmd *cobra.Command, client *containerd.Client, src string, opts []containerd.ImportOpt) ([]images.Image, error) {
	if src == "-" {
		return client.Import(ctx, cmd.InOrStdin(), opts...)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return client.ImportDir(ctx, src, opts...)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return client.Import(ctx, f, opts...)
}

func newImagesExportCommand(g *globalOptions) *cobra.Command {
	var (
		format   string
		platform string
	)
	cmd := &cobra.Command{
		Use:   "export [--format oci|docker] [--platform P] OUT REF...",
		Short: "Export images as an OCI layout or a docker-archive",
		Long: `Export the images REF... to OUT: a tar file ("-" for standard output), or,
when OUT is an existing directory, an OCI layout directory. --format docker
adds a docker manifest.json (a docker-archive, as "docker save" writes).`,
		Args: minArgs(2, "OUT REF..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []containerd.ExportOpt
			switch format {
			case "oci":
			case "docker":
				opts = append(opts, containerd.WithExportFormat(containerd.FormatDocker))
			default:
				return usageError{fmt.Errorf("--format %q: want oci or docker", format)}
			}
			if platform != "" {
				opts = append(opts, containerd.WithExportPlatform(platform))
			}
			return g.withClient(cmd, func(ctx context.Context, client *containerd.Client) error {
				for _, name := range args[1:] {
					img, err := getImage(ctx, client, name)
					if err != nil {
						return err
					}
					opts = append(opts, containerd.WithExportImage(img.Name()))
				}
				out := args[0]
				if out == "-" {
					return client.Export(ctx, cmd.OutOrStdout(), opts...)
				}
				if fi, err := os.Stat(out); err == nil && fi.IsDir() {
					return client.ExportDir(ctx, out, opts...)
				}
				return writeFileAtomic(out, func(w io.Writer) error { return client.Export(ctx, w, opts...) })
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "oci", "archive `FORMAT`: oci or docker")
	cmd.Flags().StringVar(&platform, "platform", "", "export only `PLATFORM`'s manifest of an index")
	return cmd
}

// writeFileAtomic writes path through a temporary file in its directory,
// renamed into place only when write succeeds: a failed export leaves no
// half-written archive.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
