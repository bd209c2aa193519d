/**
 * The last lines of a VM's console as plain text, for a snapshot's preview:
 * what the screen showed, without the terminal's control sequences (BusyBox's
 * shell asks for the cursor position after each prompt, line editing sends
 * backspaces and carriage returns).
 */

export const PREVIEW_LINES = 10;
/** Longer lines are cut: the preview is a reminder, not a transcript. */
export const PREVIEW_LINE_CHARS = 160;

// CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \) and the two-byte ESC sequences.
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function consolePreview(transcript: string, lines = PREVIEW_LINES): string[] {
  // Only the tail matters; a bounded slice keeps this cheap on a 1 Mi character transcript.
  const tail = transcript.slice(-lines * PREVIEW_LINE_CHARS * 4).replace(ESCAPE_SEQUENCE, '');
  const shown = tail.split('\n').map(renderLine);
  while (shown.length > 0 && shown[shown.length - 1]!.trim() === '') shown.pop();
  return shown.slice(-lines);
}

/** One line as a terminal would leave it: a carriage return starts it over, a backspace takes a character back. */
function renderLine(raw: string): string {
  let line = '';
  for (const segment of raw.replace(/\r+$/, '').split('\r')) {
    let text = '';
    for (const char of segment) {
      if (char === '\b') text = text.slice(0, -1);
      else if (char === '\t') text += ' ';
      else if (char >= ' ' && char !== '\x7f') text += char;
    }
    // Text after a carriage return overwrites the start of what was there.
    line = text + line.slice(text.length);
  }
  return line.length > PREVIEW_LINE_CHARS ? `${line.slice(0, PREVIEW_LINE_CHARS - 1)}…` : line;
}
