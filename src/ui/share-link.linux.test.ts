/**
 * Share links end to end with real Linux guests in worker threads, the way
 * the page does it: a VM starts from the committed instant-boot snapshot,
 * writes a file, "Copy link" makes a fragment link, and a second VM made from
 * that link (as a page opening it would) finds the file.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Coordinator } from '../vmm/coordinator.ts';
import { createNodeHost } from '../vmm/host/node-host.ts';
import { startImageServer, type ImageServer } from '../vmm/test-support/image-server.ts';
import type { ImageSpec } from '../vmm/shared/protocol.ts';
import { findImage } from './images.ts';
import { InstantBootLoader } from './instant-boot.ts';
import { readLaunchRequest } from './launch-params.ts';
import { buildShareLink } from './share-link-builder.ts';
import { fragmentSource } from './snapshot-sources.ts';

const PROMPT = /root@tabvisor:~# /;
let server: ImageServer;
let coordinator: Coordinator;
let loader: InstantBootLoader;
let image: ImageSpec;

beforeAll(async () => {
  server = await startImageServer();
  coordinator = new Coordinator(createNodeHost(), { cpuBudgetCores: 1.5 });
  const origin = new URL(server.imagesUrl).origin;
  loader = new InstantBootLoader({
    baseUrl: `${origin}/`,
    fetch: (url) => fetch(url),
    publish: () => 'blob:unused',
    sha256: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
  });
  image = { kind: 'linux', kernelUrl: `${server.imagesUrl}bzImage`, initrdUrl: `${server.imagesUrl}initramfs.cpio.gz` };
});

afterAll(async () => {
  await coordinator?.dispose();
  await server?.close();
});

test('a file written after instant boot is there in a VM opened from the share link', { timeout: 180_000 }, async () => {
  const linux = findImage('linux')!;
  const base = await loader.load(linux);
  const sender = coordinator.createVm({ name: 'sender', ramMiB: base.ramMiB, image });
  await coordinator.start(sender.id, base.file);
  await coordinator.send(sender.id, 'echo "shared $((20+22))" > /tmp/f\n');
  await coordinator.waitFor(sender.id, PROMPT, 30_000);

  const link = await buildShareLink({ snapshot: () => coordinator.snapshot(sender.id), base: async () => base.file, pageUrl: 'https://tabvisor.example/' });
  if (link.kind !== 'fragment') throw new Error(`the link did not fit: ${link.hint}`);
  console.log(`share link after one command: ${link.bytes} characters`);
  expect(link.bytes).toBeLessThan(32 * 1024);

  const launch = readLaunchRequest(link.url);
  if (launch.kind !== 'fragment') throw new Error('the link is not read as a share link');
  const shared = await fragmentSource(launch.data, loader, linux).load(() => undefined);
  const receiver = coordinator.createVm({ name: 'receiver', ramMiB: shared.ramMiB, image });
  await coordinator.start(receiver.id, shared.file);
  expect(coordinator.get(receiver.id).state).toBe('running');
  await coordinator.send(receiver.id, 'cat /tmp/f\n');
  await coordinator.waitFor(receiver.id, /shared 42/, 30_000);
});
