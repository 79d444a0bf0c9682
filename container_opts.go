package containerd

import (
	"context"
	"fmt"
	"maps"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/images"
	"github.com/daemonless/containerd/oci"
	"github.com/daemonless/containerd/snapshot"
)

// WithImage records the image the container is made from.
func WithImage(i Image) NewContainerOpts {
	return func(_ context.Context, _ *Client, c *containers.Container) error {
		c.Image = i.Name()
		return nil
	}
}

// WithImageName records the image the container is made from by name.
func WithImageName(name string) NewContainerOpts {
	return func(_ context.Context, _ *Client, c *containers.Container) error {
		if err := images.ValidateName(name); err != nil {
			return err
		}
		c.Image = name
		return nil
	}
}

// WithSnapshotter sets the snapshotter of the container's snapshot; the
// client's default otherwise. Give it before the snapshot options.
func WithSnapshotter(name string) NewContainerOpts {
	return func(_ context.Context, _ *Client, c *containers.Container) error {
		if name == "" {
			return fmt.Errorf("snapshotter: empty name: %w", errdefs.ErrInvalidArgument)
		}
		c.Snapshotter = name
		return nil
	}
}

// WithSnapshot uses the existing snapshot key as the container's root
// filesystem.
func WithSnapshot(key string) NewContainerOpts {
	return func(ctx context.Context, client *Client, c *containers.Container) error {
		name := snapshotterOf(client, c)
		if _, err := client.SnapshotService(name).Stat(ctx, key); err != nil {
			return err
		}
		c.Snapshotter, c.SnapshotKey = name, key
		return nil
	}
}

// WithNewSnapshot prepares a writable snapshot key on the image's top
// layer as the container's root filesystem, unpacking the image first if
// it is not unpacked in that snapshotter.
func WithNewSnapshot(key string, i Image, opts ...snapshot.Opt) NewContainerOpts {
	return newSnapshot(key, i, false, opts)
}

// WithNewSnapshotView is WithNewSnapshot for a read-only snapshot.
func WithNewSnapshotView(key string, i Image, opts ...snapshot.Opt) NewContainerOpts {
	return newSnapshot(key, i, true, opts)
}

func newSnapshot(key string, i Image, view bool, opts []snapshot.Opt) NewContainerOpts {
	return func(ctx context.Context, client *Client, c *containers.Container) error {
		name := snapshotterOf(client, c)
		unpacked, err := i.IsUnpacked(ctx, name)
		if err != nil {
			return err
		}
		if !unpacked {
			if err := i.Unpack(ctx, name); err != nil {
				return err
			}
		}
		diffIDs, err := i.RootFS(ctx)
		if err != nil {
			return err
		}
		parent := ""
		if len(diffIDs) > 0 {
			parent = images.ChainID(diffIDs).String()
		}
		sn := client.SnapshotService(name)
		if view {
			_, err = sn.View(ctx, key, parent, opts...)
		} else {
			_, err = sn.Prepare(ctx, key, parent, opts...)
		}
		if err != nil {
			return err
		}
		noteSnapshot(ctx, name, key)
		c.Snapshotter, c.SnapshotKey = name, key
		return nil
	}
}

func snapshotterOf(client *Client, c *containers.Container) string {
	if c.Snapshotter != "" {
		return c.Snapshotter
	}
	return client.DefaultSnapshotter()
}

// WithNewSpec generates the container's spec from oci's defaults and
// opts. Give it after the snapshot options: options that read the root
// filesystem (oci.WithUser) read the container's snapshot.
func WithNewSpec(opts ...oci.SpecOpts) NewContainerOpts {
	return func(ctx context.Context, client *Client, c *containers.Container) error {
		s, err := oci.GenerateSpec(ctx, client, c, opts...)
		if err != nil {
			return err
		}
		c.Spec = s
		return nil
	}
}

// WithSpec sets the container's spec to s, changed by opts.
func WithSpec(s *oci.Spec, opts ...oci.SpecOpts) NewContainerOpts {
	return func(ctx context.Context, client *Client, c *containers.Container) error {
		if s == nil {
			return fmt.Errorf("spec is nil: %w", errdefs.ErrInvalidArgument)
		}
		if err := oci.ApplyOpts(ctx, client, c, s, opts...); err != nil {
			return err
		}
		c.Spec = s
		return nil
	}
}

// WithContainerLabels sets the container's labels.
func WithContainerLabels(labels map[string]string) NewContainerOpts {
	return func(_ context.Context, _ *Client, c *containers.Container) error {
		c.Labels = maps.Clone(labels)
		return nil
	}
}

// UpdateSpec, on Container.Update, changes the stored spec by opts.
func UpdateSpec(opts ...oci.SpecOpts) UpdateContainerOpts {
	return func(ctx context.Context, client *Client, c *containers.Container) error {
		if c.Spec == nil {
			return fmt.Errorf("no spec to update: %w", errdefs.ErrFailedPrecondition)
		}
		return oci.ApplyOpts(ctx, client, c, c.Spec, opts...)
	}
}
