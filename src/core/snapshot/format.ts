/**
 * The `.tabvm` snapshot file: a small fixed header, then one compressed
 * payload holding a JSON manifest of named state objects and the guest pages
 * that are present (untouched pages cost nothing).
 *
 * File layout (little-endian):
 *   0  magic "TABVSNAP" (8 bytes)
 *   8  format version major, minor, patch (u16 each), reserved u16 = 0
 *  16  payload length (u32 low, u32 high; must fit the reader's limit)
 *  24  CRC-32 of the payload bytes
 *  28  header length (u32) = 32; a longer header from a later minor is skipped
 *  32  payload: deflate-raw of
 *        u32 manifest length, manifest JSON (UTF-8),
 *        u32 page count, page numbers (u32 each, ascending),
 *        the pages' bytes, 4096 each, in the same order.
 * The pages sit in one block after their index so that a lazy restore can find
 * page i at a fixed offset and copy it in on first touch.
 */
import { crc32 } from './crc32.ts';
import { SnapshotError } from './errors.ts';
import { CURRENT_FORMAT, formatVersionText, type FormatVersion } from './version.ts';
import { migrateManifest } from './migrations.ts';
import { readStreamLimited, StreamLimitError } from '../util/read-stream.ts';

export const PAGE_SIZE = 4096;
const MAGIC = 'TABVSNAP';
const HEADER_LENGTH = 32;
/** Readers refuse payloads larger than this unless told otherwise (decompression bombs, wrong files). */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 1 << 30;

/** What an image of `manifest.images` is to the guest's boot. */
export const IMAGE_ROLES = ['kernel', 'initrd', 'multiboot', 'module'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];

/** One image the guest was booted from: its file name, content hash and what it is (format 1.1). */
export interface SnapshotImage {
  name: string;
  sha256: string;
  role: ImageRole;
}

/** Everything in a snapshot except RAM: named plain objects, never positional arrays. */
export interface SnapshotManifest {
  /** When the snapshot was taken (ISO 8601). */
  createdAt: string;
  /** The machine's configuration, enough to rebuild it (RAM size, devices, command line). */
  machine: { ramBytes: number } & Record<string, unknown>;
  /** Identities of the images the guest was booted from. */
  images: SnapshotImage[];
  /** One state object per component: "cpu", "fpu", "pic", "pit", "uart0", ... */
  components: Record<string, unknown>;
}

export interface SnapshotContent {
  manifest: SnapshotManifest;
  /** Guest-physical page numbers, ascending. */
  pageNumbers: Uint32Array;
  /** The pages' bytes, PAGE_SIZE each, in the order of pageNumbers. */
  pageData: Uint8Array;
}

export interface DecodedSnapshot extends SnapshotContent {
  /** The version the file was written with (the manifest has been migrated to the current one). */
  writtenWith: FormatVersion;
}

/** Writes a snapshot file. */
export async function encodeSnapshot(content: SnapshotContent): Promise<Uint8Array> {
  const { manifest, pageNumbers, pageData } = content;
  if (pageData.length !== pageNumbers.length * PAGE_SIZE) {
    throw new Error(`snapshot encoder: ${pageNumbers.length} pages need ${pageNumbers.length * PAGE_SIZE} bytes, got ${pageData.length}`);
  }
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const index = new Uint8Array(8 + json.length + 4 * pageNumbers.length);
  const iv = new DataView(index.buffer);
  iv.setUint32(0, json.length, true);
  index.set(json, 4);
  iv.setUint32(4 + json.length, pageNumbers.length, true);
  let previous = -1;
  for (let i = 0; i < pageNumbers.length; i++) {
    const page = pageNumbers[i]!;
    if (page <= previous) throw new Error('snapshot encoder: page numbers must be ascending and unique');
    previous = page;
    iv.setUint32(8 + json.length + 4 * i, page, true);
  }
  const payload = await deflateRaw([index, pageData]);

  const file = new Uint8Array(HEADER_LENGTH + payload.length);
  for (let i = 0; i < MAGIC.length; i++) file[i] = MAGIC.charCodeAt(i);
  const hv = new DataView(file.buffer);
  hv.setUint16(8, CURRENT_FORMAT.major, true);
  hv.setUint16(10, CURRENT_FORMAT.minor, true);
  hv.setUint16(12, CURRENT_FORMAT.patch, true);
  hv.setUint32(16, payload.length >>> 0, true);
  hv.setUint32(20, Math.floor(payload.length / 2 ** 32), true);
  hv.setUint32(24, crc32(payload), true);
  hv.setUint32(28, HEADER_LENGTH, true);
  file.set(payload, HEADER_LENGTH);
  return file;
}

