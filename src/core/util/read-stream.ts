/**
 * Reads a byte stream to its end into one array, refusing to hold more than
 * `limit` bytes: used wherever the engine inflates data it did not make
 * (initrd archives, snapshot payloads), so a small input cannot expand into
 * an unbounded allocation.
 */

/** Thrown by readStreamLimited when the stream yields more than the limit; callers turn it into their own error. */
export class StreamLimitError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
    this.name = 'StreamLimitError';
  }
}

export async function readStreamLimited(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new StreamLimitError(limit);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
