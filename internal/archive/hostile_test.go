package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// TestHostileLayers applies layers built to escape the target and checks
// that each fails or is kept inside, and that nothing next to the target
// changed: content, mode, owner, link count, times and xattrs of every
// sentinel.
func TestHostileLayers(t *testing.T) {
	type tc struct {
		name string
		// ents builds the layer; sb.out is the absolute path of a directory
		// of sentinels outside the target.
		ents func(sb *sandbox) []ent
		// wantErr is the error expected, "" if the apply must succeed, "*"
		// if either is fine (the layer is sanitized or refused).
		wantErr string
		opts    []ApplyOpt
		root    bool // needs root (trusted.overlay.opaque)
		// after checks the target once applied.
		after func(t *testing.T, sb *sandbox)
	}
	overlay := []ApplyOpt{WithWhiteouts(WhiteoutOverlay)}
	cases := []tc{{
		name:    "dotdot",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt("../passwd", "pwned", 0o644)} },
		wantErr: `layer entry "../passwd": escapes the root: invalid argument`,
	}, {
		name: "dotdot deep",
		ents: func(sb *sandbox) []ent {
			return []ent{dirEnt("a/", 0o755), fileEnt("a/b/../../../outside/secret", "pwned", 0o644)}
		},
		wantErr: `escapes the root`,
	}, {
		name:    "dotdot dir",
		ents:    func(sb *sandbox) []ent { return []ent{dirEnt("../outside/dir", 0o777)} },
		wantErr: `escapes the root`,
	}, {
		name: "absolute paths stay inside",
		ents: func(sb *sandbox) []ent {
			return []ent{fileEnt(sb.out+"/secret", "pwned", 0o644), fileEnt("/passwd", "pwned", 0o644)}
		},
		after: func(t *testing.T, sb *sandbox) {
			if got := readFile(t, sb.in(abs(sb.out)+"/secret")); got != "pwned" {
				t.Errorf("absolute entry: %q inside the target, want pwned", got)
			}
			if got := readFile(t, sb.in("passwd")); got != "pwned" {
				t.Errorf("/passwd: %q inside the target, want pwned", got)
			}
		},
	}, {
		name: "absolute symlink then write through it",
		ents: func(sb *sandbox) []ent {
			return []ent{dirEnt(abs(sb.out), 0o755), symlinkEnt("a", sb.out), fileEnt("a/secret", "pwned", 0o644), fileEnt("a/new", "new", 0o644)}
		},
		after: func(t *testing.T, sb *sandbox) {
			if got := readFile(t, sb.in(abs(sb.out)+"/secret")); got != "pwned" {
				t.Errorf("a/secret landed at %q, want it inside the target", got)
			}
			if !exists(sb.in(abs(sb.out) + "/new")) {
				t.Errorf("a/new is not inside the target")
			}
		},
	}, {
		name:    "absolute symlink to a missing directory",
		ents:    func(sb *sandbox) []ent { return []ent{symlinkEnt("a", sb.out), fileEnt("a/secret", "pwned", 0o644)} },
		wantErr: "*",
	}, {
		name: "symlink dotdot chain",
		ents: func(sb *sandbox) []ent {
			return []ent{
				symlinkEnt("up", ".."), fileEnt("up/escape", "x", 0o644),
				symlinkEnt("b", "c"), symlinkEnt("c", "up/../.."), fileEnt("b/escape2", "x", 0o644),
				dirEnt("d/e/", 0o755), symlinkEnt("d/e/f", "../../../../../../../../"+abs(sb.base)), fileEnt("d/e/f/passwd", "pwned", 0o644),
			}
		},
		wantErr: "*",
		after: func(t *testing.T, sb *sandbox) {
			if !exists(sb.in("escape")) || !exists(sb.in("escape2")) {
				t.Errorf("up/escape, b/escape2: not written at the root of the target")
			}
		},
	}, {
		name: "symlink loop",
		ents: func(sb *sandbox) []ent {
			return []ent{symlinkEnt("l1", "l2"), symlinkEnt("l2", "l1"), fileEnt("l1/x", "x", 0o644)}
		},
		wantErr: "*",
	}, {
		name:    "hardlink to an absolute path outside",
		ents:    func(sb *sandbox) []ent { return []ent{linkEnt("h", sb.out+"/secret")} },
		wantErr: `layer entry "h": hard link target`,
	}, {
		name:    "hardlink dotdot",
		ents:    func(sb *sandbox) []ent { return []ent{linkEnt("h", "../outside/secret")} },
		wantErr: `escapes the root: invalid argument`,
	}, {
		name: "hardlink through a symlinked directory",
		ents: func(sb *sandbox) []ent {
			return []ent{symlinkEnt("d", sb.out), symlinkEnt("e", "../.."+sb.out), linkEnt("h", "d/secret"), linkEnt("h2", "e/secret")}
		},
		wantErr: "not found",
	}, {
		name: "hardlink to a symlink pointing outside, then written",
		ents: func(sb *sandbox) []ent {
			return []ent{
				symlinkEnt("s", sb.out+"/secret"), linkEnt("h", "s"),
				fileEnt("h", "pwned", 0o644), fileEnt("s", "pwned2", 0o644),
			}
		},
		after: func(t *testing.T, sb *sandbox) {
			if got := readFile(t, sb.in("h")); got != "pwned" {
				t.Errorf("h = %q, want pwned", got)
			}
			if got := readFile(t, sb.in("s")); got != "pwned2" {
				t.Errorf("s = %q, want pwned2", got)
			}
		},
	}, {
		name: "hardlink to a symlink in overlay mode",
		ents: func(sb *sandbox) []ent {
			return []ent{symlinkEnt("s", sb.out+"/secret"), linkEnt("h", "s"), fileEnt("h", "pwned", 0o644)}
		},
		opts: overlay,
	}, {
		name: "file over a symlink, chmod and chown through it",
		ents: func(sb *sandbox) []ent {
			return []ent{
				symlinkEnt("f", sb.out+"/secret"), fileEnt("f", "pwned", 0o777).with(func(h *tar.Header) { h.Uid = 1234 }),
				symlinkEnt("g", sb.out+"/secret").with(func(h *tar.Header) { h.Uid, h.Gid = 4321, 4321 }),
				symlinkEnt("dl", sb.out+"/dir"), dirEnt("dl", 0o777),
			}
		},
	}, {
		name: "directory replaced by a symlink before its mode is set",
		ents: func(sb *sandbox) []ent {
			return []ent{dirEnt("a/", 0o777), fileEnt("a/f", "x", 0o644), symlinkEnt("a", sb.out+"/dir")}
		},
	}, {
		name: "dir then symlink to the root then write",
		ents: func(sb *sandbox) []ent {
			return []ent{
				dirEnt("a/", 0o755), fileEnt("a/f", "x", 0o644), symlinkEnt("a", "/"), fileEnt("a/x", "x", 0o644),
				dirEnt("b/", 0o755), fileEnt("b/f", "x", 0o644), symlinkEnt("b", "../.."), fileEnt("b/passwd", "pwned", 0o644),
				dirEnt("c/", 0o755), symlinkEnt("c", sb.out), fileEnt("c/secret", "pwned", 0o644),
			}
		},
		wantErr: "*", // c/secret: c leads nowhere inside
		after: func(t *testing.T, sb *sandbox) {
			if !exists(sb.in("x")) || readFile(t, sb.in("passwd")) != "pwned" {
				t.Errorf("a/x, b/passwd: not written at the root of the target")
			}
		},
	}, {
		name:    "whiteout dot",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt("a/.wh..", "", 0o644)} },
		wantErr: `whiteout of "."`,
	}, {
		name:    "whiteout dotdot",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt(".wh...", "", 0o644)} },
		wantErr: `whiteout of ".."`,
	}, {
		name:    "whiteout empty",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt("x/.wh.", "", 0o644)} },
		wantErr: `whiteout of ""`,
	}, {
		name:    "whiteout above the root",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt("../.wh.outside", "", 0o644)} },
		wantErr: `escapes the root`,
	}, {
		name: "whiteout through symlinks",
		ents: func(sb *sandbox) []ent {
			return []ent{
				symlinkEnt("a", sb.out), fileEnt("a/.wh.secret", "", 0o644),
				symlinkEnt("b", ".."), fileEnt("b/.wh.outside", "", 0o644), fileEnt("b/.wh.passwd", "", 0o644),
				symlinkEnt("c", "../../"), fileEnt("c/.wh..wh..opq", "", 0o644),
			}
		},
	}, {
		name: "whiteout through symlinks, overlay",
		ents: func(sb *sandbox) []ent {
			return []ent{
				symlinkEnt("b", ".."), fileEnt("b/.wh.outside", "", 0o644), fileEnt("b/.wh..wh..opq", "", 0o644),
				symlinkEnt("c", sb.out+"/dir"), fileEnt("c/.wh.inner", "", 0o644),
			}
		},
		opts:    overlay,
		wantErr: "*",
		root:    true,
	}, {
		name:    "dot as a symlink",
		ents:    func(sb *sandbox) []ent { return []ent{symlinkEnt(".", sb.out), fileEnt("secret", "x", 0o644)} },
		wantErr: `layer entry ".": would replace the root: invalid argument`,
	}, {
		name:    "dot slash as a symlink",
		ents:    func(sb *sandbox) []ent { return []ent{symlinkEnt("./", "/")} },
		wantErr: `would replace the root`,
	}, {
		name:    "dot as a file",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt(".", "x", 0o644)} },
		wantErr: `would replace the root`,
	}, {
		name:    "dot as a hardlink",
		ents:    func(sb *sandbox) []ent { return []ent{fileEnt("f", "x", 0o644), linkEnt("/", "f")} },
		wantErr: `would replace the root`,
	}, {
		name:    "hardlink to the root",
		ents:    func(sb *sandbox) []ent { return []ent{linkEnt("h", "./")} },
		wantErr: `hard link to the root`,
	}, {
		name:    "hardlink to a directory",
		ents:    func(sb *sandbox) []ent { return []ent{dirEnt("d", 0o755), linkEnt("h", "d")} },
		wantErr: `hard link to directory "d"`,
	}, {
		name: "overlay xattrs from the layer",
		ents: func(sb *sandbox) []ent {
			return []ent{dirEnt("d", 0o755).with(func(h *tar.Header) {
				h.PAXRecords = map[string]string{
					"SCHILY.xattr.trusted.overlay.opaque":   "y",
					"SCHILY.xattr.trusted.overlay.redirect": "/etc",
					"SCHILY.xattr.user.overlay.opaque":      "y",
				}
			})}
		},
		after: func(t *testing.T, sb *sandbox) {
			buf := make([]byte, 1024)
			n, _ := unix.Llistxattr(sb.in("d"), buf)
			if strings.Contains(string(buf[:n]), "overlay") {
				t.Errorf("overlay xattrs set from the layer: %q", buf[:n])
			}
		},
	}, {
		name: "device nodes",
		ents: func(sb *sandbox) []ent {
			return []ent{nodeEnt("dev/sda", tar.TypeBlock, 8, 0), nodeEnt("dev/mem", tar.TypeChar, 1, 1)}
		},
		after: func(t *testing.T, sb *sandbox) {
			if os.Geteuid() != 0 {
				if exists(sb.in("dev/mem")) {
					t.Errorf("dev/mem made without root")
				}
				return
			}
			if st := lstat(t, sb.in("dev/mem")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 1) {
				t.Errorf("dev/mem: mode %o rdev %x", st.Mode, st.Rdev)
			}
		},
	}, {
		name: "owner out of range",
		ents: func(sb *sandbox) []ent {
			return []ent{fileEnt("f", "", 0o644).with(func(h *tar.Header) { h.Uid = 1 << 32 })}
		},
		wantErr: "out of range",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				requireRoot(t)
			}
			sb := newSandbox(t)
			_, err := applyEnts(t, sb.root, c.opts, c.ents(sb)...)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("Apply = %v, want success", err)
			case c.wantErr == "*":
				if err != nil && !errdefs.IsInvalidArgument(err) {
					t.Errorf("Apply = %v, want success or a refusal", err)
				}
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("Apply = %v, want an error with %q", err, c.wantErr)
			case c.wantErr != "" && !errdefs.IsInvalidArgument(err):
				t.Errorf("Apply = %v, want errdefs.ErrInvalidArgument", err)
			}
			sb.check(t)
			if c.after != nil {
				c.after(t, sb)
			}
		})
	}
}

