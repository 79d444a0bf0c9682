#!/usr/bin/env bash
# Pull + unpack of a realistic three-layer image (debootstrap minbase
# bookworm, a whiteout layer, the Go source tree; see bench/build-image.sh)
# from a loopback registry (Debian's docker-registry), side by side:
#
#   dctr images pull             unpacks into dctr's overlay snapshotter
#   ctr images pull --plain-http  Debian's containerd 1.6: a private daemon,
#                                 overlayfs snapshotter
#   podman pull                   a private storage, overlay driver
#
# and, for reference, "dctr images pull --no-unpack" (download only).
#
#   bench/unpack-vs-peers.sh [RUNS]        (default 3; needs root, docker-registry,
#                                           skopeo, containerd + ctr, podman, go)
#
# Env: IMAGE_DIR (default /var/tmp/dctr-bench-image), the OCI layout cache
# build-image.sh fills once; DCTR, a dctr binary to use instead of building
# one from this tree.
#
# Fairness: all read the same registry, which holds the image pushed once by
# skopeo; every measurement starts from an empty store (a fresh dctr root; a
# containerd daemon started on a fresh root, its start not counted; a fresh
# podman storage), a fresh HOME and TMPDIR, and an environment holding only
# those and PATH (no user config: dctr gets an empty DCTR_HOSTS_DIR, podman
# empty containers.conf/registries.conf and its own storage.conf). Nothing is
# warmed on purpose; instead the order of the tools rotates between runs.
# Nothing is deleted until the end, and the runs start SETTLE seconds (65)
# after the setup: this machine's ext4 has no journal, and its inode
# allocator then skips, one by one, inodes deleted in the last minutes
# (their inode table blocks still cached), so a tool run right after a tree
# was removed pays for it (tar of one layer: 5.4 s against 1.1 s).
# "sync" runs before each measurement (the previous tool's dirty pages are
# not written back during it) and again after it: the table gives the
# command's time and, apart, the command plus that sync, since the tools
# differ in what they flush themselves; also the minimum (on a shared
# machine the least disturbed run) and the CPU time (user + system) of the
# command's processes, for ctr with the containerd daemon's.
#
# Check: each tool must report success and hold 3 layer snapshots / layers,
# and each unpacked layer directory must list the same entries (path, type,
# mode, owner, size, link count, mtime, symlink target; no mtime for the
# whiteout devices, which get the time of their creation) for every tool.
set -euo pipefail
runs=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
image_dir=${IMAGE_DIR:-/var/tmp/dctr-bench-image}
[ "$(id -u)" = 0 ] || { echo "needs root (overlay mounts, containerd, podman's overlay storage)" >&2; exit 1; }
for tool in docker-registry skopeo curl python3 containerd ctr podman findmnt; do
	command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y docker-registry skopeo curl python3 containerd podman util-linux)" >&2; exit 1; }
