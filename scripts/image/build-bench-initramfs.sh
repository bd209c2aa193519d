#!/usr/bin/env bash
# Build the benchmark initramfs and the native twin of its programs.
#
#   scripts/image/build-bench-initramfs.sh      (no root needed; ~3 s)
#
# The benchmark guest is the default image plus the suite's C programs
# (bench/guest/tvb-*.c, compiled `gcc -m32 -static -O2` for i686 without
# SSE, so floating point runs on the x87): the default initramfs
# (public/images/initramfs.cpio.gz) is inflated unchanged and a second cpio
# archive holding /usr/bin/tvb-* is appended to it.  Linux unpacks
# concatenated archives in order, so the guest boots exactly as the default
# image does (same busybox, init, rcS and prompt) and finds the programs on
# its PATH.  The result is left uncompressed so that no emulator (ours,
# v86, QEMU) spends guest time inflating it.  The default bzImage is used
# unchanged.
#
# Outputs, in $BENCH_BUILD_DIR (default /tmp/tabvisor-build/bench):
#   bench-initramfs.cpio   the guest's initramfs
#   native/bin/            the same i386 busybox (taken from the default
#                          initramfs) with one symlink per applet, and the
#                          same tvb-* binaries: the workloads run natively here
#   bench-image.json       sizes and sha256 of the above, compiler version
#
# Needs gcc-multilib (apt-get install gcc-multilib), cpio, gzip; running the
# native twin needs a host that runs i386 binaries (any x86-64 Linux).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${BENCH_BUILD_DIR:-/tmp/tabvisor-build/bench}
SRC=$REPO/bench/guest
DEFAULT_INITRD=$REPO/public/images/initramfs.cpio.gz
EPOCH=${SOURCE_DATE_EPOCH:-0}
PROGRAMS=(tvb-gen tvb-int tvb-mem tvb-x87)

log() { printf '[build-bench-initramfs] %s\n' "$*" >&2; }
die() { printf '[build-bench-initramfs] ERROR: %s\n' "$*" >&2; exit 1; }

command -v gcc >/dev/null || die "gcc is missing (apt-get install gcc gcc-multilib)"
command -v cpio >/dev/null || die "cpio is missing (apt-get install cpio)"
[[ -f $DEFAULT_INITRD ]] || die "no $DEFAULT_INITRD (run scripts/image/build.sh)"
umask 022
export LC_ALL=C

rm -rf "$OUT/extra" "$OUT/native"
mkdir -p "$OUT/extra/usr/bin" "$OUT/native/bin"

# --- the programs ---------------------------------------------------------------
for p in "${PROGRAMS[@]}"; do
  gcc -m32 -march=i686 -mfpmath=387 -static -O2 -s -Wall -Wextra -Werror \
      -ffile-prefix-map="$REPO"=. -Wl,--build-id=none \
      -o "$OUT/extra/usr/bin/$p" "$SRC/$p.c" -lm \
    || die "cannot compile $p.c (is gcc-multilib installed?)"
  cp "$OUT/extra/usr/bin/$p" "$OUT/native/bin/$p"
done

# --- the native twin: the default image's own busybox ----------------------------
gzip -dc "$DEFAULT_INITRD" | (cd "$OUT/native" && cpio -i --quiet --to-stdout bin/busybox > busybox)
[[ -s $OUT/native/busybox ]] || die "the default initramfs has no bin/busybox"
chmod 0755 "$OUT/native/busybox"
# The applets, from busybox itself: the guest makes the same links at boot
# (`busybox --install -s` in its rcS; the archive holds almost none). Where
# this host's kernel runs no i386 binaries there is no list, and the native
# column of the benchmark is reported as unavailable anyway.
applets=$("$OUT/native/busybox" --list 2>/dev/null | grep -vx busybox | sort -u || true)
[[ -n $applets ]] || log "this host cannot run the i386 busybox: no native applets (the native column will be unavailable)"
for a in $applets; do ln -sfn ../busybox "$OUT/native/bin/$a"; done

# --- the initramfs: default archive + an appended one -------------------------------
find "$OUT/extra" -exec touch -h -d "@$EPOCH" {} +
tmp=$OUT/.bench-initramfs.cpio.tmp
gzip -dc "$DEFAULT_INITRD" > "$tmp"
(cd "$OUT/extra" && printf '%s\n' usr usr/bin "${PROGRAMS[@]/#/usr/bin/}" \
  | cpio --quiet -o -H newc --reproducible -R 0:0) >> "$tmp"
mv "$tmp" "$OUT/bench-initramfs.cpio"

sha() { sha256sum "$1" | cut -d' ' -f1; }
{
  printf '{\n'
  printf '  "initrd": { "name": "bench-initramfs.cpio", "size": %s, "sha256": "%s" },\n' \
    "$(stat -c %s "$OUT/bench-initramfs.cpio")" "$(sha "$OUT/bench-initramfs.cpio")"
  printf '  "baseInitrdSha256": "%s",\n' "$(sha "$DEFAULT_INITRD")"
  printf '  "busyboxSha256": "%s",\n' "$(sha "$OUT/native/busybox")"
  printf '  "compiler": "%s",\n' "$(gcc --version | head -n1)"
  printf '  "programs": {'
  sep=''
  for p in "${PROGRAMS[@]}"; do printf '%s "%s": "%s"' "$sep" "$p" "$(sha "$OUT/native/bin/$p")"; sep=','; done
  printf ' }\n}\n'
} > "$OUT/bench-image.json"
log "$(stat -c %s "$OUT/bench-initramfs.cpio") bytes -> $OUT/bench-initramfs.cpio ($(wc -w <<<"$applets") applets + ${#PROGRAMS[@]} programs natively in $OUT/native/bin)"
