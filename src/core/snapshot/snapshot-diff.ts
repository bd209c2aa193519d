/**
 * Snapshot diffs: a snapshot written as its differences from a base
 * snapshot of the same guest (the shipped instant-boot snapshot), so that a
 * share link carries only what changed. Pages identical to the base's are
 * left out (the base supplies them), changed pages are stored XOR the base's
 * page (mostly zeros, which deflate squeezes to almost nothing), new pages
 * whole, and the manifest as a json-patch.ts patch of the base's manifest.
 * The base is named by the SHA-256 of its file, so applying a diff to any
 * other base is refused instead of producing a wrong machine.
 *
 * Layout (little-endian):
 *   0  magic "TABVDIFF" (8 bytes)
 *   8  diff format major, minor (u16 each)
 *  12  payload length (u32)
 *  16  CRC-32 of the payload
 *  20  SHA-256 of the base snapshot file (32 bytes)
 *  52  payload: deflate-raw of
 *        varint length, manifest patch (JSON, UTF-8)
 *        varint count, page numbers the base has and the target does not (ascending, as gaps)
 *        varint count, page numbers stored here (ascending, as gaps),
 *        one byte per stored page: 0 = the page itself (the base has none), 1 = XOR the base's page,
 *        the stored pages, 4096 bytes each.
 * Varints are LEB128; "as gaps": the first number, then each one's distance
 * from the previous minus one.
 *
 * Every bad input is one SnapshotError with a sentence, as for snapshot files.
 */
import { crc32 } from './crc32.ts';
import { SnapshotError } from './errors.ts';
import { decodeSnapshot, deflateRaw, inflateRaw, PAGE_SIZE, type SnapshotContent, type SnapshotManifest } from './format.ts';
import { applyJsonPatch, diffJson } from './json-patch.ts';
import { migrateManifest } from './migrations.ts';
import { CURRENT_FORMAT } from './version.ts';

const MAGIC = 'TABVDIFF';
const HEADER_LENGTH = 52;
const DIFF_FORMAT = { major: 1, minor: 0 };
const STORED_WHOLE = 0;
const STORED_XOR = 1;
/** Bound on the inflated payload unless the caller gives one (a link's few KB cannot legitimately inflate further). */
export const DEFAULT_MAX_DIFF_BYTES = 256 * 1024 * 1024;

export interface SnapshotDiffOptions {
  /** Largest payload, compressed and inflated, that is accepted. */
  maxBytes?: number;
}

/**
 * The diff that turns snapshot file `base` into snapshot file `target` (both
 * are checked as they are read). Both must be of a guest booted from the same
 * images: a diff against another guest's memory would hold nearly all of it.
 */
export async function encodeSnapshotDiff(target: Uint8Array, base: Uint8Array): Promise<Uint8Array> {
  const [to, from, baseSha] = await Promise.all([decodeSnapshot(target), decodeSnapshot(base), sha256(base)]);
  const identity = (m: SnapshotManifest): string => JSON.stringify(m.images.map((i) => [i.role, i.sha256]));
  if (identity(to.manifest) !== identity(from.manifest)) {
    throw new SnapshotError('incompatible', 'the snapshot is of a VM booted from other images than the base snapshot');
  }
  const basePages = pageIndex(from.pageNumbers);
  const removed: number[] = [];
  const present = new Set(to.pageNumbers);
  for (const page of from.pageNumbers) if (!present.has(page)) removed.push(page);

  const stored: number[] = [];
  const kinds: number[] = [];
  const data: Uint8Array[] = [];
  for (let i = 0; i < to.pageNumbers.length; i++) {
    const page = to.pageNumbers[i]!;
    const bytes = to.pageData.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    const at = basePages.get(page);
    if (at === undefined) {
      stored.push(page);
      kinds.push(STORED_WHOLE);
      data.push(bytes);
      continue;
    }
    const original = from.pageData.subarray(at * PAGE_SIZE, (at + 1) * PAGE_SIZE);
    if (equalBytes(bytes, original)) continue;
    const xor = new Uint8Array(PAGE_SIZE);
    for (let b = 0; b < PAGE_SIZE; b++) xor[b] = bytes[b]! ^ original[b]!;
    stored.push(page);
    kinds.push(STORED_XOR);
    data.push(xor);
  }

  const index = new ByteWriter();
  const patch = new TextEncoder().encode(JSON.stringify(diffJson(from.manifest, to.manifest) ?? {}));
  index.varint(patch.length);
  index.bytes(patch);
  index.pageList(removed);
  index.pageList(stored);
  index.bytes(Uint8Array.from(kinds));
  const payload = await deflateRaw([index.finish(), ...data]);

  const file = new Uint8Array(HEADER_LENGTH + payload.length);
  for (let i = 0; i < MAGIC.length; i++) file[i] = MAGIC.charCodeAt(i);
  const view = new DataView(file.buffer);
  view.setUint16(8, DIFF_FORMAT.major, true);
  view.setUint16(10, DIFF_FORMAT.minor, true);
  view.setUint32(12, payload.length, true);
  view.setUint32(16, crc32(payload), true);
  file.set(baseSha, 20);
  file.set(payload, HEADER_LENGTH);
  return file;
}

