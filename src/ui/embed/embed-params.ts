/**
 * The embed page's query string: `embed.html?image=<catalogue id>&vm=<name>&origin=<parent origin>`
 * (and `jit=0` to run interpreted only: launch-params.ts readJitDefault).
 * All optional; unknown images are reported, not guessed.
 */
import { DEFAULT_IMAGE_ID } from '../images.ts';
import { NAME_MAX_LENGTH } from '../new-vm-form.ts';

export interface EmbedParams {
  readonly imageId: string;
  readonly vmName: string | undefined;
  /** Only this origin may drive the embed over postMessage. */
  readonly allowedOrigin: string | undefined;
}

export function parseEmbedParams(search: string): EmbedParams {
  const params = new URLSearchParams(search);
  const image = params.get('image')?.trim();
  const vm = params.get('vm')?.trim().slice(0, NAME_MAX_LENGTH);
  let allowedOrigin: string | undefined;
  const origin = params.get('origin')?.trim();
  if (origin) {
    try {
      allowedOrigin = new URL(origin).origin;
    } catch {
      allowedOrigin = undefined;
    }
  }
  return { imageId: image || DEFAULT_IMAGE_ID, vmName: vm || undefined, allowedOrigin };
}
