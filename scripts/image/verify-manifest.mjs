#!/usr/bin/env node
// Check public/images/manifest.json against the files next to it.
//
//   node scripts/image/verify-manifest.mjs [path/to/manifest.json]   (default: <repo>/public/images/manifest.json)
//
// Recomputes size and sha256 of every entry in "files" and, when bzImage is
// listed, re-parses its boot header and compares the "kernel" fields
// (bootProtocol, code32Start, initSize).  The "instantBoot" entry (the
// instant-boot snapshot, scripts/snapshot/build-instant-boot.ts) must match
// its file too: size, sha256, the format version in its header, and the
// images it was made from must be this manifest's files, as the snapshot's
// own manifest records them.  A snapshot file without an entry is reported.
// Prints one line per problem and exits 1 if there is any, 0 otherwise.
//
// Importable for unit tests:
//   import { verifyManifest } from './verify-manifest.mjs';
//   const problems = verifyManifest('public/images/manifest.json'); // [] when OK
// Plain ESM, node builtins only.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectBzImage } from './inspect-bzimage.mjs';

export function verifyManifest(manifestPath) {
  const problems = [];
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    return [`cannot read ${manifestPath}: ${e.message}`];
  }
  const dir = dirname(manifestPath);
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) {
    return [`${manifestPath}: "files" must be a non-empty array`];
  }
  const seen = new Set();
  for (const f of manifest.files) {
    if (typeof f?.name !== 'string' || f.name !== basename(f.name) || f.name.startsWith('.')) {
      problems.push(`bad file name ${JSON.stringify(f?.name)}`);
      continue;
    }
    if (seen.has(f.name)) problems.push(`${f.name}: listed twice`);
    seen.add(f.name);
    const p = join(dir, f.name);
    if (!existsSync(p)) {
      problems.push(`${f.name}: missing`);
      continue;
    }
    const data = readFileSync(p);
    const size = statSync(p).size;
    if (size !== f.size) problems.push(`${f.name}: size ${size}, manifest says ${f.size}`);
    const sha = createHash('sha256').update(data).digest('hex');
    if (sha !== f.sha256) problems.push(`${f.name}: sha256 ${sha}, manifest says ${f.sha256}`);
    if (f.name === 'bzImage' && manifest.kernel) {
      try {
        const h = inspectBzImage(data);
        const k = manifest.kernel;
        if (k.bootProtocol !== undefined && k.bootProtocol !== h.bootProtocol)
          problems.push(`bzImage: boot protocol ${h.bootProtocol}, manifest says ${k.bootProtocol}`);
        if (k.code32Start !== undefined && k.code32Start !== h.code32Start)
          problems.push(`bzImage: code32_start ${h.code32Start}, manifest says ${k.code32Start}`);
        if (k.initSize !== undefined && k.initSize !== h.initSize)
          problems.push(`bzImage: init_size ${h.initSize}, manifest says ${k.initSize}`);
      } catch (e) {
        problems.push(`bzImage: ${e.message}`);
      }
    }
  }
  problems.push(...verifyInstantBoot(manifest, dir));
  return problems;
}

const INSTANT_BOOT_FILE = 'instant-boot.tabvm';
const REBUILD = 'run `npm run image:instant-boot`';

/** Problems with the "instantBoot" entry and its snapshot file (see the header comment). */
function verifyInstantBoot(manifest, dir) {
  const entry = manifest.instantBoot;
  if (entry === undefined) {
    return existsSync(join(dir, INSTANT_BOOT_FILE)) ? [`${INSTANT_BOOT_FILE} is not described by the manifest: ${REBUILD}`] : [];
  }
  if (typeof entry?.name !== 'string' || entry.name !== basename(entry.name)) return [`instantBoot: bad file name ${JSON.stringify(entry?.name)}`];
  const p = join(dir, entry.name);
  if (!existsSync(p)) return [`${entry.name}: missing (${REBUILD})`];
  const data = readFileSync(p);
  const problems = [];
  if (data.length !== entry.size) problems.push(`${entry.name}: size ${data.length}, manifest says ${entry.size}`);
  const sha = createHash('sha256').update(data).digest('hex');
  if (sha !== entry.sha256) problems.push(`${entry.name}: sha256 ${sha}, manifest says ${entry.sha256}`);
  if (problems.length) return problems;

  // The .tabvm header (src/core/snapshot/format.ts): magic, version u16 x3, payload length, CRC, header length; then deflate-raw.
  if (data.subarray(0, 8).toString('latin1') !== 'TABVSNAP') return [`${entry.name}: not a tabvisor snapshot`];
  const version = `${data.readUInt16LE(8)}.${data.readUInt16LE(10)}.${data.readUInt16LE(12)}`;
  if (version !== entry.snapshotFormat) problems.push(`${entry.name}: written with snapshot format ${version}, manifest says ${entry.snapshotFormat}`);
  let recorded;
  try {
    const payload = inflateRawSync(data.subarray(data.readUInt32LE(28)));
    recorded = JSON.parse(payload.subarray(4, 4 + payload.readUInt32LE(0)).toString('utf8')).images;
  } catch (e) {
    return [...problems, `${entry.name}: its snapshot manifest cannot be read: ${e.message}`];
  }
  const images = Array.isArray(entry.images) ? entry.images : [];
  const same = (a, b) => a.length === b.length && a.every((x, i) => x.name === b[i].name && x.sha256 === b[i].sha256 && x.role === b[i].role);
  if (!Array.isArray(recorded) || !same(images, recorded)) problems.push(`${entry.name}: the images its snapshot records differ from instantBoot.images`);
  for (const image of images) {
    const file = manifest.files.find((f) => f?.name === image.name);
    if (!file) problems.push(`instantBoot: made from ${image.name}, which the manifest does not list`);
    else if (file.sha256 !== image.sha256) problems.push(`instantBoot: made from another ${image.name} than the one listed (${REBUILD})`);
  }
  if (images.length === 0) problems.push('instantBoot: lists no images');
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manifestPath = process.argv[2] ?? fileURLToPath(new URL('../../public/images/manifest.json', import.meta.url));
  const problems = verifyManifest(manifestPath);
  for (const p of problems) console.error(`verify-manifest: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`verify-manifest: ${manifestPath} OK`);
}
