#!/usr/bin/env bash
# Boot public/images/{bzImage,initramfs.cpio.gz} under QEMU (TCG, Pentium II,
# 128 MiB, serial console) and check the image works.  Not run in CI.
#
#   scripts/image/check-qemu.sh
#
# 1. Boots, waits for the prompt "root@tabvisor:~# ", runs `sleep 30` and
#    interrupts it with ^C, then types `uname -a; echo $((6*7)); poweroff`,
#    checks the output, that the guest halts, and that the log has no
#    oops/BUG/panic/WARNING.  Reports the wall time from start to prompt.
# 2. Boots on QEMU's microvm machine (virtio-mmio; CPU without APIC since
#    the kernel has none) with virtio blk (ext2 image), 9p, net, rng,
#    balloon and console, and checks each one works.  Skipped with
#    CHECK_VIRTIO=0.
# 3. Boots again with a small TCG plugin (qemu-insn-count.c, built here with
#    gcc) that counts guest instructions, quits at the prompt and reports the
#    count from code32_start (0x100000) to the prompt, split into phases
#    using System.map when the kernel tree in $BUILD_DIR matches the image.
#    The run uses `-icount shift=0,sleep=off` (guest time = instruction
#    count, 1 ns each; idle time skipped) so busy-waits on the clock cost the
#    same on any host; ICOUNT=none turns that off, ICOUNT=shift=3,... changes
#    it.  Skipped with COUNT_INSNS=0; a failure here is only a warning.
#
# Environment: IMAGES (default <repo>/public/images), CMDLINE (default: the
# manifest's defaultCmdline), TIMEOUT seconds (default 120), BUILD_DIR
# (default /tmp/tabvisor-build; logs and the plugin go there).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
IMAGES=${IMAGES:-$REPO/public/images}
BUILD_DIR=${BUILD_DIR:-/tmp/tabvisor-build}
TIMEOUT=${TIMEOUT:-120}
COUNT_INSNS=${COUNT_INSNS:-1}
CHECK_VIRTIO=${CHECK_VIRTIO:-1}
ICOUNT=${ICOUNT:-shift=0,sleep=off}
KERNEL=$IMAGES/bzImage
INITRD=$IMAGES/initramfs.cpio.gz

log() { printf '[check-qemu] %s\n' "$*" >&2; }
die() { printf '[check-qemu] ERROR: %s\n' "$*" >&2; exit 1; }

need=()
command -v qemu-system-i386 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [[ $COUNT_INSNS != 0 ]] && ! command -v gcc >/dev/null 2>&1; then need+=(gcc libc6-dev); fi
if [[ $CHECK_VIRTIO != 0 ]] && ! command -v mkfs.ext2 >/dev/null 2>&1; then need+=(e2fsprogs); fi
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || die "missing ${need[*]} (install them, or run as root)"
  log "installing ${need[*]}"
  apt-get update || log "apt-get update reported errors; continuing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
[[ -f $KERNEL && -f $INITRD ]] || die "no $KERNEL / $INITRD (run scripts/image/build.sh)"

if [[ -z ${CMDLINE:-} ]]; then
  CMDLINE=$(node -e 'try { const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(m.defaultCmdline || ""); } catch {}' "$IMAGES/manifest.json")
  CMDLINE=${CMDLINE:-console=ttyS0 earlyprintk=serial,ttyS0,115200 tsc=reliable panic=-1}
fi
mkdir -p "$BUILD_DIR"
log "qemu-system-i386 -cpu pentium2 -m 128 -nographic -no-reboot -nic none -kernel $KERNEL -initrd $INITRD -append \"$CMDLINE\""

node "$HERE/check-qemu.mjs" --kernel "$KERNEL" --initrd "$INITRD" --append "$CMDLINE" \
  --timeout "$TIMEOUT" --log "$BUILD_DIR/check-qemu.log" \
  || die "boot check failed (serial log: $BUILD_DIR/check-qemu.log)"
log "serial log: $BUILD_DIR/check-qemu.log"

if [[ $CHECK_VIRTIO != 0 ]]; then
  vdir=$BUILD_DIR/check-virtio
  rm -rf "$vdir"
  mkdir -p "$vdir/blk" "$vdir/share"
  blk_token="virtio-blk-ok-$$"
  p9_token="virtio-9p-ok-$$"
  echo "$blk_token" > "$vdir/blk/blk.txt"
  echo "$p9_token" > "$vdir/share/p9.txt"
  mkfs.ext2 -q -F -d "$vdir/blk" "$vdir/disk.img" 4M >/dev/null
  node "$HERE/check-qemu.mjs" --kernel "$KERNEL" --initrd "$INITRD" --append "$CMDLINE" \
    --timeout "$TIMEOUT" --disk "$vdir/disk.img" --share "$vdir/share" \
    --expect-blk "$blk_token" --expect-9p "$p9_token" --log "$BUILD_DIR/check-qemu-virtio.log" \
    || die "virtio check failed (serial log: $BUILD_DIR/check-qemu-virtio.log)"
fi

if [[ $COUNT_INSNS != 0 ]]; then
  plugin=$BUILD_DIR/libqemu-insn-count.so
  if gcc -shared -fPIC -O2 -Wall -o "$plugin" "$HERE/qemu-insn-count.c"; then
    marks=""
    tree=$BUILD_DIR/linux-source-6.1
    if [[ -f $tree/System.map && -f $tree/arch/x86/boot/bzImage ]] && cmp -s "$tree/arch/x86/boot/bzImage" "$KERNEL"; then
      for s in start_kernel time_init kernel_init do_populate_rootfs free_initrd_mem free_initmem run_init_process; do
        a=$(awk -v s="$s" '$3 == s { print $1; exit }' "$tree/System.map")
        [[ -n $a ]] && marks+="$s=0x$a,"
      done
    fi
    node "$HERE/check-qemu.mjs" --kernel "$KERNEL" --initrd "$INITRD" --append "$CMDLINE" \
      --timeout "$TIMEOUT" --plugin "$plugin" --marks "$marks" --icount "$ICOUNT" --log "$BUILD_DIR/check-qemu-insns.log" \
      || log "WARNING: instruction count run failed (log: $BUILD_DIR/check-qemu-insns.log)"
  else
    log "WARNING: could not build the instruction-count plugin; skipped"
  fi
fi
log "OK"
