#!/usr/bin/env node
// Check public/images/manifest.json against the files next to it.
//
//   node scripts/image/verify-manifest.mjs [path/to/manifest.json]   (default: <repo>/public/images/manifest.json)
//
// Recomputes size and sha256 of every entry in "files" and, when bzImage is
// listed, re-parses its boot header and compares the "kernel" fields
// (bootProtocol, code32Start, initSize).  Prints one line per problem and
// exits 1 if there is any, 0 otherwise.
//
// Importable for unit tests:
//   import { verifyManifest } from './verify-manifest.mjs';
//   const problems = verifyManifest('public/images/manifest.json'); // [] when OK
// Plain ESM, node builtins only.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
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
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manifestPath = process.argv[2] ?? fileURLToPath(new URL('../../public/images/manifest.json', import.meta.url));
  const problems = verifyManifest(manifestPath);
  for (const p of problems) console.error(`verify-manifest: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`verify-manifest: ${manifestPath} OK`);
}
