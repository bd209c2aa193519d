#!/usr/bin/env node
// Parse the Linux/x86 boot protocol setup header of a bzImage.
// (Documentation/x86/boot.rst in the kernel tree describes the layout.)
//
//   node scripts/image/inspect-bzimage.mjs [bzImage]   -> JSON  (default: <repo>/public/images/bzImage)
//
// Also importable: `import { inspectBzImage } from './inspect-bzimage.mjs'`
// takes a Buffer/Uint8Array and returns the parsed fields (throws if the
// image is not a bzImage).  Plain ESM, node builtins only.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const hex = (n) => '0x' + n.toString(16);

export function inspectBzImage(bytes) {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : ArrayBuffer.isView(bytes)
      ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : Buffer.from(bytes);
  if (buf.length < 0x270) throw new Error(`too small for a bzImage (${buf.length} bytes)`);
  const u8 = (o) => buf.readUInt8(o);
  const u16 = (o) => buf.readUInt16LE(o);
  const u32 = (o) => buf.readUInt32LE(o);
  const u64 = (o) => buf.readBigUInt64LE(o);

  const bootFlag = u16(0x1fe);
  if (bootFlag !== 0xaa55) throw new Error(`boot_flag is ${hex(bootFlag)}, not 0xaa55`);
  const magic = buf.toString('latin1', 0x202, 0x206);
  if (magic !== 'HdrS') throw new Error(`no "HdrS" setup header magic at 0x202 (found ${JSON.stringify(magic)})`);

  const version = u16(0x206);
  const major = version >> 8;
  const minor = version & 0xff;
  const setupSectsRaw = u8(0x1f1);
  const setupSects = setupSectsRaw === 0 ? 4 : setupSectsRaw;
  const setupSize = (setupSects + 1) * 512;
  const loadflags = u8(0x211);
  if (version < 0x0200) throw new Error(`boot protocol ${major}.${minor} is too old`);

  const out = {
    bootProtocol: `${major}.${minor}`,
    bootProtocolRaw: hex(version),
    setupSects,
    setupSize,
    protectedModeSize: buf.length - setupSize,
    fileSize: buf.length,
    loadflags: hex(loadflags),
    loadedHigh: Boolean(loadflags & 0x01),
    code32Start: hex(u32(0x214)),
  };

  // kernel_version: pointer (relative to 0x200) to a NUL-terminated string.
  const kvOff = u16(0x20e);
  if (kvOff) {
    const start = kvOff + 0x200;
    const end = buf.indexOf(0, start);
    if (start < buf.length && end > start) out.kernelVersion = buf.toString('latin1', start, end);
  }
  if (version >= 0x0203) out.initrdAddrMax = hex(u32(0x22c));
  if (version >= 0x0205) {
    out.kernelAlignment = hex(u32(0x230));
    out.relocatableKernel = Boolean(u8(0x234));
  }
  if (version >= 0x0206) out.cmdlineSize = u32(0x238);
  if (version >= 0x020a) out.minAlignment = hex(1 << u8(0x235));
  if (version >= 0x020c) out.xloadflags = hex(u16(0x236));
  if (version >= 0x0208) {
    out.payloadOffset = u32(0x248);
    out.payloadLength = u32(0x24c);
    const p = setupSize + out.payloadOffset;
    if (p + 4 <= buf.length) out.payloadCompression = compressionOf(buf.subarray(p, p + 6));
  }
  if (version >= 0x020a) {
    out.prefAddress = '0x' + u64(0x258).toString(16);
    out.initSize = u32(0x260);
    out.initSizeHex = hex(out.initSize);
  }
  if (version >= 0x020b) out.handoverOffset = hex(u32(0x264));
  if (version >= 0x020f) out.kernelInfoOffset = hex(u32(0x268));
  return out;
}

function compressionOf(b) {
  if (b[0] === 0x1f && (b[1] === 0x8b || b[1] === 0x9e)) return 'gzip';
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2';
  if (b[0] === 0x5d && b[1] === 0x00) return 'lzma';
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) return 'xz';
  if (b[0] === 0x89 && b[1] === 0x4c && b[2] === 0x5a && b[3] === 0x4f) return 'lzo';
  if (b[0] === 0x02 && b[1] === 0x21 && b[2] === 0x4c && b[3] === 0x18) return 'lz4';
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  return 'unknown';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? fileURLToPath(new URL('../../public/images/bzImage', import.meta.url));
  try {
    console.log(JSON.stringify(inspectBzImage(readFileSync(file)), null, 2));
  } catch (e) {
    console.error(`inspect-bzimage: ${file}: ${e.message}`);
    process.exit(1);
  }
}
