#!/usr/bin/env bash
# Builds a realistic three-layer test image as an OCI layout in OUTDIR
# (oci-layout, index.json, blobs/sha256/...), tagged "bench":
#
#   layer 1  debootstrap --variant=minbase bookworm rootfs      (tar+gzip)
#   layer 2  removes /usr/share/doc (whiteout usr/share/.wh.doc)
#            and adds /etc/bench-release                         (tar+gzip)
#   layer 3  the Go source tree $GOSRC (default /usr/local/go/src)
#            at /usr/local/go/src                                (tar+gzip)
#
#   bench/build-image.sh OUTDIR
#
# Env: MIRROR (default: the Debian mirror apt uses, from /etc/apt/sources.list*),
#      SUITE (bookworm), GOSRC (/usr/local/go/src).
# If OUTDIR already holds a complete layout (every blob the index reaches is
# present), nothing is rebuilt: debootstrap is the slow step. Needs root
# (debootstrap), debootstrap, tar, gzip, sha256sum, python3.
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
suite=${SUITE:-bookworm}
gosrc=${GOSRC:-/usr/local/go/src}
for tool in tar gzip sha256sum python3; do
	command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

# complete: oci-layout, index.json with a "bench" manifest, and every blob of
# it (manifest, config, layers) present with the declared size.
complete() {
	python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
def blob(desc):
    p = os.path.join(d, "blobs", *desc["digest"].split(":", 1))
    if not os.path.isfile(p) or os.path.getsize(p) != desc["size"]:
        sys.exit(1)
    return p
try:
    json.load(open(os.path.join(d, "oci-layout")))
    idx = json.load(open(os.path.join(d, "index.json")))
except Exception:
    sys.exit(1)
ms = [m for m in idx.get("manifests", []) if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench"]
if not ms:
    sys.exit(1)
man = json.load(open(blob(ms[0])))
blob(man["config"])
for l in man["layers"]:
    blob(l)
PY
}

# sizes: per layer compressed / uncompressed bytes and file count, from the
# layout alone (so it works on a cached one too).
sizes() {
	python3 - "$1" <<'PY'
import gzip, json, os, sys, tarfile
d = sys.argv[1]
p = lambda dg: os.path.join(d, "blobs", *dg.split(":", 1))
idx = json.load(open(os.path.join(d, "index.json")))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench"][0]
man = json.load(open(p(m["digest"])))
names = ["debootstrap minbase " + os.environ.get("SUITE", "bookworm"), "rm /usr/share/doc + /etc/bench-release", "/usr/local/go/src"]
print(f"image {d}:bench  manifest {m['digest']}")
def mb(n):
    return f"{n/1e6:.1f} MB" if n >= 100000 else f"{n} B"
print(f"| layer | compressed | uncompressed | entries | regular files |")
print(f"|---|---|---|---|---|")
tc = tu = te = tf = 0
for i, l in enumerate(man["layers"]):
    u = e = f = 0
    with gzip.open(p(l["digest"])) as g, tarfile.open(fileobj=g, mode="r|") as t:
        for ti in t:
            e += 1
            if ti.isreg():
                f += 1
    with gzip.open(p(l["digest"])) as g:
        while True:
            b = g.read(1 << 20)
            if not b:
                break
            u += len(b)
    tc += l["size"]; tu += u; te += e; tf += f
    name = names[i] if i < len(names) else str(i + 1)
    print(f"| {i+1} {name} | {mb(l['size'])} | {mb(u)} | {e} | {f} |")
print(f"| total | {mb(tc)} | {mb(tu)} | {te} | {tf} |")
PY
}

if complete "$out"; then
	echo "using cached layout in $out" >&2
	sizes "$out"
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install -y debootstrap)" >&2; exit 1; }
[ -d "$gosrc" ] || { echo "no Go source tree at $gosrc (set GOSRC)" >&2; exit 1; }

# The mirror apt uses: deb822 "URIs:" of a stanza whose Suites has $suite, or
# a one-line "deb URI $suite ...". Security mirrors are skipped.
if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(python3 - "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/* <<'PY' 2>/dev/null || true
import re, sys
suite = sys.argv[1]
for f in sys.argv[2:]:
    try:
        text = open(f).read()
    except Exception:
        continue
    if f.endswith(".sources"):
        for st in re.split(r"\n\s*\n", text):
            kv = {}
            for line in st.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                kv[k.strip().lower()] = v.split()
            if suite in kv.get("suites", []) and "deb" in kv.get("types", ["deb"]):
                for u in kv.get("uris", []):
                    if "security" not in u:
                        print(u); sys.exit(0)
    else:
        for line in text.splitlines():
            w = line.split("#", 1)[0].split()
            w = [x for x in w if not x.startswith("[")]  # options like [arch=amd64] (single word)
            if len(w) >= 3 and w[0] == "deb" and w[2] == suite and "security" not in w[1]:
                print(w[1]); sys.exit(0)
sys.exit(1)
PY
)
fi
[ -n "${MIRROR:-}" ] || { echo "cannot find the Debian mirror for $suite in /etc/apt/sources.list*; set MIRROR" >&2; exit 1; }

