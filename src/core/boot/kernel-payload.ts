/**
 * Host-side kernel decompression (as Firecracker-style direct boot does): a
 * bzImage's protected-mode code is the kernel's own decompressor
 * (arch/x86/boot/compressed) with the real kernel inside as a compressed
 * payload (setup header payload_offset/payload_length). Unpacking that
 * payload on the host yields the `vmlinux` ELF, which the loader can place
 * directly, so the guest skips the decompressor (~13 M of the default
 * image's ~41 M boot instructions).
 *
 * LZ4 (legacy frame) is unpacked synchronously here; gzip needs the
 * platform's DecompressionStream, which is async: `prepareKernel()` does it
 * before `bootLinux()`, as `prepareInitrd()` does for the initrd. Other
 * formats (xz, zstd, bzip2, lzma, lzo) are left to the guest decompressor.
 */
import { parseBzImage, type BzImage } from './bzimage.ts';
import { isGzip } from './initrd.ts';
import { decompressLz4Legacy, isLz4Legacy } from './lz4.ts';
import { readStreamLimited } from '../util/read-stream.ts';

/** Largest decompressed kernel we accept (an i386 vmlinux is a few tens of MiB at most). */
export const MAX_VMLINUX_BYTES = 256 << 20;

export type KernelPayloadFormat = 'lz4' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma' | 'lzo' | 'unknown' | 'none';

/** Identifies a payload by its magic number. */
export function kernelPayloadFormat(payload: Uint8Array): KernelPayloadFormat {
  if (payload.length < 4) return 'none';
  const b = payload;
  if (isLz4Legacy(b)) return 'lz4';
  if (isGzip(b)) return 'gzip';
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) return 'xz';
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return 'zstd';
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return 'bzip2';
  if (b[0] === 0x5d && b[1] === 0x00) return 'lzma';
  if (b[0] === 0x89 && b[1] === 0x4c && b[2] === 0x5a && b[3] === 0x4f) return 'lzo';
  return 'unknown';
}

/** A decompressed kernel, or why there is none (the guest decompressor will run). */
export type UnpackedKernel = { vmlinux: Uint8Array; format: KernelPayloadFormat } | { vmlinux?: undefined; format: KernelPayloadFormat; reason: string };

/** Unpacks what can be unpacked synchronously (LZ4). */
export function unpackKernelSync(image: BzImage, maxBytes = MAX_VMLINUX_BYTES): UnpackedKernel {
  const format = kernelPayloadFormat(image.payload);
  if (format === 'none') return { format, reason: image.version < 0x0208 ? `boot protocol ${image.versionText} has no payload fields` : 'the setup header names no payload' };
  if (format === 'gzip') return { format, reason: 'a gzip payload is unpacked asynchronously: pass prepareKernel() output as `vmlinux`' };
  if (format !== 'lz4') return { format, reason: `the host does not unpack ${format} payloads` };
  try {
    return { format, vmlinux: decompressLz4Legacy(image.payload, { maxBytes, sizeHint: lz4SizeTrailer(image.payload) }) };
  } catch (e) {
    return { format, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The kernel build appends the uncompressed size to an LZ4 payload; use it only as an allocation hint. */
function lz4SizeTrailer(payload: Uint8Array): number | undefined {
  if (payload.length < 8) return undefined;
  const size = new DataView(payload.buffer, payload.byteOffset + payload.length - 4, 4).getUint32(0, true);
  return size > 0 && size <= MAX_VMLINUX_BYTES ? size : undefined;
}

/**
 * Unpacks a bzImage's payload on the host, including gzip (async). Never
 * throws for a payload it cannot unpack: the result says why, and booting
 * without `vmlinux` falls back to the guest decompressor. Throws only if
 * `bzImage` is not a bzImage at all.
 */
export async function prepareKernel(bzImage: Uint8Array, maxBytes = MAX_VMLINUX_BYTES): Promise<UnpackedKernel> {
  const image = parseBzImage(bzImage);
  const format = kernelPayloadFormat(image.payload);
  if (format !== 'gzip') return unpackKernelSync(image, maxBytes);
  const stream = new Blob([image.payload as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return { format, vmlinux: await readStreamLimited(stream, maxBytes) };
  } catch (e) {
    return { format, reason: `gzip payload: ${e instanceof Error ? e.message : String(e)}` };
  }
}
