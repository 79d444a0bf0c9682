#!/usr/bin/env bash
# The exec and hold bars of the task API, in one go:
#
#   exec  execbench: in one long-lived process, an exec of /bin/true in a
#         running container (Exec, Wait, Start, exit, Delete), N times;
#         anchor: "runc exec" of /bin/true in a container runc runs from an
#         equivalent bundle, one runc process per exec.
#   hold  holdbench: 100 tasks running sleep held by one process: its RSS
#         above idle, its threads, and the processes that are not the
#         containers' own (containerd has a shim per container).
#
#   bench/exec-and-hold.sh [EXECS] [TASKS]   (default 300 and 100; needs
#                                             root, runc, umoci, busybox-static, go)
set -euo pipefail
execs=${1:-300}
tasks=${2:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "needs root (containers)" >&2; exit 1; }
command -v runc >/dev/null || { echo "needs runc (apt-get install -y runc)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/dctr-execbench.XXXXXX)
state=/run/dctr-execbench.$$
cleanup() {
	runc --root "$work/runc-state" delete -f bench-runc >/dev/null 2>&1 || true
	if findmnt -rn -o TARGET | grep -q "^$work\|^$state"; then
		findmnt -rn -o TARGET | grep "^$work\|^$state" | sort -r | xargs -r -n1 umount -l
	fi
	rm -rf "$work" "$state"
}
trap cleanup EXIT

# Binaries out of any directory above the state directory (see execbench).
mkdir "$work/bin"
(cd "$here" && go build -o "$work/bin/dctr" ./cmd/dctr && go build -o "$work/bin/execbench" ./bench/execbench &&
	go build -o "$work/bin/holdbench" ./bench/holdbench)
d() { "$work/bin/dctr" --root "$work/root" --state "$state" "$@"; }
"$here/bench/busybox-layout.sh" "$work/layout"
d images import --base-name bench.local/busybox "$work/layout" >/dev/null
image=bench.local/busybox:bench

echo "== exec: $execs execs of /bin/true in a running container"
"$work/bin/execbench" -root "$work/root" -state "$state" -image "$image" -n "$execs"

# The anchor: runc exec, in a container runc runs from the spec dctr makes
# for the same image, its root the same tree.
d run "$image" spec-source /bin/true >/dev/null
d containers info spec-source | jq '.Spec' >"$work/spec.json"
d containers rm spec-source >/dev/null
umoci unpack --image "$work/layout:bench" "$work/bundle" >/dev/null
jq --arg root "$work/bundle/rootfs" '.root.path = $root | .process.args = ["sleep", "100000"] | .process.terminal = false' \
	"$work/spec.json" >"$work/bundle/config.json"
runc --root "$work/runc-state" run -d -b "$work/bundle" bench-runc >/dev/null
: >"$work/runc.us"
for i in $(seq 5); do runc --root "$work/runc-state" exec bench-runc /bin/true; done
for i in $(seq "$execs"); do
	t0=$(date +%s%N)
	runc --root "$work/runc-state" exec bench-runc /bin/true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$work/runc.us"
done
sort -n "$work/runc.us" | awk '{a[NR]=$1} END {
	m=a[int((50*NR+99)/100)]; p90=a[int((90*NR+99)/100)]; p99=a[int((99*NR+99)/100)];
	printf "%d runc exec of /bin/true, wall ms: median %.1f p90 %.1f p99 %.1f\n", NR, m/1000, p90/1000, p99/1000 }'
runc --root "$work/runc-state" delete -f bench-runc >/dev/null

echo "== hold: $tasks tasks running in one process"
"$work/bin/holdbench" -root "$work/root" -state "$state" -image "$image" -n "$tasks"