work=$(mktemp -d /var/tmp/dctr-build-image.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mtime=@1700000000
tarflags=(--sort=name --mtime="$mtime" --numeric-owner --format=posix
	--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
sha() { sha256sum "$1" | cut -d' ' -f1; }

echo "debootstrap --variant=minbase $suite from $MIRROR (slow)" >&2
debootstrap --variant=minbase "$suite" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
	echo "debootstrap failed:" >&2; tail -30 "$work/debootstrap.log" >&2; exit 1; }
# Runtime state that does not belong in an image.
rm -rf "$work/rootfs"/proc/* "$work/rootfs"/sys/* "$work/rootfs"/dev/* \
	"$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/log/bootstrap.log
# Keep tar from ever meeting sockets/fifos/devices: a layer holds regular files, dirs, links.
find "$work/rootfs" \( -type s -o -type p -o -type b -o -type c \) -delete

mkdir -p "$work/l1" "$work/l2/etc" "$work/l2/usr/share" "$work/l3/usr/local/go"
echo "tar layer 1 (rootfs)" >&2
# Entry names without a "./" prefix, as image builders write them.
(cd "$work/rootfs" && find . -mindepth 1 -print0 | sed -z 's,^\./,,' | LC_ALL=C sort -z |
	tar "${tarflags[@]}" --null --no-recursion -T - -cf "$work/l1.tar")
# Layer 2: whiteout for /usr/share/doc, and a new file.
: > "$work/l2/usr/share/.wh.doc"
printf 'bench image for dctr pull benchmarks\nbase: debian %s minbase\n' "$suite" > "$work/l2/etc/bench-release"
tar -C "$work/l2" "${tarflags[@]}" --no-recursion -cf "$work/l2.tar" etc etc/bench-release usr usr/share usr/share/.wh.doc
echo "tar layer 3 ($gosrc)" >&2
# Parent dirs first (from an empty skeleton), then the tree renamed into place.
tar "${tarflags[@]}" -cf "$work/l3.tar" -C "$work/l3" --no-recursion usr usr/local usr/local/go \
	--recursion -C "$(dirname "$gosrc")" --transform="s,^$(basename "$gosrc"),usr/local/go/src," "$(basename "$gosrc")"

rm -rf "$out"/blobs "$out"/index.json "$out"/oci-layout
mkdir -p "$out/blobs/sha256"
diffids=(); layers=()
for n in 1 2 3; do
	echo "gzip layer $n" >&2
	diffids+=("$(sha "$work/l$n.tar")")
	gzip -n -6 -c "$work/l$n.tar" > "$work/l$n.tgz"
	d=$(sha "$work/l$n.tgz")
	mv "$work/l$n.tgz" "$out/blobs/sha256/$d"
	layers+=("$(printf '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}' "$d" "$(stat -c %s "$out/blobs/sha256/$d")")")
	rm "$work/l$n.tar"
done
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
printf '{"created":"2023-11-14T22:13:20Z","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s","sha256:%s"]},"history":[{"created":"2023-11-14T22:13:20Z","created_by":"debootstrap --variant=minbase %s"},{"created":"2023-11-14T22:13:20Z","created_by":"rm -rf /usr/share/doc; add /etc/bench-release"},{"created":"2023-11-14T22:13:20Z","created_by":"COPY %s /usr/local/go/src"}]}' \
	"$arch" "${diffids[0]}" "${diffids[1]}" "${diffids[2]}" "$suite" "$gosrc" > "$work/config"
config=$(sha "$work/config")
cp "$work/config" "$out/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s,%s,%s]}' \
	"$config" "$(stat -c %s "$work/config")" "${layers[0]}" "${layers[1]}" "${layers[2]}" > "$work/manifest"
manifest=$(sha "$work/manifest")
cp "$work/manifest" "$out/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
# index.json last: its presence (with every blob) marks the layout complete.
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
	"$manifest" "$(stat -c %s "$work/manifest")" "$arch" > "$work/index.json"
mv "$work/index.json" "$out/index.json"
sizes "$out"
