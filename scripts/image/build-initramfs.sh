#!/usr/bin/env bash
# Build the tabvisor default initramfs (busybox, i386) reproducibly.
#
#   scripts/image/build-initramfs.sh        -> public/images/initramfs.cpio.gz
#
# Environment:
#   BUILD_DIR          scratch directory (default /tmp/tabvisor-build)
#   OUT_DIR            output directory (default <repo>/public/images)
#   SOURCE_DATE_EPOCH  mtime given to every file in the archive (default 0)
#   BUSYBOX_VERSION    pin busybox-static:i386 to this Debian version
#                      (default: apt's candidate; see manifest.json "busybox")
#
# Contents: Debian's busybox-static:i386 as /bin/busybox plus one symlink
# per applet (made at boot by rcS), busybox init (/init -> /sbin/init ->
# /bin/busybox) driven by /etc/inittab.  /etc/init.d/rcS mounts proc,
# sysfs, devtmpfs and tmpfs (/tmp, /run) from /etc/fstab, then devpts, and
# sets the hostname; the first serial port gets a login-free login shell
# (job control works) whose prompt in /root is exactly "root@tabvisor:~# ".
# `poweroff`, `reboot` and `halt` go through busybox init (see the notes in
# etc/inittab below: without ACPI, poweroff ends with the CPU halted, reboot
# with a reset).
#
# Must run as root (apt, mknod /dev/console, file ownership).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-/tmp/tabvisor-build}
OUT_DIR=${OUT_DIR:-$REPO/public/images}
EPOCH=${SOURCE_DATE_EPOCH:-0}
WORK=$BUILD_DIR/initramfs
ROOT=$WORK/root

