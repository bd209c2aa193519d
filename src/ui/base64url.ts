/**
 * base64url (RFC 4648 §5, no padding): the alphabet that survives URLs,
 * fragments and chat apps unescaped. Used for share links' `#snapshot=`.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Map([...ALPHABET].map((c, i) => [c, i]));

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** The bytes of base64url `text`; throws a RangeError naming the first bad character or a length no encoder produces. */
export function fromBase64Url(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const v = VALUES.get(text[i]!);
    if (v === undefined) throw new RangeError(`character ${i + 1} ("${text[i]}") is not base64url`);
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  // Checked after the characters: a stray character is the likelier and more useful explanation.
  if (text.length % 4 === 1) throw new RangeError(`${text.length} characters cannot be base64url (it was cut)`);
  return out;
}