// TestHugeHeaders checks that PAX records and GNU long names over 1 MiB
// are refused (archive/tar's limit), not read into memory.
func TestHugeHeaders(t *testing.T) {
	long := strings.Repeat("a", 1<<20+1)
	for name, meta := range map[string][]byte{
		"pax record":    rawEntry(t, tar.TypeXHeader, []byte(fmt.Sprintf("%d comment=%s\n", len(long)+len(" comment=\n")+7, long))),
		"gnu long name": rawEntry(t, tar.TypeGNULongName, []byte(long)),
	} {
		t.Run(name, func(t *testing.T) {
			sb := newSandbox(t)
			layer := append(meta, tarOf(t, fileEnt("f", "x", 0o644))...)
			_, err := Apply(context.Background(), sb.root, bytes.NewReader(layer))
			if !errors.Is(err, tar.ErrFieldTooLong) || !errdefs.IsInvalidArgument(err) {
				t.Errorf("Apply = %v, want archive/tar.ErrFieldTooLong and invalid argument", err)
			}
			sb.check(t)
		})
	}
}

// rawEntry returns a tar entry of type typ holding body, which archive/tar
// would not write (a meta entry over its limits).
func rawEntry(t testing.TB, typ byte, body []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "meta", Size: int64(len(body)), Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Flush()
	raw := b.Bytes()
	raw[156] = typ
	copy(raw[148:156], "        ")
	sum := 0
	for _, c := range raw[:512] {
		sum += int(c)
	}
	copy(raw[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return raw
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readBound is how much of a hostile stream the applier may read before
// failing: the allowed tail plus what the reading goroutine has in flight.
const readBound = MaxTrailingData + (chunks+1)*chunkSize + readBufferSize

// TestBombs checks that streams that are not a layer fail after reading a
// bounded part of them.
func TestBombs(t *testing.T) {
	const gib = 1 << 30

	// One gzip member of 64 MiB of zeros, repeated: 1 GiB uncompressed
	// from 1 MiB of gzip, made in a few milliseconds.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := io.Copy(zw, io.LimitReader(zeros{}, 64<<20)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	gzipBomb := bytes.Repeat(member.Bytes(), gib/(64<<20))

	random := make([]byte, 8<<20)
	rand.Read(random)
	var gzRandom bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&gzRandom, gzip.BestSpeed)
	zw.Write(random)
	zw.Close()

	for _, c := range []struct {
		name    string
		stream  func() io.Reader
		size    int64 // of the stream, if bounded
		wantErr string
	}{
		{"zeros", func() io.Reader { return io.LimitReader(zeros{}, gib) }, gib, "after the end of the tar archive"},
		{"gzip bomb", func() io.Reader { return bytes.NewReader(gzipBomb) }, int64(len(gzipBomb)), "after the end of the tar archive"},
		{"random", func() io.Reader { return bytes.NewReader(random) }, int64(len(random)), "not a valid tar stream"},
		{"gzipped random", func() io.Reader { return bytes.NewReader(gzRandom.Bytes()) }, int64(gzRandom.Len()), "not a valid tar stream"},
		{"tar then garbage", func() io.Reader {
			return io.MultiReader(bytes.NewReader(tarOf(t, fileEnt("f", "x", 0o644))), io.LimitReader(zeros{}, gib))
		}, gib, "after the end of the tar archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := newSandbox(t)
			cr := &countingReader{r: c.stream()}
			_, err := ApplyLayer(context.Background(), sb.root, cr)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errdefs.IsInvalidArgument(err) {
				t.Errorf("ApplyLayer = %v, want an invalid argument error with %q", err, c.wantErr)
			}
			if cr.n > readBound || cr.n == c.size && c.size > readBound {
				t.Errorf("ApplyLayer read %d bytes of %d before failing, want at most %d", cr.n, c.size, readBound)
			}
			sb.check(t)
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestZstdWindowLimit checks that a zstd frame asking for a window over
// MaxZstdWindow is refused before anything is allocated for it.
func TestZstdWindowLimit(t *testing.T) {
	// A zstd frame header by hand: magic, descriptor (no checksum, no
	// content size, not single segment), window descriptor 2^(10+18) =
	// 256 MiB, then a last raw block of 0 bytes.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3, 0x01, 0x00, 0x00}
	sb := newSandbox(t)
	_, err := ApplyLayer(context.Background(), sb.root, bytes.NewReader(frame))
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) {
		t.Errorf("ApplyLayer(256 MiB window) = %v, want zstd.ErrWindowSizeExceeded", err)
	}
	// The same frame with a window of 2^(10+17) = 128 MiB is fine.
	frame[5] = 17 << 3
	if _, err := ApplyLayer(context.Background(), sb.root, bytes.NewReader(frame)); err != nil {
		t.Errorf("ApplyLayer(128 MiB window) = %v, want success (an empty layer)", err)
	}
	sb.check(t)
}

// TestSymlinkedTargetSubdir checks that an apply over a tree whose
// directories are symlinks planted by an earlier layer stays inside.
func TestSymlinkedTargetSubdir(t *testing.T) {
	sb := newSandbox(t)
	mustApply(t, sb.root, nil, symlinkEnt("etc", sb.out), symlinkEnt("bin", "../../../"+filepath.Base(sb.base)))
	_, err := applyEnts(t, sb.root, nil, fileEnt("etc/secret", "pwned", 0o600), dirEnt("bin/x/", 0o755), fileEnt("bin/x/y", "y", 0o600))
	if err != nil && !errdefs.IsInvalidArgument(err) {
		t.Errorf("Apply = %v, want success or a refusal", err)
	}
	sb.check(t)
}

// TestHostileParents checks that parent layers are only read, and that
// their symlinks are never followed out: a hard link through a lower
// symlink is not found, a copy-up leaves the lower file alone.
func TestHostileParents(t *testing.T) {
	sb := newSandbox(t)
	lower := filepath.Join(sb.base, "lower")
	mustApply(t, sb.base, nil, // lower is next to the target, watched like the sentinels
		dirEnt("lower/", 0o755), symlinkEnt("lower/esc", sb.out), symlinkEnt("lower/up", "../outside"),
		fileEnt("lower/f", "lower", 0o644), symlinkEnt("lower/link", sb.out+"/secret"))
	sb.state(t)
	sb.before = sb.state(t)
	opts := []ApplyOpt{WithWhiteouts(WhiteoutOverlay), WithParents(lower)}
	for _, c := range []struct {
		ents    []ent
		wantErr string
	}{
		{[]ent{linkEnt("h", "esc/secret")}, "not found"},
		{[]ent{linkEnt("h", "up/secret")}, "not found"},
		{[]ent{linkEnt("h", "../outside/secret")}, "escapes the root"},
		{[]ent{linkEnt("h", "f"), fileEnt("f", "pwned", 0o644)}, ""},
		{[]ent{linkEnt("h", "link"), fileEnt("h", "pwned", 0o644)}, ""},
		{[]ent{fileEnt("up/x/y", "y", 0o644), fileEnt("esc/secret", "pwned", 0o644)}, ""},
	} {
		upper := filepath.Join(sb.root, fmt.Sprint(len(c.ents), c.ents[0].hdr.Linkname))
		if err := os.MkdirAll(upper, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := applyEnts(t, upper, opts, c.ents...)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("Apply(%v) = %v, want %q", c.ents[0].hdr.Name, err, c.wantErr)
		}
	}
	sb.check(t)
}
