#!/usr/bin/env bash
# Build the tabvisor default guest kernel (i386, bzImage) from Debian's
# linux-source-6.1 package.
#
#   scripts/image/build-kernel.sh            -> public/images/bzImage
#
# Environment:
#   BUILD_DIR   where the kernel tree is extracted and built (outside the
#               repo; default /tmp/tabvisor-build)
#   OUT_DIR     where bzImage is copied (default <repo>/public/images)
#   JOBS        make -j value (default: nproc)
#   KERNEL_FRAGMENT  config fragment (default scripts/image/kernel.config;
#               for experiments)
#
# Steps: extract /usr/src/linux-source-6.1.tar.xz, `make tinyconfig`, merge
# scripts/image/kernel.config with merge_config.sh -m, `make olddefconfig`,
# verify every option of the fragment survived, then build bzImage with
# reproducible KBUILD_* settings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-/tmp/tabvisor-build}
OUT_DIR=${OUT_DIR:-$REPO/public/images}
JOBS=${JOBS:-$(nproc)}
FRAGMENT=${KERNEL_FRAGMENT:-$HERE/kernel.config}
ARCH_ARGS=(ARCH=i386)

log() { printf '[build-kernel] %s\n' "$*" >&2; }
# A partial index failure (e.g. a mirror mid-sync) is not fatal: the
# packages we need usually still resolve; a later step fails loudly if not.
apt_update() { apt-get update || log "apt-get update reported errors; continuing"; }
die() { printf '[build-kernel] ERROR: %s\n' "$*" >&2; exit 1; }

# --- apt dependencies (installed only when missing) ---------------------
need_pkgs=()
for p in linux-source-6.1 make gcc gcc-multilib libc6-dev bc bison flex \
         libelf-dev libssl-dev cpio lz4 xz-utils perl; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    need_pkgs+=("$p")
  fi
done
if ((${#need_pkgs[@]})); then
  log "installing missing packages: ${need_pkgs[*]}"
  [[ $(id -u) == 0 ]] || die "need root to apt-get install ${need_pkgs[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}"
fi

PKG_VERSION=$(dpkg-query -W -f='${Version}' linux-source-6.1)
TARBALL=$(ls /usr/src/linux-source-6.1*.tar.xz 2>/dev/null | head -n1 || true)
[[ -n $TARBALL && -f $TARBALL ]] || die "no /usr/src/linux-source-6.1*.tar.xz (is linux-source-6.1 installed?)"

# Reproducible build timestamp: the date of the Debian package's changelog
# entry (same package version -> same timestamp), unless overridden.
if [[ -z ${KBUILD_BUILD_TIMESTAMP:-} ]]; then
  cl=/usr/share/doc/linux-source-6.1/changelog.Debian.gz
  d=""
  if [[ -f $cl ]]; then
    d=$(zcat "$cl" | sed -n 's/^ -- .*>  \(.*\)$/\1/p' | head -n1) || true
  fi
  if [[ -n $d ]]; then
    KBUILD_BUILD_TIMESTAMP=$(LC_ALL=C date -u -d "$d" '+%a %b %e %H:%M:%S UTC %Y')
  else
    KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
  fi
fi
export KBUILD_BUILD_TIMESTAMP
export KBUILD_BUILD_USER=tabvisor
export KBUILD_BUILD_HOST=tabvisor
export KBUILD_BUILD_VERSION=1
export LC_ALL=C
unset LOCALVERSION || true

# --- extract -----------------------------------------------------------------
SRC=$BUILD_DIR/linux-source-6.1
STAMP=$SRC/.tabvisor-source-stamp
want_stamp="$PKG_VERSION $(stat -c '%s %Y' "$TARBALL")"
if [[ ! -f $STAMP || $(cat "$STAMP") != "$want_stamp" ]]; then
  log "extracting $TARBALL ($PKG_VERSION) into $BUILD_DIR"
  rm -rf "$SRC"
  mkdir -p "$BUILD_DIR"
  tar -C "$BUILD_DIR" -xf "$TARBALL"
  [[ -d $SRC ]] || die "tarball did not contain linux-source-6.1/"
  echo "$want_stamp" > "$STAMP"
else
  log "reusing extracted tree $SRC ($PKG_VERSION)"
fi
cd "$SRC"

# --- configure -----------------------------------------------------------------
log "make tinyconfig + merge $FRAGMENT + olddefconfig"
make "${ARCH_ARGS[@]}" tinyconfig >/dev/null
cp .config .config.tiny
# merge_config.sh reports overridden values on stdout; keep it in a log.
./scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" > "$BUILD_DIR/merge_config.log"
make "${ARCH_ARGS[@]}" olddefconfig >/dev/null

# --- check: every option in the fragment must be in the final .config -------
missing=()
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ $val == n ]]; then
      grep -q "^${sym}=" .config && missing+=("$sym=n (but is $(grep "^${sym}=" .config))")
    else
      grep -qxF "${sym}=${val}" .config || \
        missing+=("${sym}=${val} (final: $(grep -E "^(# )?${sym}[= ]" .config || echo 'absent'))")
    fi
  elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    sym=${BASH_REMATCH[1]}
    grep -q "^${sym}=" .config && missing+=("${sym} unset (but is $(grep "^${sym}=" .config))")
  fi
done < "$FRAGMENT"
if ((${#missing[@]})); then
  printf '[build-kernel] ERROR: Kconfig did not keep these fragment options:\n' >&2
  printf '    %s\n' "${missing[@]}" >&2
  exit 1
fi
log "all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set$)' "$FRAGMENT") fragment options present in .config"
cp .config "$BUILD_DIR/kernel.config.final"

# --- build -----------------------------------------------------------------------
log "make -j$JOBS bzImage (KBUILD_BUILD_TIMESTAMP='$KBUILD_BUILD_TIMESTAMP')"
start=$(date +%s)
if ! make "${ARCH_ARGS[@]}" -j"$JOBS" bzImage > "$BUILD_DIR/kernel-build.log" 2>&1; then
  tail -n 60 "$BUILD_DIR/kernel-build.log" >&2
  die "kernel build failed (full log: $BUILD_DIR/kernel-build.log)"
fi
end=$(date +%s)
grep -i 'warning:' "$BUILD_DIR/kernel-build.log" | sort -u | head -n 20 >&2 || true

mkdir -p "$OUT_DIR"
cp arch/x86/boot/bzImage "$OUT_DIR/bzImage"
release=$(make "${ARCH_ARGS[@]}" -s kernelrelease)
echo "$release" > "$BUILD_DIR/kernel.release"
echo "$PKG_VERSION" > "$BUILD_DIR/kernel.pkgversion"
log "built Linux $release (Debian linux-source-6.1 $PKG_VERSION) in $((end - start)) s"
log "$(stat -c '%s bytes' "$OUT_DIR/bzImage")  $(sha256sum "$OUT_DIR/bzImage" | cut -d' ' -f1)  -> $OUT_DIR/bzImage"
