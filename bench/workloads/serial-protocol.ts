/**
 * How the benchmark drives a guest shell over a serial console, the same for
 * every emulator: the typed line brackets the command with a begin and an
 * end marker, each split by quotes in the typed text so that the terminal's
 * echo of the line never matches. The end marker carries the exit status.
 * The timed interval is from sending the line to the end marker's arrival.
 */

/** The prompt of the image's shell in /root, where it starts. */
export const PROMPT = 'root@tabvisor:~# ';
/** The prompt in any directory (the line editor follows it with a cursor position query, ESC [6n). */
export const ANY_PROMPT = /root@tabvisor:[^\s]*# /;

export interface TypedCommand {
  /** What to type, Enter included. */
  readonly line: string;
  /** RegExp source matching the end marker line (with the status in group 1). */
  readonly endMarker: string;
}

export function typedCommand(command: string, n: number): TypedCommand {
  if (/[\r\n]/.test(command)) throw new Error('a benchmark command is one line');
  return {
    line: `echo "@@BE""GIN${n}@@"; ${command}; echo "@@EN""D${n}@@ $?"\n`,
    endMarker: `@@END${n}@@ (\\d+)\\r?\\n`,
  };
}

/** Strips terminal escape sequences (busybox line editing emits a few) and CRs. */
export function cleanConsoleText(text: string): string {
  // eslint-disable-next-line no-control-regex -- escape sequences are what we remove
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[c78]/g, '').replace(/\r/g, '');
}

export interface CommandOutput {
  /** What the command printed, trimmed, line ends normalised. */
  readonly output: string;
  readonly status: number;
}

/** Finds command `n`'s output and status in console text received since it was typed; undefined until complete. */
export function parseCommandOutput(consoleText: string, n: number): CommandOutput | undefined {
  const text = cleanConsoleText(consoleText);
  const begin = new RegExp(`(^|\\n)@@BEGIN${n}@@\\n`).exec(text);
  if (!begin) return undefined;
  const from = begin.index + begin[0].length;
  const end = new RegExp(`(^|\\n)@@END${n}@@ (\\d+)\\n`).exec(text.slice(from));
  if (!end) return undefined;
  const output = text.slice(from, from + end.index).split('\n').map((l) => l.trimEnd()).join('\n').trim();
  return { output, status: Number(end[2]) };
}
