#!/usr/bin/env node
// Write public/images/manifest.json (called by scripts/image/build.sh).
//
//   node write-manifest.mjs --dir public/images --kernel-release 6.1.192 \
//     --kernel-pkg 6.1.192-2 --busybox 1:1.35.0-4+deb12u1+b1 \
//     --cmdline "console=ttyS0 ..." --packages "name=version,name=version"
//
// The output depends only on the inputs and the image files (no dates), so
// rebuilding identical images gives an identical manifest. An existing
// "instantBoot" entry (scripts/snapshot/build-instant-boot.ts) is kept:
// verify-manifest.mjs then says whether the snapshot still matches the images
// (it does when they were rebuilt identically) or must be made again.
// Plain ESM, node builtins only.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { inspectBzImage } from './inspect-bzimage.mjs';

const FILES = ['bzImage', 'initramfs.cpio.gz'];

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad arguments near ${argv[i]}`);
  args[argv[i].slice(2)] = argv[i + 1];
}
for (const k of ['dir', 'kernel-release', 'kernel-pkg', 'busybox', 'cmdline', 'packages']) {
  if (!args[k]) throw new Error(`missing --${k}`);
}

const files = FILES.map((name) => {
  const data = readFileSync(join(args.dir, name));
  return { name, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
});
const hdr = inspectBzImage(readFileSync(join(args.dir, 'bzImage')));
const packages = Object.fromEntries(
  args.packages.split(',').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i), p.slice(i + 1)];
  }),
);

const manifest = {
  files,
  kernel: {
    version: `${args['kernel-release']} (from Debian linux-source-6.1 ${args['kernel-pkg']})`,
    release: args['kernel-release'],
    arch: 'i386',
    bootProtocol: hdr.bootProtocol,
    code32Start: hdr.code32Start,
    initSize: hdr.initSize,
    prefAddress: hdr.prefAddress,
    relocatable: hdr.relocatableKernel,
    setupSects: hdr.setupSects,
    compression: hdr.payloadCompression,
    banner: hdr.kernelVersion,
    config: 'scripts/image/kernel.config merged on top of `make ARCH=i386 tinyconfig`',
  },
  busybox: args.busybox,
  defaultCmdline: args.cmdline,
  built:
    'scripts/image/build.sh (= build-kernel.sh + build-initramfs.sh) as root on Debian 12 (bookworm): ' +
    `kernel from linux-source-6.1 ${args['kernel-pkg']} (make ARCH=i386 tinyconfig + kernel.config, ` +
    'olddefconfig, bzImage; KBUILD_BUILD_USER/HOST=tabvisor, KBUILD_BUILD_VERSION=1, ' +
    'KBUILD_BUILD_TIMESTAMP = date of the package changelog entry); ' +
    `initramfs from busybox-static:i386 ${args.busybox} (cpio newc --reproducible, gzip -n -9, mtimes 0). ` +
    'Debian packages: ' + Object.entries(packages).map(([n, v]) => `${n} ${v}`).join(', '),
  packages,
};

const out = join(args.dir, 'manifest.json');
const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
if (previous.instantBoot) manifest.instantBoot = previous.instantBoot;
writeFileSync(out + '.tmp', JSON.stringify(manifest, null, 2) + '\n');
renameSync(out + '.tmp', out);
console.log(`wrote ${out}`);
