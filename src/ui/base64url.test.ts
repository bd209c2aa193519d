import { describe, expect, test } from 'vitest';
import { fromBase64Url, toBase64Url } from './base64url.ts';

describe('base64url', () => {
  test('matches the RFC 4648 test vectors (no padding, URL alphabet)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64Url(encoded))).toBe(plain);
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('-_-_');
  });

  test('round trips every byte value at every length mod 3', () => {
    const bytes = new Uint8Array(259).map((_, i) => (i * 151) & 0xff);
    for (const n of [256, 257, 258, 259]) expect(fromBase64Url(toBase64Url(bytes.subarray(0, n)))).toEqual(bytes.subarray(0, n));
  });

  test('refuses characters outside the alphabet and impossible lengths', () => {
    expect(() => fromBase64Url('Zm9v+g')).toThrow('character 5 ("+") is not base64url');
    expect(() => fromBase64Url('Zm9vY')).toThrow('5 characters cannot be base64url (it was cut)');
  });
});
