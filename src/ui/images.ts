/**
 * The image catalogue: what the playground, the New VM dialog, the embed page
 * (`embed.html?image=<id>`) and `window.tabvisor.create({ image })` can boot.
 *
 * Linux entries are downloaded with progress, checked against their
 * manifest's SHA-256 and handed to the worker as blob URLs (image-loader.ts).
 */
import type { SyntheticSpec } from '../vmm/shared/protocol.ts';

export type ImageSource =
  | { readonly kind: 'synthetic'; readonly spec: SyntheticSpec }
  | {
      readonly kind: 'linux';
      /** Paths are resolved against the page's URL. */
      readonly kernel: string;
      readonly initrd: string;
      /** Sizes and sha256 of the files above, and the kernel command line (scripts/image/write-manifest.mjs). */
      readonly manifest: string;
    };

export interface CatalogueImage {
  readonly id: string;
  readonly label: string;
  /** One sentence for the New VM dialog. */
  readonly description: string;
  readonly source: ImageSource;
}

const SYNTHETIC_BANNER =
  'tabvisor synthetic guest: a stand-in guest for trying the scheduler.\r\n' +
  'It echoes what you type.\r\n$ ';

export const IMAGES: readonly CatalogueImage[] = [
  {
    id: 'linux',
    label: 'Linux 6.1 (i386, BusyBox)',
    description: 'The default guest: a small i386 kernel with a BusyBox initramfs on the serial console.',
    source: {
      kind: 'linux',
      kernel: '/images/bzImage',
      initrd: '/images/initramfs.cpio.gz',
      manifest: '/images/manifest.json',
    },
  },
  {
    id: 'echo',
    label: 'Synthetic echo guest (idle)',
    description: 'Echoes console input and sleeps in between, like an idle shell.',
    source: { kind: 'synthetic', spec: { behaviour: 'idle', banner: SYNTHETIC_BANNER } },
  },
  {
    id: 'busy',
    label: 'Synthetic busy guest',
    description: 'Never halts: uses all the CPU the scheduler grants it, and echoes input.',
    source: { kind: 'synthetic', spec: { behaviour: 'busy', banner: SYNTHETIC_BANNER } },
  },
  {
    id: 'grow',
    label: 'Synthetic guest that grows its memory',
    description: 'Allocates about 1 MiB per second until it reaches its memory budget and is paused.',
    source: { kind: 'synthetic', spec: { behaviour: 'idle', banner: SYNTHETIC_BANNER, framesPerMs: 0.25 } },
  },
];

/** The image new VMs get unless they ask for another. */
export const DEFAULT_IMAGE_ID = 'linux';

export function findImage(id: string): CatalogueImage | undefined {
  return IMAGES.find((image) => image.id === id);
}

export function defaultImage(): CatalogueImage {
  const image = findImage(DEFAULT_IMAGE_ID);
  if (!image) throw new Error(`the default image ${DEFAULT_IMAGE_ID} is not in the catalogue`);
  return image;
}
