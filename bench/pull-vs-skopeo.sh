#!/usr/bin/env bash
# Pull of a realistic three-layer image (debootstrap minbase bookworm, a
# whiteout layer, the Go source tree; see bench/build-image.sh) from a
# loopback registry (Debian's docker-registry): "dctr images pull" (content
# only: this dctr does not unpack yet) against "skopeo copy docker:// → oci:",
# then the re-pull of an image already complete in the store.
#
#   bench/pull-vs-skopeo.sh [RUNS]        (default 3; needs docker-registry, skopeo)
#
# Env: IMAGE_DIR (default /var/tmp/dctr-bench-image), the OCI layout cache
# build-image.sh fills once (debootstrap is slow; reused afterwards).
#
# Fairness: both read the same registry, which holds the image pushed once by
# skopeo; each measurement starts with an empty dctr root or an empty oci:
# destination, and a fresh HOME (skopeo's blob-info cache can't help; dctr
# reads no user config: DCTR_HOSTS_DIR is an empty dir); the order of the two
# alternates between runs. Neither unpacks, so both only fetch and store
# blobs (skopeo keeps the layers as they are, no recompression: oci: takes
# gzip layers).
set -euo pipefail
runs=${1:-3}
repulls=${REPULLS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
image_dir=${IMAGE_DIR:-/var/tmp/dctr-bench-image}
for tool in docker-registry skopeo curl python3 go; do
	command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y docker-registry skopeo curl python3; go for building dctr)" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/dctr-bench.XXXXXX)
reg_pid=
stop_registry() {
	if [ -n "$reg_pid" ]; then
		kill "$reg_pid" 2>/dev/null || true
		wait "$reg_pid" 2>/dev/null || true
		reg_pid=
	fi
}
cleanup() {
	stop_registry
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/bench/build-image.sh" "$image_dir" >&2
echo "building dctr in $work" >&2
(cd "$here" && go build -o "$work/dctr" ./cmd/dctr)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/reg"
# start_registry LEVEL: (re)starts the registry on the same storage; at
# "info" it also writes an access log line per request to $work/registry.log.
start_registry() {
	local level=$1 accesslog=true
	[ "$level" = info ] && accesslog=false
	stop_registry
	cat > "$work/registry.yml" <<YAML
version: 0.1
log:
  level: $level
  accesslog: {disabled: $accesslog}
storage:
  filesystem: {rootdirectory: $work/reg}
http: {addr: 127.0.0.1:$port}
YAML
	docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && return; sleep 0.05; done
	echo "registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1
}
start_registry error
ref=127.0.0.1:$port/bench/image:bench
echo "pushing $image_dir:bench to $ref" >&2
HOME=$(mktemp -d "$work/home.XXXX") skopeo copy --quiet --dest-tls-verify=false "oci:$image_dir:bench" "docker://$ref"

export DCTR_HOSTS_DIR=$work/hosts.d
mkdir -p "$DCTR_HOSTS_DIR"
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
# want: the blobs of the image (manifest, config, layers) as digests, one a line.
want=$(python3 - "$image_dir" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench"][0]
man = json.load(open(os.path.join(d, "blobs", *m["digest"].split(":", 1))))
print("\n".join(sorted([m["digest"], man["config"]["digest"]] + [l["digest"] for l in man["layers"]])))
PY
)
# check_blobs DIR: DIR/blobs/sha256 (an OCI layout or a dctr root's content
# store, wherever it sits below DIR) holds every blob of the image.
check_blobs() {
	local d missing=0
	for d in $want; do
		[ -n "$(find "$1" -type f -name "${d#sha256:}" -print -quit)" ] || { echo "$2: missing blob $d under $1" >&2; missing=1; }
	done
	return $missing
}

dctr() { HOME=$dctr_home "$work/dctr" --root "$1" images pull "$ref" >/dev/null 2>"$work/dctr.err" || { echo "dctr images pull failed:" >&2; cat "$work/dctr.err" >&2; exit 1; }; }
run_dctr() {
	local root; root=$(mktemp -d "$work/root.XXXX"); rmdir "$root"
	dctr_home=$(mktemp -d "$work/home.XXXX")
	sync
	local t0; t0=$(now)
	dctr "$root"
	dctr_ms+=("$(ms "$t0" "$(now)")")
	check_blobs "$root" dctr
	last_root=$root
}
run_skopeo() {
	local dst; dst=$(mktemp -d "$work/oci.XXXX")
	local home; home=$(mktemp -d "$work/home.XXXX")
	sync
	local t0; t0=$(now)
	HOME=$home skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$dst:bench"
	skopeo_ms+=("$(ms "$t0" "$(now)")")
	check_blobs "$dst" skopeo
	rm -rf "$dst" "$home"
}
dctr_ms=(); skopeo_ms=(); last_root=; dctr_home=
for i in $(seq "$runs"); do
	if (( i % 2 )); then run_dctr; run_skopeo; else run_skopeo; run_dctr; fi
	echo "run $i: dctr ${dctr_ms[-1]} ms, skopeo ${skopeo_ms[-1]} ms" >&2
	# Keep the last root for the re-pulls; drop the others.
	for r in "$work"/root.*; do [ "$r" = "$last_root" ] || rm -rf "$r"; done
done

# Re-pull of the complete image on the last root.
re_ms=()
for _ in $(seq "$repulls"); do
	t0=$(now); dctr "$last_root"; re_ms+=("$(ms "$t0" "$(now)")")
done
# One more, counted: registry at log level info, with its access log.
start_registry info
before=$(wc -l < "$work/registry.log")
dctr "$last_root"
sleep 0.2
reqs=$(tail -n +"$((before + 1))" "$work/registry.log" | grep -cE '"(HEAD|GET|POST|PUT|PATCH|DELETE) /v2/' || true)
req_lines=$(tail -n +"$((before + 1))" "$work/registry.log" | grep -E '"(HEAD|GET|POST|PUT|PATCH|DELETE) /v2/' | sed -E 's/.*"((HEAD|GET|POST|PUT|PATCH|DELETE) [^ ]+)[^"]*" ([0-9]+).*/\1 → \3/' || true)

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${dctr_ms[@]}"); s=$(median "${skopeo_ms[@]}"); r=$(median "${re_ms[@]}")
csize=$(python3 - "$image_dir" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench"][0]
man = json.load(open(os.path.join(d, "blobs", *m["digest"].split(":", 1))))
print(round(sum(l["size"] for l in man["layers"]) / 1e6))
PY
)
printf '\n| pull of a 3-layer image (%s MB compressed), loopback docker-registry | median ms | runs (ms) |\n|---|---|---|\n' "$csize"
printf '| dctr images pull (content only) | %s | %s |\n' "$d" "${dctr_ms[*]}"
printf '| skopeo copy docker:// → oci: | %s | %s |\n' "$s" "${skopeo_ms[*]}"
printf '| dctr images pull, image complete (re-pull ×%d) | %s | %s |\n' "$repulls" "$r" "${re_ms[*]}"
awk -v d="$d" -v s="$s" 'BEGIN { printf "\ndctr / skopeo = %.2fx (bar: <= 1.20x)\n", d / s }'
printf 're-pull median %s ms (bar: < 50 ms), %s registry request(s) (bar: 1 HEAD):\n' "$r" "$reqs"
if [ -n "$req_lines" ]; then printf '%s\n' "$req_lines" | sed 's/^/  /'; fi
