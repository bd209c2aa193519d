import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findWorkload, WORKLOADS } from './definitions.ts';
import { cleanConsoleText, parseCommandOutput, typedCommand } from './serial-protocol.ts';
import { verifyOutput } from './verify.ts';

describe('workload checksums', () => {
  it('knows the sha256 of 64 MiB of zeros', () => {
    const hash = createHash('sha256');
    const mib = new Uint8Array(1 << 20);
    for (let i = 0; i < 64; i++) hash.update(mib);
    expect(findWorkload('sha256').expected).toBe(`${hash.digest('hex')}  -`);
  });

  it('knows the result of the shell arithmetic loop', () => {
    let s = 0;
    for (let i = 0; i < 200_000; i++) s = (s + i * 7) % 1000003;
    expect(findWorkload('shell').expected).toBe(String(s));
    expect(findWorkload('shell').command).toContain('200000');
  });

  it('has unique ids and one-line commands', () => {
    expect(new Set(WORKLOADS.map((w) => w.id)).size).toBe(WORKLOADS.length);
    for (const w of WORKLOADS) expect(w.command).not.toMatch(/[\r\n]/);
  });
});

describe('verifyOutput', () => {
  const sha = findWorkload('sha256');
  const gzip = findWorkload('gzip');

  it('accepts the right answer and the native output', () => {
    expect(verifyOutput(sha, { output: sha.expected!, status: 0 }, sha.expected)).toEqual({ ok: true });
    expect(verifyOutput(gzip, { output: 'abc  -', status: 0 }, 'abc  -')).toEqual({ ok: true });
    expect(verifyOutput(gzip, { output: 'abc  -', status: 0 })).toEqual({ ok: true });
  });

  it('rejects a wrong answer, a difference from native and a failed command', () => {
    expect(verifyOutput(sha, { output: 'f00  -', status: 0 })).toMatchObject({ ok: false, why: expect.stringContaining('right answer') });
    expect(verifyOutput(gzip, { output: 'abd  -', status: 0 }, 'abc  -')).toMatchObject({ ok: false, why: expect.stringContaining('natively "abc  -"') });
    expect(verifyOutput(gzip, { output: 'abc  -', status: 1 }, 'abc  -')).toMatchObject({ ok: false, why: expect.stringContaining('exit status 1') });
  });
});

describe('serial protocol', () => {
  it('finds the output between the markers, not in the echo, through line wraps and escapes', () => {
    const t = typedCommand('tvb-int', 3);
    expect(t.line).toBe('echo "@@BE""GIN3@@"; tvb-int; echo "@@EN""D3@@ $?"\n');
    const console =
      '\x1b[6necho "@@BE""GIN3@@"; tvb-int; ech\r\no "@@EN""D3@@ $?"\r\n@@BEGIN3@@\r\ntvb-int primes=1 \r\nsecond line\r\n@@END3@@ 0\r\nroot@tabvisor:/tmp/tvb# \x1b[6n';
    expect(parseCommandOutput(console, 3)).toEqual({ output: 'tvb-int primes=1\nsecond line', status: 0 });
    expect(new RegExp(t.endMarker).test(console)).toBe(true);
    expect(parseCommandOutput(console, 2)).toBeUndefined();
    expect(parseCommandOutput(console.slice(0, console.indexOf('@@END3')), 3)).toBeUndefined();
  });

  it('reports the exit status and strips terminal escapes', () => {
    expect(parseCommandOutput('@@BEGIN1@@\n@@END1@@ 127\n', 1)).toEqual({ output: '', status: 127 });
    expect(cleanConsoleText('a\x1b[6n\x1b[1;32mb\r\n')).toBe('ab\n');
  });
});