log() { printf '[build-initramfs] %s\n' "$*" >&2; }
# A partial index failure (e.g. a mirror mid-sync) is not fatal: the
# packages we need usually still resolve; a later step fails loudly if not.
apt_update() { apt-get update || log "apt-get update reported errors; continuing"; }
die() { printf '[build-initramfs] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (apt-get, mknod, chown)"
umask 022
export LC_ALL=C

# --- apt dependencies --------------------------------------------------------
need_pkgs=()
for p in cpio gzip findutils coreutils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need_pkgs+=("$p")
done
updated=0
if ((${#need_pkgs[@]})); then
  apt_update; updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}"
fi
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  log "enabling the i386 architecture in dpkg"
  dpkg --add-architecture i386
  apt_update; updated=1
fi

# --- fetch busybox-static:i386 ---------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK/deb" "$ROOT"
chmod 0777 "$WORK/deb"   # let apt's _apt user write there (avoids a warning)
BB_PKG="busybox-static:i386${BUSYBOX_VERSION:+=$BUSYBOX_VERSION}"
if ! (cd "$WORK/deb" && apt-get download "$BB_PKG" >/dev/null); then
  ((updated)) && die "apt-get download $BB_PKG failed"
  apt_update
  (cd "$WORK/deb" && apt-get download "$BB_PKG" >/dev/null) \
    || die "apt-get download $BB_PKG failed"
fi
DEB=$(ls "$WORK"/deb/busybox-static_*_i386.deb)
BB_VERSION=$(dpkg-deb -f "$DEB" Version)
log "using $(basename "$DEB") (version $BB_VERSION)"
echo "$BB_VERSION" > "$BUILD_DIR/busybox.version"
mkdir -p "$WORK/x"
dpkg-deb -x "$DEB" "$WORK/x"
BB_SRC=$WORK/x/bin/busybox
[[ -x $BB_SRC ]] || die "busybox-static deb has no bin/busybox"

# --- rootfs skeleton ---------------------------------------------------------------
cd "$ROOT"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev dev/pts tmp root etc etc/init.d \
         run var var/log mnt
install -m 0755 "$BB_SRC" bin/busybox

# One symlink per applet, at the path busybox itself reports (bin/sh, ...),
# made by the guest: rcS runs `busybox --install -s` first. The archive holds
# only the links needed before that: /init -> /sbin/init -> /bin/busybox and
# /bin/sh (which runs rcS). Why: unpacking a symlink from the archive costs
# the guest kernel ~15 k instructions, the symlink(2) calls of
# `busybox --install -s` ~7.6 k; for the 268 links that is 2.0 M instructions
# less before the first prompt, and the guest ends up with the same links.
"$ROOT/bin/busybox" --list-full > "$WORK/applets.txt" \
  || die "cannot run the i386 busybox on this host (need 32-bit binary support)"
grep -qx sbin/init "$WORK/applets.txt" || die "busybox has no init applet"
grep -qx bin/sh "$WORK/applets.txt" || die "busybox has no sh applet"
while IFS= read -r path; do
  [[ -n $path ]] || continue
  mkdir -p "$(dirname "$path")"
done < "$WORK/applets.txt"
log "$(grep -vcx bin/busybox "$WORK/applets.txt") applets (links made by rcS at boot)"
ln -sfn /bin/busybox sbin/init
ln -sfn /bin/busybox bin/sh
ln -sfn /sbin/init init

# The kernel opens /dev/console before running /init (devtmpfs is mounted
# over /dev by rcS afterwards).
mknod -m 0600 dev/console c 5 1
mknod -m 0666 dev/null c 1 3

cat > etc/inittab <<'INITTAB'
# busybox init configuration for the tabvisor guest.
::sysinit:/etc/init.d/rcS
# Login-free login shell ("-": reads /etc/profile) on the first serial
# port, the VMM's console.  init opens ttyS0 as the shell's controlling
# terminal, so job control (^C, ^Z, fg/bg) works.  It respawns when the
# shell exits.  (Not `cttyhack /bin/sh -l` on /dev/console: that execs
# busybox twice, 0.3 M more instructions before the first prompt.)
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
# On halt/poweroff/reboot busybox init runs this, kills all processes,
# syncs and calls reboot(2).  The kernel has no ACPI (nor APM), so it turns
# poweroff into halt: it prints "reboot: System halted" and stops the CPU
# with interrupts off (cli; hlt) -- a host should treat that as power-off.
# reboot prints "reboot: Restarting system" and resets through the 8042
# (0xFE to port 0x64), falling back to a triple fault.  `poweroff -f`
# (no init involved) halts the same way.
::shutdown:/bin/sync
::restart:/sbin/init
INITTAB

cat > etc/init.d/rcS <<'RCS'
#!/bin/sh
# First thing busybox init runs (sysinit). It makes the applets' links
# (build-initramfs.sh says why they are not in the archive; links that
# exist stay as they are), mounts what /etc/fstab lists, then devpts, which
# needs /dev/pts inside the devtmpfs just mounted, and sets the hostname.
# Few processes on purpose: each costs the guest 0.3-0.5 M instructions
# (fork, exit, page faults); the eight commands this script ran before were
# 1.9 M of the 20.7 M to the first prompt. mkdir runs inside the shell, the
# hostname is set with builtins.
/bin/busybox --install -s
mount -a
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
read -r name < /etc/hostname && echo "$name" > /proc/sys/kernel/hostname
RCS

cat > etc/profile <<'PROFILE'
# /etc/profile: read by the console login shell (sh -l).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export HOME=/root
export USER=root LOGNAME=root SHELL=/bin/sh
[ -n "$TERM" ] && [ "$TERM" != dumb ] || export TERM=vt100
# Renders as "root@tabvisor:~# " in /root (\w shows $HOME as ~, \$ is # for root).
export PS1='\u@\h:\w\$ '
cd "$HOME"
PROFILE

printf 'tabvisor\n' > etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\ttabvisor\n' > etc/hosts
# Note: Debian's busybox does not resolve an entry whose password field is
# empty (getpwuid(0) fails -> no \u in the prompt, no ~); keep "x" here and
# put the (empty) root password in /etc/shadow.
cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP
printf 'root::::::::\n' > etc/shadow
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > etc/nsswitch.conf
printf '/bin/sh\n' > etc/shells
cat > etc/fstab <<'FSTAB'
# Mounted by `mount -a` in /etc/init.d/rcS (devpts there, after /dev).
proc      /proc  proc      nosuid,nodev,noexec     0 0
sysfs     /sys   sysfs     nosuid,nodev,noexec     0 0
devtmpfs  /dev   devtmpfs  nosuid,mode=0755        0 0
tmpfs     /tmp   tmpfs     nosuid,nodev,mode=1777  0 0
tmpfs     /run   tmpfs     nosuid,nodev,mode=0755  0 0
FSTAB

# --- normalise ownership, modes, mtimes -------------------------------------------
chown -hR 0:0 .
find . -type d -exec chmod 0755 {} +
find . -type f -exec chmod 0644 {} +
chmod 0755 bin/busybox etc/init.d/rcS
chmod 1777 tmp
chmod 0700 root
chmod 0600 etc/shadow
find . -exec touch -h -d "@$EPOCH" {} +

# --- archive ---------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
tmp=$OUT_DIR/.initramfs.cpio.gz.tmp
find . -mindepth 1 -printf '%P\n' | sort \
  | cpio --quiet -o -H newc --reproducible -R 0:0 \
  | gzip -n -9 > "$tmp"
mv "$tmp" "$OUT_DIR/initramfs.cpio.gz"
log "$(stat -c '%s bytes' "$OUT_DIR/initramfs.cpio.gz")  $(sha256sum "$OUT_DIR/initramfs.cpio.gz" | cut -d' ' -f1)  -> $OUT_DIR/initramfs.cpio.gz"
