package oci

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
)

// Limits on the user and group files read from an image, which is
// untrusted.
const (
	// maxUserFileSize is the largest /etc/passwd or /etc/group read.
	maxUserFileSize = 1 << 20
	// maxUserFileLine is the longest line of either.
	maxUserFileLine = 64 << 10
	// maxID is the largest user or group ID taken: IDs are 31-bit, and
	// 4294967295 is the kernel's "no ID".
	maxID = math.MaxInt32
)

// passwdEntry is a line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

// groupEntry is a line of /etc/group: name:password:gid:member,member.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// userFiles are the parsed user and group files of a root filesystem;
// a missing file parses as empty.
type userFiles struct {
	passwd []passwdEntry
	group  []groupEntry
}

// fileLines calls fn with the fields of each line of data that holds an
// entry: not empty, not a comment, not a NIS "+" or "-" line. A line longer
// than maxUserFileLine is an OutOfRange error naming file.
func fileLines(file string, data []byte, fn func(fields []string)) error {
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(line) > maxUserFileLine {
			return fmt.Errorf("oci: %s line %d: longer than %d bytes: %w", file, n, maxUserFileLine, errdefs.ErrOutOfRange)
		}
		l := strings.TrimRight(string(line), "\r")
		if l == "" || l[0] == '#' || l[0] == '+' || l[0] == '-' {
			continue
		}
		fn(strings.Split(l, ":"))
	}
	return nil
}

// parseID parses a decimal user or group ID; ok is false for anything
// else, including IDs above maxID.
func parseID(s string) (uint32, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, false
	}
	return uint32(n), true
}

// parsePasswd parses /etc/passwd, skipping malformed entries.
func parsePasswd(data []byte) ([]passwdEntry, error) {
	var out []passwdEntry
	err := fileLines("/etc/passwd", data, func(f []string) {
		if len(f) < 4 || f[0] == "" {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
		}
	})
	return out, err
}

// parseGroup parses /etc/group, skipping malformed entries.
func parseGroup(data []byte) ([]groupEntry, error) {
	var out []groupEntry
	err := fileLines("/etc/group", data, func(f []string) {
		if len(f) < 3 || f[0] == "" {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.members = append(g.members, m)
				}
			}
		}
		out = append(out, g)
	})
	return out, err
}

// userSpec is a parsed "user[:group]": each part a name or a numeric ID.
type userSpec struct {
	user, group string
	uid, gid    uint32
	// userIsID and groupIsID tell whether the parts are numeric.
	userIsID, groupIsID bool
	// hasGroup tells whether a group was given.
	hasGroup bool
}

// parseUserSpec parses "name", "uid", "name:group", "uid:gid" and the
// mixed forms. An empty part, a number above maxID, or a name holding
// characters /etc/passwd cannot hold, is an InvalidArgument error of opt.
func parseUserSpec(opt, spec string) (userSpec, error) {
	u, g, hasGroup := strings.Cut(spec, ":")
	us := userSpec{user: u, group: g, hasGroup: hasGroup}
	check := func(part, what string) (uint32, bool, error) {
		if part == "" {
			return 0, false, invalid(opt, "user %q: empty %s", spec, what)
		}
		if id, ok := parseID(part); ok {
			return id, true, nil
		}
		if strings.Trim(part, "0123456789") == "" {
			return 0, false, invalid(opt, "user %q: %s ID out of range 0..%d", spec, what, maxID)
		}
		if strings.ContainsAny(part, ":,\n\x00") {
			return 0, false, invalid(opt, "user %q: bad %s name", spec, what)
		}
		return 0, false, nil
	}
	var err error
	if us.uid, us.userIsID, err = check(u, "user"); err != nil {
		return userSpec{}, err
	}
	if hasGroup {
		if us.gid, us.groupIsID, err = check(g, "group"); err != nil {
			return userSpec{}, err
		}
	}
	return us, nil
}

// needsFiles reports whether resolving the spec needs the user files: it
// holds a name.
func (us userSpec) needsFiles() bool {
	return !us.userIsID || (us.hasGroup && !us.groupIsID)
}

// resolvedUser is the process identity a user spec resolves to.
type resolvedUser struct {
	uid, gid uint32
	// gids are the supplementary groups, the primary one first.
	gids []uint32
}

// resolve resolves the spec against the user files, as the runtimes do:
//
//   - a user name must have an entry in /etc/passwd (NotFound otherwise),
//     whose uid and gid it takes;
//   - a numeric uid takes the gid of the first entry with that uid, or 0
//     when there is none;
//   - a group, by name (NotFound when /etc/group has none) or number,
//     replaces that gid;
//   - the supplementary groups are the primary gid followed by every group
//     whose member list names the user, when the user has a name.
func (f userFiles) resolve(us userSpec, spec string) (resolvedUser, error) {
	var r resolvedUser
	name := ""
	if us.userIsID {
		r.uid = us.uid
		if i := slices.IndexFunc(f.passwd, func(p passwdEntry) bool { return p.uid == us.uid }); i >= 0 {
			name, r.gid = f.passwd[i].name, f.passwd[i].gid
		}
	} else {
		i := slices.IndexFunc(f.passwd, func(p passwdEntry) bool { return p.name == us.user })
		if i < 0 {
			return r, fmt.Errorf("oci: user %q: no user %q in the container's /etc/passwd: %w", spec, us.user, errdefs.ErrNotFound)
		}
		name, r.uid, r.gid = us.user, f.passwd[i].uid, f.passwd[i].gid
	}
	if us.hasGroup {
		if us.groupIsID {
			r.gid = us.gid
		} else {
			i := slices.IndexFunc(f.group, func(g groupEntry) bool { return g.name == us.group })
			if i < 0 {
				return r, fmt.Errorf("oci: user %q: no group %q in the container's /etc/group: %w", spec, us.group, errdefs.ErrNotFound)
			}
			r.gid = f.group[i].gid
		}
	}
	r.gids = f.supplementary(name, r.gid)
	return r, nil
}

// supplementary returns gid followed by the groups naming user as a
// member, without duplicates.
func (f userFiles) supplementary(user string, gid uint32) []uint32 {
	gids := []uint32{gid}
	if user == "" {
		return gids
	}
	for _, g := range f.group {
		if slices.Contains(g.members, user) && !slices.Contains(gids, g.gid) {
			gids = append(gids, g.gid)
		}
	}
	return gids
}

// nameOf returns the name of the first user with uid, or "".
func (f userFiles) nameOf(uid uint32) string {
	if i := slices.IndexFunc(f.passwd, func(p passwdEntry) bool { return p.uid == uid }); i >= 0 {
		return f.passwd[i].name
	}
	return ""
}
