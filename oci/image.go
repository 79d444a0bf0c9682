package oci

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/daemonless/containerd/containers"
)

// WithImageConfig sets the process from the image's configuration, as
// containerd does:
//
//   - args: the image's Entrypoint followed by its Cmd (WithProcessArgs
//     after it replaces them; WithImageConfigArgs replaces the Cmd only);
//   - env: the image's Env merged into the spec's, an image variable
//     replacing one of the same name (so it overrides the default PATH, and
//     WithEnv after it overrides the image); PATH is DefaultPathEnv when
//     neither sets it. Image entries that are not KEY=value are skipped;
//   - cwd: the image's WorkingDir, "/" when it has none (one in /proc or
//     /sys, such as /proc/self/fd/N, is an InvalidArgument error);
//   - user: the image's User resolved as WithUser does, when it has one.
//     When it has none the user is left as it is, and, if the container's
//     root filesystem can be read, its supplementary groups are set from
//     the image's /etc/group as WithAdditionalGIDs does;
//   - the image's StopSignal, when it has one, as the annotation
//     AnnotationStopSignal.
//
// Labels, exposed ports, volumes and health checks of the image are not
// used. A nil image is an InvalidArgument error; errors reading the config
// are returned as they are, wrapped.
func WithImageConfig(image Image) SpecOpts {
	return withImageConfig("WithImageConfig", image, nil)
}

// WithImageConfigArgs is WithImageConfig with args in place of the image's
// Cmd when args is not empty: the process runs the image's Entrypoint
// followed by args.
func WithImageConfigArgs(image Image, args []string) SpecOpts {
	return withImageConfig("WithImageConfigArgs", image, args)
}

func withImageConfig(opt string, image Image, args []string) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		if image == nil {
			return invalid(opt, "nil image")
		}
		ic, err := image.Config(ctx)
		if err != nil {
			return fmt.Errorf("oci: %s: image config: %w", opt, err)
		}
		config := ic.Config
		setProcess(s)

		env := slices.DeleteFunc(slices.Clone(config.Env), func(e string) bool {
			key, _, set := strings.Cut(e, "=")
			return !set || key == "" || strings.IndexByte(e, 0) >= 0
		})
		s.Process.Env = mergeEnv(s.Process.Env, env)
		if !hasEnv(s.Process.Env, "PATH") {
			s.Process.Env = append([]string{DefaultPathEnv}, s.Process.Env...)
		}

		cmd := config.Cmd
		if len(args) > 0 {
			cmd = args
		}
		s.Process.Args = append(slices.Clone(config.Entrypoint), cmd...)

		s.Process.Cwd = "/"
		if config.WorkingDir != "" {
			cwd := path.Join("/", config.WorkingDir)
			if err := checkCwd(cwd); err != nil {
				return invalid(opt, "image WorkingDir %q: %v", config.WorkingDir, err)
			}
			s.Process.Cwd = cwd
		}

		if config.StopSignal != "" {
			if err := WithAnnotations(map[string]string{AnnotationStopSignal: config.StopSignal})(ctx, client, c, s); err != nil {
				return err
			}
		}

		if config.User != "" {
			return WithUser(config.User)(ctx, client, c, s)
		}
		if hasRootFS(c, s) {
			return WithAdditionalGIDs(fmt.Sprint(s.Process.User.UID))(ctx, client, c, s)
		}
		return nil
	}
}