/**
 * The snapshot a diff describes, rebuilt on snapshot file `base` (which must
 * be the file the diff was made against). The result is checked like a
 * decoded snapshot file (manifest shape, page numbers within RAM).
 */
export async function applySnapshotDiff(diff: Uint8Array, base: Uint8Array, options: SnapshotDiffOptions = {}): Promise<SnapshotContent> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DIFF_BYTES;
  const payload = readDiffHeader(diff, maxBytes);
  const expectedBase = diff.subarray(20, 52);
  const actualBase = await sha256(base);
  if (!equalBytes(expectedBase, actualBase)) {
    throw new SnapshotError('wrong-base',
      `the snapshot diff was made against another base snapshot (sha256 ${hex(expectedBase).slice(0, 12)}…) than this one (${hex(actualBase).slice(0, 12)}…)`);
  }
  let raw: Uint8Array;
  try {
    raw = await inflateRaw(payload, maxBytes);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError('corrupt', 'the snapshot diff does not decompress');
  }
  const from = await decodeSnapshot(base);
  const reader = new ByteReader(raw);
  const patchJson = reader.bytes(reader.varint('manifest length'), 'manifest');
  let manifest: SnapshotManifest;
  try {
    const patch: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(patchJson));
    manifest = migrateManifest(applyJsonPatch(from.manifest, patch), CURRENT_FORMAT);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError('corrupt', `the snapshot diff's manifest does not apply: ${e instanceof Error ? e.message : String(e)}`);
  }
  const maxPage = Math.ceil(manifest.machine.ramBytes / PAGE_SIZE);
  const removed = reader.pageList('removed pages', maxPage);
  const stored = reader.pageList('stored pages', maxPage);
  const kinds = reader.bytes(stored.length, 'page kinds');
  const storedData = reader.bytes(stored.length * PAGE_SIZE, 'stored pages');
  if (!reader.atEnd) throw new SnapshotError('corrupt', 'the snapshot diff has trailing bytes after its pages');

  const basePages = pageIndex(from.pageNumbers);
  const pages = new Map<number, Uint8Array>();
  from.pageNumbers.forEach((page, i) => pages.set(page, from.pageData.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)));
  for (const page of removed) {
    if (!pages.delete(page)) throw new SnapshotError('corrupt', `the snapshot diff removes page ${page}, which the base does not have`);
  }
  stored.forEach((page, i) => {
    const bytes = storedData.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
    const kind = kinds[i];
    const inBase = basePages.has(page);
    if (kind === STORED_WHOLE && !inBase) {
      pages.set(page, bytes);
    } else if (kind === STORED_XOR && inBase && pages.has(page)) {
      const original = pages.get(page)!;
      const result = new Uint8Array(PAGE_SIZE);
      for (let b = 0; b < PAGE_SIZE; b++) result[b] = bytes[b]! ^ original[b]!;
      pages.set(page, result);
    } else {
      throw new SnapshotError('corrupt', `the snapshot diff stores page ${page} in a way that does not fit the base (kind ${kind})`);
    }
  });

  const pageNumbers = Uint32Array.from([...pages.keys()].sort((a, b) => a - b));
  const pageData = new Uint8Array(pageNumbers.length * PAGE_SIZE);
  pageNumbers.forEach((page, i) => pageData.set(pages.get(page)!, i * PAGE_SIZE));
  return { manifest, pageNumbers, pageData };
}

