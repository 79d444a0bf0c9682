#!/usr/bin/env bash
# Makes an OCI layout in OUTDIR holding one image, tagged "bench": a static
# busybox (Debian's busybox-static) as /bin/busybox, with sh, true, echo
# and sleep linked to it, /etc/passwd and /etc/group for root, and
# /bin/true as its command. The run and exec benchmarks use it.
#
#   bench/busybox-layout.sh OUTDIR        (needs umoci and /bin/busybox)
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
command -v umoci >/dev/null || { echo "needs umoci (apt-get install -y umoci)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "needs a static /bin/busybox (apt-get install -y busybox-static)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umoci init --layout "$out"
umoci new --image "$out:bench"
umoci unpack --image "$out:bench" "$tmp/unpacked" >/dev/null
r=$tmp/unpacked/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in sh true echo sleep; do ln -s busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
umoci repack --image "$out:bench" "$tmp/unpacked" >/dev/null
umoci config --image "$out:bench" --config.cmd /bin/true >/dev/null
