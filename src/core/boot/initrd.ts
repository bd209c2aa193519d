/**
 * Host-side initrd preparation. A gzip-compressed initramfs is inflated by
 * the host (the platform's DecompressionStream, native code) before it is
 * placed in guest RAM; the kernel accepts an uncompressed cpio archive just
 * the same. Why: gunzip inside the guest is about 68 M of the default image's
 * ~108 M boot instructions, while the host does it in a few milliseconds.
 * Archives in other formats are passed through for the kernel to unpack.
 */

import { readStreamLimited, StreamLimitError } from '../util/read-stream.ts';

/** Largest initrd we inflate (a guest cannot use more than its RAM anyway). */
export const MAX_INITRD_BYTES = 1 << 30;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 18 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8;
}

/** Returns the archive ready for the guest: inflated if it was gzip, else unchanged. */
export async function prepareInitrd(bytes: Uint8Array, maxBytes = MAX_INITRD_BYTES): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  try {
    return await readStreamLimited(stream, maxBytes);
  } catch (e) {
    if (e instanceof StreamLimitError) throw new Error(`initrd inflates to more than ${maxBytes} bytes`, { cause: e });
    throw new Error(`initrd is not a valid gzip archive: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
