#!/usr/bin/env bash
# One process per run: "dctr run --rm IMAGE ID /bin/true" against
# "runc run" of an equivalent bundle, side by side, in the same run.
#
#   bench/run-vs-runc.sh [RUNS]      (default 100; needs root, runc, umoci,
#                                     busybox-static, jq, go)
#
# The image: a static busybox (Debian's busybox-static) with /bin/true,
# made into an OCI layout by umoci and imported into a fresh dctr root once.
# The bundle: the spec dctr generates for the same image and command (taken
# from a container dctr made, so namespaces, mounts, capabilities, masked
# paths and rlimits are the same), its root the same tree unpacked by umoci.
#
# What each run does:
#   dctr  one process: opens the root, makes the container (a new overlay
#         snapshot, the spec from the image config), mounts its rootfs,
#         creates and starts the task, waits for it, deletes the task (its
#         cgroup and state, the mount) and the container with its snapshot.
#   runc  one process: creates, starts and waits for the container from the
#         bundle, then deletes it (runc run without -d deletes on exit).
# The tools alternate run by run; the table gives the median, p90 and p99 of
# the wall times, in ms, and dctr's median over runc's.
#
# Env: DCTR, a dctr binary to use instead of building one from this tree.
set -euo pipefail
runs=${1:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "needs root (containers)" >&2; exit 1; }
for tool in runc umoci jq; do
	command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y runc umoci jq)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "needs a static /bin/busybox (apt-get install -y busybox-static)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/dctr-runbench.XXXXXX)
cleanup() {
	# A run that failed half-way may leave its container: remove it.
	runc --root "$work/runc-state" delete -f bench-runc >/dev/null 2>&1 || true
	if [ -n "${dctr:-}" ] && [ -x "$dctr" ]; then
		"$dctr" --root "$work/root" --state "$work/run/state" tasks rm -f bench-dctr >/dev/null 2>&1 || true
		"$dctr" --root "$work/root" --state "$work/run/state" containers rm bench-dctr >/dev/null 2>&1 || true
	fi
	if findmnt -rn -o TARGET | grep -q "^$work"; then
		echo "mounts left under $work:" >&2
		findmnt -rn -o TARGET | grep "^$work" | sort -r | xargs -r -n1 umount -l
	fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DCTR:-}" ]; then
	dctr=$DCTR
else
	# Not in a directory above the state directory: libcontainer seals
	# the binary it re-executes with an overlay whose two lower layers are
	# the binary's directory and the task's state directory, and overlayfs
	# refuses nested layers; libcontainer then copies the whole binary
	# into a memfd for every task instead (about 10 ms for dctr's 17 MB).
	mkdir "$work/bin"
	dctr=$work/bin/dctr
	(cd "$here" && go build -o "$dctr" ./cmd/dctr)
fi
d() { "$dctr" --root "$work/root" --state "$work/run/state" "$@"; }

# The image: a static busybox, by umoci.
layout=$work/layout
"$here/bench/busybox-layout.sh" "$layout"
d images import --base-name bench.local/busybox "$layout" >/dev/null
image=$(d images ls -q | head -1)
[ -n "$image" ] || { echo "import made no image" >&2; exit 1; }

# The bundle: dctr's spec for the same image and command, its root the
# tree umoci unpacked.
d run "$image" spec-source /bin/true >/dev/null
d containers info spec-source | jq '.Spec' >"$work/spec.json"
d containers rm spec-source >/dev/null
mkdir -p "$work/bundle"
umoci unpack --image "$layout:bench" "$work/bundle-src" >/dev/null
mv "$work/bundle-src/rootfs" "$work/bundle/rootfs"
jq --arg root "$work/bundle/rootfs" '.root.path = $root' "$work/spec.json" >"$work/bundle/config.json"
[ "$(jq -r '.process.args | join(" ")' "$work/bundle/config.json")" = /bin/true ] || { echo "spec does not run /bin/true" >&2; exit 1; }

# ms CMD...: runs CMD, prints its wall time in ms; fails if CMD fails.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

: >"$work/dctr.us"
: >"$work/runc.us"
# One warm-up each: page cache, binaries.
d run --rm "$image" bench-dctr /bin/true >/dev/null
runc --root "$work/runc-state" run -b "$work/bundle" bench-runc >/dev/null
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 0 ]; then
		ms d run --rm "$image" bench-dctr /bin/true >>"$work/dctr.us"
		ms runc --root "$work/runc-state" run -b "$work/bundle" bench-runc >>"$work/runc.us"
	else
		ms runc --root "$work/runc-state" run -b "$work/bundle" bench-runc >>"$work/runc.us"
		ms d run --rm "$image" bench-dctr /bin/true >>"$work/dctr.us"
	fi
done

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, in ms.
pct() {
	sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; printf "%.1f", a[i]/1000}'
}
printf '%-36s %8s %8s %8s\n' "$runs runs each, wall ms" median p90 p99
printf '%-36s %8s %8s %8s\n' "dctr run --rm IMAGE ID /bin/true" "$(pct "$work/dctr.us" 50)" "$(pct "$work/dctr.us" 90)" "$(pct "$work/dctr.us" 99)"
printf '%-36s %8s %8s %8s\n' "runc run -b BUNDLE ID" "$(pct "$work/runc.us" 50)" "$(pct "$work/runc.us" 90)" "$(pct "$work/runc.us" 99)"
awk -v a="$(pct "$work/dctr.us" 50)" -v b="$(pct "$work/runc.us" 50)" 'BEGIN {printf "dctr/runc (medians): %.2fx (bar: 1.2x)\n", a/b}'
