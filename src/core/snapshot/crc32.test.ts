import { expect, test } from 'vitest';
import { crc32 } from './crc32.ts';

test('crc32 matches the standard check value', () => {
  // The check value of CRC-32/ISO-HDLC for the ASCII string "123456789".
  expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  expect(crc32(new Uint8Array(0))).toBe(0);
});

test('crc32 can be computed in pieces', () => {
  const all = new TextEncoder().encode('tabvisor snapshot payload');
  expect(crc32(all.subarray(10), crc32(all.subarray(0, 10)))).toBe(crc32(all));
});