/** Reads the header only (cheap): version and payload length, validated. */
export function readSnapshotHeader(file: Uint8Array, maxBytes = DEFAULT_MAX_SNAPSHOT_BYTES): { version: FormatVersion; headerLength: number; payloadLength: number } {
  if (file.length < HEADER_LENGTH) throw new SnapshotError('truncated', `not a complete snapshot: ${file.length} bytes is shorter than the ${HEADER_LENGTH}-byte header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (file[i] !== MAGIC.charCodeAt(i)) throw new SnapshotError('bad-magic', 'not a tabvisor snapshot (the file does not start with "TABVSNAP")');
  }
  const hv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = { major: hv.getUint16(8, true), minor: hv.getUint16(10, true), patch: hv.getUint16(12, true) };
  if (version.major > CURRENT_FORMAT.major) {
    throw new SnapshotError('unsupported-version', `snapshot format ${formatVersionText(version)} is newer than this tabvisor reads (${formatVersionText(CURRENT_FORMAT)}): update tabvisor`);
  }
  const payloadLength = hv.getUint32(16, true) + hv.getUint32(20, true) * 2 ** 32;
  const headerLength = hv.getUint32(28, true);
  if (headerLength < HEADER_LENGTH || headerLength > 4096) throw new SnapshotError('corrupt', `snapshot header length ${headerLength} is invalid`);
  if (payloadLength > maxBytes) throw new SnapshotError('too-large', `snapshot payload of ${payloadLength} bytes exceeds the limit of ${maxBytes} bytes`);
  if (file.length < headerLength + payloadLength) {
    throw new SnapshotError('truncated', `snapshot is truncated: ${file.length} of ${headerLength + payloadLength} bytes present`);
  }
  if (file.length > headerLength + payloadLength) throw new SnapshotError('corrupt', `snapshot has ${file.length - headerLength - payloadLength} unexpected bytes after its payload`);
  return { version, headerLength, payloadLength };
}

/**
 * Reads and validates a snapshot file. Every failure is a SnapshotError with
 * one clear sentence; nothing outside the returned object is touched.
 * `maxBytes` bounds both the file's payload and the decompressed content.
 */
export async function decodeSnapshot(file: Uint8Array, maxBytes = DEFAULT_MAX_SNAPSHOT_BYTES): Promise<DecodedSnapshot> {
  const { version, headerLength, payloadLength } = readSnapshotHeader(file, maxBytes);
  const payload = file.subarray(headerLength, headerLength + payloadLength);
  const expected = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(24, true);
  if (crc32(payload) !== expected) throw new SnapshotError('bad-checksum', 'snapshot is damaged: its checksum does not match (the file was changed or cut)');

  let raw: Uint8Array;
  try {
    raw = await inflateRaw(payload, maxBytes);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError('corrupt', `snapshot payload does not decompress: ${e instanceof Error ? e.message : String(e)}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const need = (end: number, what: string) => {
    if (end > raw.length) throw new SnapshotError('corrupt', `snapshot payload ends inside the ${what}`);
  };
  need(4, 'manifest length');
  const jsonLength = view.getUint32(0, true);
  need(4 + jsonLength + 4, 'manifest');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw.subarray(4, 4 + jsonLength)));
  } catch {
    throw new SnapshotError('corrupt', 'snapshot manifest is not valid JSON');
  }
  const manifest = migrateManifest(parsed, version);
  const countAt = 4 + jsonLength;
  const pageCount = view.getUint32(countAt, true);
  const indexAt = countAt + 4;
  const dataAt = indexAt + 4 * pageCount;
  need(dataAt + pageCount * PAGE_SIZE, 'guest pages');
  if (dataAt + pageCount * PAGE_SIZE !== raw.length) throw new SnapshotError('corrupt', 'snapshot payload has trailing bytes after its pages');
  const pageNumbers = new Uint32Array(pageCount);
  const maxPage = Math.ceil(manifest.machine.ramBytes / PAGE_SIZE);
  for (let i = 0; i < pageCount; i++) {
    const page = view.getUint32(indexAt + 4 * i, true);
    if (page >= maxPage || (i > 0 && page <= pageNumbers[i - 1]!)) {
      throw new SnapshotError('corrupt', `snapshot page index is invalid at entry ${i} (page ${page})`);
    }
    pageNumbers[i] = page;
  }
  return { manifest, pageNumbers, pageData: raw.subarray(dataAt), writtenWith: version };
}

/** deflate-raw of the chunks, one after the other (also for other containers of snapshot data, e.g. snapshot-diff.ts). */
export function deflateRaw(chunks: Uint8Array[]): Promise<Uint8Array> {
  return transform(new CompressionStream('deflate-raw'), chunks, Infinity);
}

/** Inflates deflate-raw data; more than `limit` bytes is a 'too-large' SnapshotError, data that does not inflate a plain Error. */
export function inflateRaw(data: Uint8Array, limit: number): Promise<Uint8Array> {
  return transform(new DecompressionStream('deflate-raw'), [data], limit);
}

/** Runs chunks through a (de)compression stream, refusing output beyond `limit` bytes. */
async function transform(stream: CompressionStream | DecompressionStream, chunks: Uint8Array[], limit: number): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    for (const chunk of chunks) await writer.write(chunk as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  writing.catch(() => undefined); // a failure surfaces through the readable side
  try {
    const out = await readStreamLimited(stream.readable, limit);
    await writing;
    return out;
  } catch (e) {
    if (e instanceof StreamLimitError) throw new SnapshotError('too-large', `snapshot content exceeds the limit of ${limit} bytes when decompressed`);
    throw e;
  }
}