done
[ -n "${DCTR:-}" ] || command -v go >/dev/null || { echo "needs go for building dctr (or set DCTR)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/dctr-bench.XXXXXX)
reg_pid=
ctd_pid=
stop_registry() {
	if [ -n "$reg_pid" ]; then
		kill "$reg_pid" 2>/dev/null || true
		wait "$reg_pid" 2>/dev/null || true
		reg_pid=
	fi
}
# stop_pid PID: SIGTERM, then SIGKILL if it has not exited within 10 s.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
stop_containerd() {
	if [ -n "$ctd_pid" ]; then
		stop_pid "$ctd_pid"
		ctd_pid=
	fi
}
# mounts_under DIR: the mount points at or below DIR, deepest first.
mounts_under() {
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r
}
# umount_under DIR: unmounts whatever is mounted below DIR; says so, as no
# tool should leave a mount behind.
umount_under() {
	local m
	for m in $(mounts_under "$1"); do
		echo "warning: left mounted: $m; unmounting" >&2
		umount -R "$m" 2>/dev/null || umount -l "$m" || true
	done
}
cleanup() {
	stop_containerd
	stop_registry
	umount_under "$work"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/bench/build-image.sh" "$image_dir" >&2
if [ -n "${DCTR:-}" ]; then
	install -D "$DCTR" "$work/bin/dctr"
else
	echo "building dctr in $work/bin" >&2
	(cd "$here" && go build -o "$work/bin/dctr" ./cmd/dctr)
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/reg"
cat > "$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: $work/reg}
http: {addr: 127.0.0.1:$port}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$port/v2/" >/dev/null || { echo "registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }
ref=127.0.0.1:$port/bench/image:bench
echo "pushing $image_dir:bench to $ref" >&2
HOME=$(mktemp -d "$work/home.XXXX") skopeo copy --quiet --dest-tls-verify=false "oci:$image_dir:bench" "docker://$ref"

# Let the inodes deleted before this script started age out (see above):
# ext4 without a journal stops avoiding a freed inode 60 s after its
# deletion once its inode table block is written back.
settle=${SETTLE:-65}
echo "settling ${settle}s (files deleted before the run would slow the first tool's file creation)" >&2
sync
sleep "$settle"

# The image's manifest digest, ChainID of its layers, and compressed size.
read -r manifest chain csize < <(python3 - "$image_dir" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
p = lambda dg: os.path.join(d, "blobs", *dg.split(":", 1))
idx = json.load(open(os.path.join(d, "index.json")))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bench"][0]
man = json.load(open(p(m["digest"])))
cfg = json.load(open(p(man["config"]["digest"])))
chain = None
for diff in cfg["rootfs"]["diff_ids"]:
    chain = diff if chain is None else "sha256:" + hashlib.sha256(f"{chain} {diff}".encode()).hexdigest()
print(m["digest"], chain, round(sum(l["size"] for l in man["layers"]) / 1e6))
PY
)
nlayers=3

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
# fail WHAT FILE: the command WHAT failed; print its output and stop.
fail() { echo "$1 failed:" >&2; cat "$2" >&2; exit 1; }
# clean_env DIR CMD...: runs CMD with only PATH, HOME=DIR/home and
# TMPDIR=DIR/tmp (and whatever VAR=VALUE words lead CMD).
clean_env() {
	local d=$1; shift
	mkdir -p "$d/home" "$d/tmp"
	env -i PATH="$PATH" HOME="$d/home" TMPDIR="$d/tmp" "$@"
}
declare -A cmd_ms sync_ms cpu_ms
# proc_cpu PID: the CPU time (user + system) PID used so far, in ms; 0
# without PID.
proc_cpu() {
	if [ -n "$1" ]; then
		sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{print int(($12 + $13) * 1000 / hz)}'
	else
		echo 0
	fi
}
# timed TOOL OUT CMD...: sync, run CMD (stdout and stderr to OUT) and time
# it, then sync again; records for TOOL the time of CMD, the time of CMD and
# that sync, and the CPU time CMD (its processes, and the containerd daemon
# when one runs) used. Returns CMD's status.
timed() {
	local tool=$1 out=$2 t0 t1 c0 rc=0 TIMEFORMAT='%3U %3S'; shift 2
	sync
	c0=$(proc_cpu "$ctd_pid")
	t0=$(now)
	{ time "$@" >"$out" 2>&1 || rc=$?; } 2>"$work/time"
	t1=$(now)
	cpu_ms[$tool]+="$(awk -v d="$(( $(proc_cpu "$ctd_pid") - c0 ))" '{print int(($1 + $2) * 1000) + d}' "$work/time") "
	sync
	cmd_ms[$tool]+="$(ms "$t0" "$t1") "
	sync_ms[$tool]+="$(ms "$t0" "$(now)") "
	return $rc
}

# Layer listings, one file per tool and layer (1 = bottom).
mkdir -p "$work/sig"
# listing DIR: every entry below DIR, one line each, sorted.
listing() {
	(cd "$1" && find . -mindepth 1 \
		\( -type d -printf '%P d %m %U:%G %Ts\n' \) -o \
		\( -type c -printf '%P c %m %U:%G\n' \) -o \
		-printf '%P %y %m %U:%G %s %n %Ts %l\n') | LC_ALL=C sort
}
# check_layers TOOL DIR...: DIR... are TOOL's unpacked layer directories,
# bottom first; compares their listings with those of the first tool checked.
ref_tool=
check_layers() {
	local tool=$1 n=0 d bad=0 counts=(); shift
	[ $# = "$nlayers" ] || { echo "$tool: $# layer directories, want $nlayers: $*" >&2; exit 1; }
	for d in "$@"; do
		n=$((n + 1))
		listing "$d" > "$work/sig/$tool.$n"
		counts+=("$(wc -l < "$work/sig/$tool.$n")")
		if [ -n "$ref_tool" ] && ! cmp -s "$work/sig/$ref_tool.$n" "$work/sig/$tool.$n"; then
			echo "MISMATCH: layer $n unpacked by $tool differs from $ref_tool's (< $ref_tool, > $tool):" >&2
			diff "$work/sig/$ref_tool.$n" "$work/sig/$tool.$n" | head -20 >&2 || true
			bad=1
		fi
	done
	[ -n "$ref_tool" ] || ref_tool=$tool
	layer_entries=${counts[*]}
	[ $bad = 0 ] || mismatches+=("$tool")
}
# lowerdirs: the lowerdir= directories of the mount command on stdin,
# bottom first (overlay lists the top one first).
lowerdirs() {
	sed -n 's/.*lowerdir=\([^, ]*\).*/\1/p' | tr ':' '\n' | tac
}
mismatches=()
layer_entries=

hosts=$work/hosts.d
mkdir -p "$hosts"
# run_dctr unpack|download
run_dctr() {
	local mode=$1; local d=$work/dctr-$mode.$run_no tool=dctr args=() out
	rm -rf "$d"; mkdir -p "$d"
	[ "$mode" = download ] && { tool=dctr-download; args=(--no-unpack); }
	out=$d/pull.out
	dctr_cmd() { clean_env "$d" DCTR_HOSTS_DIR="$hosts" "$work/bin/dctr" --root "$d/root" --state "$d/state" "$@"; }
	timed "$tool" "$out" dctr_cmd images pull --plain-http "${args[@]}" "$ref" || fail "dctr images pull ${args[*]}" "$out"
	grep -q ": $manifest\$" "$out" || fail "dctr images pull ${args[*]} (no \"NAME: $manifest\" line)" "$out"
	local snaps; snaps=$(dctr_cmd snapshots ls -q 2>&1) || fail "dctr snapshots ls" <(echo "$snaps")
	if [ "$mode" = download ]; then
		! grep -q '^unpacked' "$out" || fail "dctr images pull --no-unpack (it unpacked)" "$out"
		[ -z "$snaps" ] || fail "dctr images pull --no-unpack (snapshots made)" <(echo "$snaps")
	else
		grep -q "^unpacked into overlay: $chain\$" "$out" || fail "dctr images pull (no \"unpacked into overlay: $chain\" line)" "$out"
		[ "$(echo "$snaps" | grep -c .)" = "$nlayers" ] || fail "dctr images pull (want $nlayers snapshots)" <(echo "$snaps")
		local mnt; mnt=$(dctr_cmd snapshots view --target /mnt/bench-check bench-check "$chain" 2>&1) || fail "dctr snapshots view" <(echo "$mnt")
		# shellcheck disable=SC2046
		check_layers dctr $(lowerdirs <<<"$mnt")
	fi
	umount_under "$d"
}

# start_containerd DIR: a containerd with its root, state and socket in DIR
# (fresh), only the plugins ctr pull needs; returns once it answers.
start_containerd() {
	local d=$1
	cat > "$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
temp = "$d/tmp"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$d/containerd.sock"
[debug]
  address = ""
[metrics]
  address = ""
TOML
	mkdir -p "$d/tmp"
	containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
	ctd_pid=$!
	for _ in $(seq 400); do
		ctr -a "$d/containerd.sock" version >/dev/null 2>&1 && return
		kill -0 "$ctd_pid" 2>/dev/null || break
		sleep 0.05
	done
	fail "containerd start" "$d/containerd.log"
}
run_ctr() {
	local d=$work/ctr.$run_no
	rm -rf "$d"; mkdir -p "$d"
	start_containerd "$d"
	ctr_cmd() { clean_env "$d" ctr -a "$d/containerd.sock" "$@"; }
	timed ctr "$d/pull.out" ctr_cmd images pull --plain-http --snapshotter overlayfs "$ref" || fail "ctr images pull" "$d/pull.out"
	local snaps; snaps=$(ctr_cmd snapshots --snapshotter overlayfs ls 2>&1 | tail -n +2) || fail "ctr snapshots ls" <(echo "$snaps")
	[ "$(echo "$snaps" | grep -c .)" = "$nlayers" ] || fail "ctr images pull (want $nlayers snapshots)" <(echo "$snaps")
	grep -q "^$chain " <<<"$snaps" || fail "ctr images pull (no snapshot $chain)" <(echo "$snaps")
	local mnt; mnt=$(ctr_cmd snapshots --snapshotter overlayfs view --target /mnt/bench-check bench-check "$chain" 2>&1) || fail "ctr snapshots view" <(echo "$mnt")
	# shellcheck disable=SC2046
	check_layers ctr $(lowerdirs <<<"$mnt")
	stop_containerd
	umount_under "$d"
}

run_podman() {
	local d=$work/podman.$run_no
	rm -rf "$d"; mkdir -p "$d/tmp"
	: > "$d/registries.conf"
	printf '[engine]\nimage_copy_tmp_dir = "%s"\n' "$d/tmp" > "$d/containers.conf"
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$d/root" "$d/runroot" > "$d/storage.conf"
	printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' > "$d/policy.json"
	podman_cmd() {
		clean_env "$d" CONTAINERS_CONF="$d/containers.conf" CONTAINERS_REGISTRIES_CONF="$d/registries.conf" \
			CONTAINERS_STORAGE_CONF="$d/storage.conf" \
			podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/libpod" --storage-driver overlay \
			--cgroup-manager cgroupfs --events-backend none "$@"
	}
	timed podman "$d/pull.out" podman_cmd pull --tls-verify=false --signature-policy "$d/policy.json" "$ref" || fail "podman pull" "$d/pull.out"
	local n; n=$(podman_cmd image inspect --format '{{len .RootFS.Layers}}' "$ref" 2>&1) || fail "podman image inspect" <(echo "$n")
	[ "$n" = "$nlayers" ] || fail "podman pull (want $nlayers layers)" <(echo "$n")
	local dirs; dirs=$(podman_cmd image inspect --format '{{.GraphDriver.Data.LowerDir}} {{.GraphDriver.Data.UpperDir}}' "$ref" 2>&1) ||
		fail "podman image inspect" <(echo "$dirs")
	# shellcheck disable=SC2046
	check_layers podman $(echo "lowerdir=${dirs% *}" | lowerdirs) "${dirs##* }"
	umount_under "$d"
}

tools=(dctr ctr podman dctr-download)
run_tool() {
	case $1 in
	dctr) run_dctr unpack ;;
	dctr-download) run_dctr download ;;
	ctr) run_ctr ;;
	podman) run_podman ;;
	esac
}
for i in $(seq "$runs"); do
	run_no=$i
	# Rotate the order: run i starts with tool i.
	order=()
	for j in "${!tools[@]}"; do order+=("${tools[$(( (i - 1 + j) % ${#tools[@]} ))]}"); done
	line=
	for t in "${order[@]}"; do
		run_tool "$t"
		v=(${cmd_ms[$t]})
		line+="$t ${v[-1]} ms, "
	done
	echo "run $i: ${line%, }" >&2
