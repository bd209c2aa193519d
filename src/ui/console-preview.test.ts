import { expect, test } from 'vitest';
import { consolePreview, PREVIEW_LINE_CHARS } from './console-preview.ts';

test('keeps the last lines, without trailing blank ones', () => {
  const transcript = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\r\n') + '\r\n\r\n';
  expect(consolePreview(transcript)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${20 + i}`));
  expect(consolePreview(transcript, 2)).toEqual(['line 28', 'line 29']);
  expect(consolePreview('')).toEqual([]);
});

test('drops terminal control sequences and applies backspaces and carriage returns', () => {
  // BusyBox ash: colour, the cursor position query after the prompt, line editing.
  const transcript = '\x1b[1;32mok\x1b[0m\r\nroot@tabvisor:~# \x1b[6necho hx\b \bi > /tmp/f\r\n\x1b]0;title\x07abcdef\rXY\r\n';
  expect(consolePreview(transcript)).toEqual(['ok', 'root@tabvisor:~# echo hi > /tmp/f', 'XYcdef']);
});

test('cuts very long lines', () => {
  const [line] = consolePreview('x'.repeat(1000));
  expect(line).toHaveLength(PREVIEW_LINE_CHARS);
  expect(line!.endsWith('…')).toBe(true);
});