/** Checks the header and returns the payload (still compressed), or throws the SnapshotError that says what is wrong. */
function readDiffHeader(diff: Uint8Array, maxBytes: number): Uint8Array {
  if (diff.length < HEADER_LENGTH) throw new SnapshotError('truncated', `not a complete snapshot diff: ${diff.length} bytes is shorter than its ${HEADER_LENGTH}-byte header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (diff[i] !== MAGIC.charCodeAt(i)) throw new SnapshotError('bad-magic', 'not a tabvisor snapshot diff (the data does not start with "TABVDIFF")');
  }
  const view = new DataView(diff.buffer, diff.byteOffset, diff.byteLength);
  const major = view.getUint16(8, true);
  const minor = view.getUint16(10, true);
  if (major !== DIFF_FORMAT.major) {
    const mine = `${DIFF_FORMAT.major}.${DIFF_FORMAT.minor}`;
    throw new SnapshotError('unsupported-version', `snapshot diff format ${major}.${minor} is ${major > DIFF_FORMAT.major ? 'newer' : 'older'} than this tabvisor reads (${mine})`);
  }
  const length = view.getUint32(12, true);
  if (length > maxBytes) throw new SnapshotError('too-large', `snapshot diff payload of ${length} bytes exceeds the limit of ${maxBytes} bytes`);
  if (diff.length < HEADER_LENGTH + length) throw new SnapshotError('truncated', `the snapshot diff is truncated: ${diff.length} of ${HEADER_LENGTH + length} bytes present`);
  if (diff.length > HEADER_LENGTH + length) throw new SnapshotError('corrupt', `the snapshot diff has ${diff.length - HEADER_LENGTH - length} unexpected bytes after its payload`);
  const payload = diff.subarray(HEADER_LENGTH);
  if (crc32(payload) !== view.getUint32(16, true)) throw new SnapshotError('bad-checksum', 'the snapshot diff is damaged: its checksum does not match (it was changed or cut)');
  return payload;
}

class ByteWriter {
  private buffer = new Uint8Array(1024);
  private length = 0;

  varint(value: number): void {
    let v = value;
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      this.byte(v > 0 ? low | 0x80 : low);
    } while (v > 0);
  }

  /** Ascending page numbers: the count, then the gaps. */
  pageList(pages: readonly number[]): void {
    this.varint(pages.length);
    let previous = -1;
    for (const page of pages) {
      this.varint(page - previous - 1);
      previous = page;
    }
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
  }
}

/** Reads what ByteWriter wrote; running past the end is a 'corrupt' SnapshotError naming the part. */
class ByteReader {
  private at = 0;

  constructor(private readonly data: Uint8Array) {}

  get atEnd(): boolean {
    return this.at === this.data.length;
  }

  varint(what: string): number {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      if (this.at >= this.data.length) throw new SnapshotError('corrupt', `the snapshot diff ends inside the ${what}`);
      const byte = this.data[this.at++]!;
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) break;
      if (shift > 2 ** 28) throw new SnapshotError('corrupt', `the snapshot diff has an oversized number in the ${what}`);
    }
    return value;
  }

  /** Ascending page numbers below `limit`. */
  pageList(what: string, limit: number): number[] {
    const count = this.varint(what);
    if (count > limit) throw new SnapshotError('corrupt', `the snapshot diff lists ${count} ${what}, more than the machine's ${limit} pages`);
    const pages: number[] = [];
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const page = previous + 1 + this.varint(what);
      if (page >= limit) throw new SnapshotError('corrupt', `the snapshot diff names page ${page} in its ${what}, beyond the machine's RAM`);
      pages.push(page);
      previous = page;
    }
    return pages;
  }

  bytes(count: number, what: string): Uint8Array {
    if (this.at + count > this.data.length) throw new SnapshotError('corrupt', `the snapshot diff ends inside the ${what}`);
    const out = this.data.subarray(this.at, this.at + count);
    this.at += count;
    return out;
  }
}

function pageIndex(pageNumbers: Uint32Array): Map<number, number> {
  const index = new Map<number, number>();
  pageNumbers.forEach((page, i) => index.set(page, i));
  return index;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
