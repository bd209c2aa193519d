/**
 * What the playground's URL asks for at start-up:
 * - `#snapshot=<data>`: a share link, restored into a new VM;
 * - `?snapshot=<url>`: a `.tabvm` file from any CORS-enabled URL, restored into a new VM;
 * - `?boot=cold`: the default VM boots its kernel (the boot log shows);
 * - nothing: the default VM starts from the instant-boot snapshot;
 * - `?jit=0` (or `off`, `false`): the page's VMs run interpreted only (readJitDefault).
 * A fragment wins over the query. Malformed requests become `invalid` with
 * the sentence to show.
 */
import { SNAPSHOT_PARAM } from './share-fragment.ts';

export type LaunchRequest =
  | { readonly kind: 'instant-boot' }
  | { readonly kind: 'cold-boot' }
  | { readonly kind: 'fragment'; readonly data: string }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'invalid'; readonly message: string };

export function readLaunchRequest(href: string): LaunchRequest {
  const page = new URL(href);
  const prefix = `#${SNAPSHOT_PARAM}=`;
  if (page.hash.startsWith(prefix)) return { kind: 'fragment', data: page.hash.slice(prefix.length) };
  const target = page.searchParams.get(SNAPSHOT_PARAM);
  if (target !== null) {
    let url: URL | undefined;
    try {
      url = new URL(target, page);
    } catch {
      url = undefined;
    }
    if (target.trim() === '' || !url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      return { kind: 'invalid', message: `The snapshot link is not usable: “${target}” is not the http(s) URL of a snapshot file.` };
    }
    return { kind: 'url', url: url.href };
  }
  if (page.searchParams.get('boot') === 'cold') return { kind: 'cold-boot' };
  return { kind: 'instant-boot' };
}

/**
 * Whether the page's new VMs compile hot guest code to WebAssembly: yes
 * unless `?jit=0`, `off` or `false` (for comparing with the interpreter, or
 * as a way out should the JIT misbehave). The JIT compiles nothing during the
 * boot, so it costs the first prompt nothing (src/core/jit/README.md).
 */
export function readJitDefault(href: string): boolean {
  const value = new URL(href).searchParams.get('jit')?.trim().toLowerCase();
  return !(value === '0' || value === 'off' || value === 'false');
}
