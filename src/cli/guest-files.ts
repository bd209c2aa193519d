/** Reads the images the runner boots, with one-line errors a user can act on. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.ts';

export const DEFAULT_IMAGES_DIR = fileURLToPath(new URL('../../public/images/', import.meta.url));

export interface GuestFiles {
  kernel: Uint8Array;
  initrd: Uint8Array | undefined;
  cmdline: string;
}

const FALLBACK_CMDLINE = 'console=ttyS0 tsc=reliable panic=-1';

export function readGuestFiles(kernelPath: string | undefined, initrdPath: string | undefined, append: string | undefined): GuestFiles {
  const useDefault = kernelPath === undefined;
  const kernel = readFile('kernel', kernelPath ?? DEFAULT_IMAGES_DIR + 'bzImage');
  const initrdFile = initrdPath ?? (useDefault ? DEFAULT_IMAGES_DIR + 'initramfs.cpio.gz' : undefined);
  const initrd = initrdFile === undefined ? undefined : readFile('initrd', initrdFile);
  return { kernel, initrd, cmdline: append ?? (useDefault ? defaultCmdline() : FALLBACK_CMDLINE) };
}

function defaultCmdline(): string {
  try {
    const manifest = JSON.parse(readFileSync(DEFAULT_IMAGES_DIR + 'manifest.json', 'utf8')) as { defaultCmdline?: unknown };
    return typeof manifest.defaultCmdline === 'string' ? manifest.defaultCmdline : FALLBACK_CMDLINE;
  } catch {
    return FALLBACK_CMDLINE;
  }
}

function readFile(what: string, path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String(e);
    throw new UsageError(`cannot read ${what} ${path}: ${why}`);
  }
}
