package oci

import (
	"context"
	"fmt"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/containers"
)

// setUser sets the process's identity.
func setUser(s *Spec, r resolvedUser) {
	setProcess(s)
	s.Process.User.UID = r.uid
	s.Process.User.GID = r.gid
	s.Process.User.AdditionalGids = r.gids
}

// WithUser sets the user the process runs as, from a string as Docker's
// --user and an image's User take it: "name", "uid", "name:group",
// "uid:gid", "name:gid" or "uid:group".
//
// Names are looked up in /etc/passwd and /etc/group of the container's root
// filesystem (see the package documentation for how it is read, and how
// safely). A name gives its uid and primary gid; a numeric uid takes the gid
// of its passwd entry, or 0 when it has none; a group replaces the gid. The
// supplementary groups (AdditionalGids) are the primary gid followed by
// every group of /etc/group listing the user's name as a member.
//
// A spec with no names works without a root filesystem to read: the uid,
// the gid given or 0, and the gid as the only supplementary group.
//
// Default: 0:0. An empty part or an ID above 2147483647 is an
// InvalidArgument error, a name missing from the files a NotFound error,
// a name with no root filesystem to look it up in a FailedPrecondition
// error.
func WithUser(user string) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		us, err := parseUserSpec("WithUser", user)
		if err != nil {
			return err
		}
		if !hasRootFS(c, s) {
			if us.needsFiles() {
				return fmt.Errorf("oci: user %q: no root filesystem to look the name up in: %w", user, errdefs.ErrFailedPrecondition)
			}
			setUser(s, userFiles{}.mustResolve(us, user))
			return nil
		}
		return withRootFS(ctx, client, c, s, func(root string) error {
			f, err := readUserFiles(root)
			if err != nil {
				return err
			}
			r, err := f.resolve(us, user)
			if err != nil {
				return err
			}
			setUser(s, r)
			return nil
		})
	}
}

// mustResolve resolves a spec without names, which cannot fail.
func (f userFiles) mustResolve(us userSpec, spec string) resolvedUser {
	r, _ := f.resolve(us, spec)
	return r
}

// WithUserID sets the process's uid to uid and its gid to that of uid's
// entry in the container's /etc/passwd, 0 when it has none, with the
// supplementary groups of that user: WithUser of the decimal uid. Without
// a root filesystem to read, the gid is 0. Default: 0:0. A uid above
// 2147483647 is an InvalidArgument error.
func WithUserID(uid uint32) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		if uid > maxID {
			return invalid("WithUserID", "uid %d out of range 0..%d", uid, maxID)
		}
		return WithUser(strconv.FormatUint(uint64(uid), 10))(ctx, client, c, s)
	}
}

// WithUsername sets the process's user to the user called name in the
// container's /etc/passwd: WithUser of the name.
func WithUsername(name string) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		if _, isID := parseID(name); isID {
			return invalid("WithUsername", "%q is an ID, not a name", name)
		}
		return WithUser(name)(ctx, client, c, s)
	}
}

// WithUIDGID sets the process's uid and gid as given, with the gid as its
// only supplementary group; nothing is looked up. Default: 0:0. An ID above
// 2147483647 is an InvalidArgument error.
func WithUIDGID(uid, gid uint32) SpecOpts {
	return func(_ context.Context, _ Client, _ *containers.Container, s *Spec) error {
		if uid > maxID || gid > maxID {
			return invalid("WithUIDGID", "%d:%d out of range 0..%d", uid, gid, maxID)
		}
		setUser(s, resolvedUser{uid: uid, gid: gid, gids: []uint32{gid}})
		return nil
	}
}

// WithAdditionalGIDs sets the process's supplementary groups to its primary
// gid followed by the groups of the container's /etc/group that list user
// as a member. user is a name, or a uid whose name /etc/passwd gives (none
// when it has no entry). The uid and gid are not changed. Default: none.
// An empty user is an InvalidArgument error, a container with no root
// filesystem to read a FailedPrecondition error.
func WithAdditionalGIDs(user string) SpecOpts {
	return func(ctx context.Context, client Client, c *containers.Container, s *Spec) error {
		us, err := parseUserSpec("WithAdditionalGIDs", user)
		if err != nil {
			return err
		}
		if us.hasGroup {
			return invalid("WithAdditionalGIDs", "user %q: a user, not user:group", user)
		}
		return withRootFS(ctx, client, c, s, func(root string) error {
			f, err := readUserFiles(root)
			if err != nil {
				return err
			}
			name := us.user
			if us.userIsID {
				name = f.nameOf(us.uid)
			}
			setProcess(s)
			s.Process.User.AdditionalGids = f.supplementary(name, s.Process.User.GID)
			return nil
		})
	}
}
