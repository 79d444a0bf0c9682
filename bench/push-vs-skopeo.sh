#!/usr/bin/env bash
# Push of a 500 MB blob to a loopback registry (Debian's docker-registry):
# "dctr content push-object" against "skopeo copy" of an OCI layout holding
# the same blob as its layer, in one run. Prints the medians and the ratio.
#
#   bench/push-vs-skopeo.sh [RUNS]        (default 3; needs docker-registry, skopeo)
#
# Fairness: the layer is a valid gzip declared as such, so skopeo pushes it
# as it is (no recompression); each measurement starts with an empty
# registry and skopeo with an empty blob-info cache (else it would mount
# instead of upload); the order of the two alternates between runs.
set -euo pipefail
runs=${1:-3}
size_mb=${SIZE_MB:-500}
here=$(cd "$(dirname "$0")/.." && pwd)
for tool in docker-registry skopeo curl gzip; do
	command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y docker-registry skopeo curl gzip)" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/dctr-bench.XXXXXX)
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "building dctr and a ${size_mb} MB layer in $work" >&2
(cd "$here" && go build -o "$work/dctr" ./cmd/dctr)
head -c "${size_mb}M" /dev/urandom > "$work/raw"
gzip -1 -c "$work/raw" > "$work/layer"
sha() { sha256sum "$1" | cut -d' ' -f1; }
layer=$(sha "$work/layer"); diffid=$(sha "$work/raw"); lsize=$(stat -c %s "$work/layer")
rm "$work/raw"

oci=$work/oci
mkdir -p "$oci/blobs/sha256"
cp "$work/layer" "$oci/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' "$diffid" > "$work/config"
config=$(sha "$work/config"); csize=$(stat -c %s "$work/config")
cp "$work/config" "$oci/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
	"$config" "$csize" "$layer" "$lsize" > "$work/manifest"
manifest=$(sha "$work/manifest"); msize=$(stat -c %s "$work/manifest")
cp "$work/manifest" "$oci/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
	"$manifest" "$msize" > "$oci/index.json"

export DCTR_ROOT=$work/root DCTR_HOSTS_DIR=$work/hosts.d
mkdir -p "$DCTR_HOSTS_DIR"
"$work/dctr" content ingest --expected-digest "sha256:$layer" layer < "$work/layer" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_registry() {
	[ -n "$reg_pid" ] && { kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; }
	rm -rf "$work/reg"; mkdir -p "$work/reg"
	cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/reg}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$port}
YAML
	docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && return; sleep 0.05; done
	echo "registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1
}
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

run_dctr() {
	start_registry; sync
	local t0; t0=$(now)
	"$work/dctr" content push-object --media-type application/vnd.oci.image.layer.v1.tar+gzip "127.0.0.1:$port/bench/dctr" "sha256:$layer" >/dev/null
	dctr_ms+=("$(ms "$t0" "$(now)")")
}
run_skopeo() {
	start_registry; sync
	local home; home=$(mktemp -d "$work/home.XXXX")
	local t0; t0=$(now)
	HOME=$home skopeo copy --quiet --dest-tls-verify=false "oci:$oci:bench" "docker://127.0.0.1:$port/bench/skopeo:bench"
	skopeo_ms+=("$(ms "$t0" "$(now)")")
}
dctr_ms=(); skopeo_ms=()
for i in $(seq "$runs"); do
	if (( i % 2 )); then run_dctr; run_skopeo; else run_skopeo; run_dctr; fi
	echo "run $i: dctr ${dctr_ms[-1]} ms, skopeo ${skopeo_ms[-1]} ms" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${dctr_ms[@]}"); s=$(median "${skopeo_ms[@]}")
printf '\n| push of a %d MB blob, loopback docker-registry | median ms | runs (ms) |\n|---|---|---|\n' "$((lsize / 1000000))"
printf '| dctr content push-object | %s | %s |\n' "$d" "${dctr_ms[*]}"
printf '| skopeo copy oci: → docker:// | %s | %s |\n' "$s" "${skopeo_ms[*]}"
awk -v d="$d" -v s="$s" 'BEGIN { printf "\ndctr / skopeo = %.2fx (bar: <= 1.00x)\n", d / s }'
