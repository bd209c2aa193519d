#!/usr/bin/env bash
# Build the tabvisor default guest image: kernel + initramfs + manifest.
#
#   sudo scripts/image/build.sh
#
# Outputs (committed): public/images/{bzImage,initramfs.cpio.gz,manifest.json}
# Scratch: ${BUILD_DIR:-/tmp/tabvisor-build} (kernel tree, busybox .deb).
# Takes ~3-4 minutes on 2 cores (the kernel build dominates).  Both images
# are reproducible: rebuilding from the same Debian packages gives the same
# bytes (and so the same manifest).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export BUILD_DIR=${BUILD_DIR:-/tmp/tabvisor-build}
export OUT_DIR=${OUT_DIR:-$REPO/public/images}

# Kernel command line the image is tested with (scripts/image/check-qemu.sh)
# and that hosts should pass by default (see scripts/image/README.md):
#   console=ttyS0     kernel messages and the shell on the first 16550 UART
#   earlyprintk=...   messages from the start of start_kernel, before the
#                     8250 driver is up (no measurable cost)
#   tsc=reliable      trust the TSC (no clocksource watchdog)
#   panic=-1          on a panic reset at once instead of spinning forever
DEFAULT_CMDLINE=${DEFAULT_CMDLINE:-console=ttyS0 earlyprintk=serial,ttyS0,115200 tsc=reliable panic=-1}

log() { printf '[build] %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1; then
  log "installing nodejs (for the manifest scripts)"
  apt-get update || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs
fi

start=$(date +%s)
"$HERE/build-kernel.sh"
"$HERE/build-initramfs.sh"

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
gcc_pkg=$(dpkg-query -S "$(readlink -f "$(command -v gcc)")" 2>/dev/null | cut -d: -f1 | head -n1 || true)
gcc_pkg=${gcc_pkg:-gcc}
packages="linux-source-6.1=$(pkgver linux-source-6.1)"
packages+=",$gcc_pkg=$(pkgver "$gcc_pkg"),binutils=$(pkgver binutils),make=$(pkgver make)"
packages+=",busybox-static:i386=$(cat "$BUILD_DIR/busybox.version"),cpio=$(pkgver cpio),gzip=$(pkgver gzip)"

node "$HERE/write-manifest.mjs" \
  --dir "$OUT_DIR" \
  --kernel-release "$(cat "$BUILD_DIR/kernel.release")" \
  --kernel-pkg "$(cat "$BUILD_DIR/kernel.pkgversion")" \
  --busybox "$(cat "$BUILD_DIR/busybox.version")" \
  --cmdline "$DEFAULT_CMDLINE" \
  --packages "$packages"
node "$HERE/verify-manifest.mjs" "$OUT_DIR/manifest.json"

log "done in $(( $(date +%s) - start )) s:"
( cd "$OUT_DIR" && ls -l bzImage initramfs.cpio.gz manifest.json && sha256sum bzImage initramfs.cpio.gz ) >&2