done
echo "layer entries (bottom first): $layer_entries" >&2

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minimum() { printf '%s\n' "$@" | sort -n | head -1; }
declare -A med med_sync med_cpu mini
for t in "${tools[@]}"; do
	med[$t]=$(median ${cmd_ms[$t]})
	mini[$t]=$(minimum ${cmd_ms[$t]})
	med_sync[$t]=$(median ${sync_ms[$t]})
	med_cpu[$t]=$(median ${cpu_ms[$t]})
done
# What the unpacked layers hold (from the listings): entries, and the bytes
# of their regular files.
read -r entries ubytes < <(cat "$work/sig/$ref_tool".* | awk '{n++} $2 == "f" {b += $5} END {print n, b}')
printf '\n| pull + unpack, 3-layer image (%s MB gzip; unpacked %d entries, %d MB in files), loopback docker-registry |' \
	"$csize" "$entries" "$(( ubytes / 1000000 ))"
for i in $(seq "$runs"); do printf ' run %d ms |' "$i"; done
printf ' median ms | min ms | median ms incl. sync | median CPU ms |\n|---|'
for i in $(seq "$runs"); do printf -- '---|'; done
printf -- '---|---|---|---|\n'
row() {
	local t=$1 label=$2 v
	printf '| %s |' "$label"
	for v in ${cmd_ms[$t]}; do printf ' %s |' "$v"; done
	printf ' %s | %s | %s | %s |\n' "${med[$t]}" "${mini[$t]}" "${med_sync[$t]}" "${med_cpu[$t]}"
}
row dctr "dctr images pull (overlay)"
row ctr "ctr images pull (containerd $(containerd --version | awk '{print $3}'), overlayfs)"
row podman "podman pull ($(podman --version | awk '{print $3}'), overlay)"
row dctr-download "dctr images pull --no-unpack (download only)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
printf '\n| medians | time | time incl. sync | CPU |\n|---|---|---|---|\n'
printf '| dctr / ctr | %s | %s | %s |\n' "$(ratio "${med[dctr]}" "${med[ctr]}")" "$(ratio "${med_sync[dctr]}" "${med_sync[ctr]}")" "$(ratio "${med_cpu[dctr]}" "${med_cpu[ctr]}")"
printf '| dctr / podman | %s | %s | %s |\n' "$(ratio "${med[dctr]}" "${med[podman]}")" "$(ratio "${med_sync[dctr]}" "${med_sync[podman]}")" "$(ratio "${med_cpu[dctr]}" "${med_cpu[podman]}")"
echo
echo "layer entries (bottom first): $layer_entries"
if [ ${#mismatches[@]} = 0 ]; then
	echo "unpacked layers: identical listings for dctr, ctr and podman"
else
	echo "unpacked layers: MISMATCH for ${mismatches[*]} (against $ref_tool; details above on stderr)"
	exit 1
fi
