/** Serves public/images over loopback HTTP so Node workers fetch the guest exactly as browsers do. */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { VmConfigInput } from '../vm-registry.ts';

const IMAGES = fileURLToPath(new URL('../../../public/images/', import.meta.url));

export interface ImageServer {
  /** Base URL ending in '/', e.g. http://127.0.0.1:1234/images/ */
  imagesUrl: string;
  close(): Promise<void>;
}

export async function startImageServer(): Promise<ImageServer> {
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/images\//, '');
    if (!/^[\w.-]+$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    readFile(IMAGES + name).then(
      (data) => res.writeHead(200, { 'content-length': data.length }).end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('image server has no port');
  return {
    imagesUrl: `http://127.0.0.1:${address.port}/images/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A 64 MiB VM running the default Linux image from `server` (or another kernel file next to it). */
export function linuxVm(server: ImageServer, name: string, kernel = 'bzImage'): VmConfigInput {
  return {
    name,
    ramMiB: 64,
    image: { kind: 'linux', kernelUrl: server.imagesUrl + kernel, initrdUrl: server.imagesUrl + 'initramfs.cpio.gz' },
  };
}
