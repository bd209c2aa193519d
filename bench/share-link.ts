/**
 * Share-link sizes: a VM started from the committed instant-boot snapshot
 * (through the coordinator and a guest worker thread, as in the page) is
 * shared as a link (src/ui/share-link-builder.ts) right after the restore,
 * after `echo hi > /tmp/f`, and after a few more commands. Prints one JSON
 * line with the link lengths in characters for the page
 * https://tabvisor.example/ (a longer page URL adds its length), how long the
 * start from the snapshot took (new worker, images loaded, restore), and then
 * the first command.
 * Not a test; bench/main.ts runs it per sample.
 */
import { readFileSync } from 'node:fs';
import { Coordinator } from '../src/vmm/coordinator.ts';
import { createNodeHost } from '../src/vmm/host/node-host.ts';
import { startImageServer } from '../src/vmm/test-support/image-server.ts';
import { buildShareLink } from '../src/ui/share-link-builder.ts';

const images = new URL('../public/images/', import.meta.url);
const base = new Uint8Array(readFileSync(new URL('instant-boot.tabvm', images)));
const manifest = JSON.parse(readFileSync(new URL('manifest.json', images), 'utf8')) as { instantBoot: { ramMiB: number } };
const server = await startImageServer();
const coordinator = new Coordinator(createNodeHost());
try {
  const image = { kind: 'linux' as const, kernelUrl: `${server.imagesUrl}bzImage`, initrdUrl: `${server.imagesUrl}initramfs.cpio.gz` };
  const vm = coordinator.createVm({ name: 'shared', ramMiB: manifest.instantBoot.ramMiB, image });
  let marks = 0;
  /** Runs `command` and waits until its output is complete (a marker after it). */
  const run = async (command: string): Promise<void> => {
    const mark = `done-${++marks}`;
    await coordinator.send(vm.id, `${command}; echo ${mark.replace('-', '""-')}\n`);
    await coordinator.waitFor(vm.id, new RegExp(mark), 60_000);
  };
  const linkChars = async (): Promise<number> => {
    const link = await buildShareLink({ snapshot: () => coordinator.snapshot(vm.id), base: async () => base, pageUrl: 'https://tabvisor.example/', limit: Infinity });
    return link.bytes;
  };

  const t0 = performance.now();
  await coordinator.start(vm.id, base);
  const startMs = performance.now() - t0;
  const freshChars = await linkChars();
  const t1 = performance.now();
  await run('echo hi > /tmp/f');
  const firstCommandMs = performance.now() - t1;
  const afterEchoChars = await linkChars();
  await run('ls -l /; uname -a; head -3 /proc/meminfo; ps; cat /tmp/f');
  const afterCommandsChars = await linkChars();
  console.log(JSON.stringify({ startMs, firstCommandMs, freshChars, afterEchoChars, afterCommandsChars }));
} finally {
  await coordinator.dispose();
  await server.close();
}
