/** The default guest image (public/images), booted the way `npm run vm` boots it without arguments. */
import { readFileSync } from 'node:fs';
import type { Machine } from '../src/core/machine.ts';
import { prepareInitrd } from '../src/core/boot/initrd.ts';

export const IMAGES = new URL('../public/images/', import.meta.url);

/** Loads bzImage, initramfs (inflated on the host) and the manifest's command line into `machine`. */
export async function bootDefaultImage(machine: Machine): Promise<void> {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', IMAGES), 'utf8')) as { defaultCmdline: string };
  machine.bootLinux({
    kernel: new Uint8Array(readFileSync(new URL('bzImage', IMAGES))),
    initrd: await prepareInitrd(new Uint8Array(readFileSync(new URL('initramfs.cpio.gz', IMAGES)))),
    cmdline: manifest.defaultCmdline,
  });
}
