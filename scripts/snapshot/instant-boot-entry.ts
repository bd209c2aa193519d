/**
 * The `instantBoot` entry of public/images/manifest.json: the identity of
 * the shipped instant-boot snapshot (written by build-instant-boot.ts,
 * checked by scripts/image/verify-manifest.mjs and instant-boot.test.ts; the
 * playground reads it through src/ui/image-loader.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const IMAGES_DIR = fileURLToPath(new URL('../../public/images/', import.meta.url));
export const MANIFEST_PATH = `${IMAGES_DIR}manifest.json`;
export const INSTANT_BOOT_FILE = 'instant-boot.tabvm';
/** What the snapshot's guest shows when restored (BusyBox ash's prompt). */
export const PROMPT = 'root@tabvisor:~# ';

export interface InstantBootEntry {
  name: string;
  size: number;
  sha256: string;
  /** The snapshot format version the file was written with. */
  snapshotFormat: string;
  /** The VM's RAM: a VM restored from the file must have the same. */
  ramMiB: number;
  /** The boot images it was made from (as in `files`). */
  images: Array<{ name: string; role: string; sha256: string }>;
  built: string;
}

export interface ImageManifestJson {
  files: Array<{ name: string; size: number; sha256: string }>;
  defaultCmdline: string;
  instantBoot?: InstantBootEntry;
  [key: string]: unknown;
}

export function readImageManifest(path = MANIFEST_PATH): ImageManifestJson {
  return JSON.parse(readFileSync(path, 'utf8')) as ImageManifestJson;
}
