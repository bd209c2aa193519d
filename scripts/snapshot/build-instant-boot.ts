/**
 * `npm run image:instant-boot`: makes public/images/instant-boot.tabvm, the
 * default VM already at its shell prompt, which the playground restores
 * instead of booting the kernel (docs/snapshots.md, "Instant boot").
 *
 * The VM is made exactly as the playground makes its default VM, through the
 * coordinator (Node host: a worker thread running the same guest worker code
 * as the browser's module worker), from public/images served over loopback
 * HTTP: 64 MiB, real-time clock, the manifest's default command line (plus
 * init_on_free=1, see EXTRA_CMDLINE). Once the
 * prompt is shown and the console has been quiet for a while (late kernel
 * messages are in), coordinator.snapshot() writes the file. Before anything
 * is written, the snapshot is restored into a second VM that must answer a
 * command. Then the file and its identity (`instantBoot` in manifest.json:
 * size, sha256, format version, RAM, the image sha256s) are written.
 *
 * Run it again whenever the snapshot format or the machine's state changes
 * incompatibly, or the images are rebuilt: scripts/snapshot/instant-boot.test.ts fails
 * and says so.
 */
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { decodeSnapshot } from '../../src/core/snapshot/format.ts';
import { CURRENT_FORMAT, formatVersionText } from '../../src/core/snapshot/version.ts';
import { Coordinator } from '../../src/vmm/coordinator.ts';
import { createNodeHost } from '../../src/vmm/host/node-host.ts';
import type { ImageSpec } from '../../src/vmm/shared/protocol.ts';
import { startImageServer } from '../../src/vmm/test-support/image-server.ts';
import { IMAGES_DIR, INSTANT_BOOT_FILE, MANIFEST_PATH, PROMPT, readImageManifest, type InstantBootEntry } from './instant-boot-entry.ts';

const RAM_MIB = 64;
/**
 * Added to the manifest's command line for this VM only: the kernel zeroes
 * pages when it frees them, so memory a command used and gave back equals
 * the (zeroed) free page of the snapshot again, and share links, which store
 * only pages that differ from this snapshot, stay small (measured after a few
 * commands: about 30 KB of URL instead of 54 KB). VMs restored from the
 * snapshot keep it, also across a reboot; cold-booted VMs do not have it.
 */
const EXTRA_CMDLINE = ' init_on_free=1';
/** The console must stay silent this long after the prompt before the snapshot is taken. */
const QUIET_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `id` has printed nothing for QUIET_MS (at most a minute). */
async function settle(coordinator: Coordinator, id: string): Promise<void> {
  let quietSince = performance.now();
  const deadline = quietSince + 60_000;
  while (performance.now() - quietSince < QUIET_MS) {
    if (performance.now() > deadline) throw new Error(`the console never went quiet; last output:\n${coordinator.transcript(id).slice(-1000)}`);
    await sleep(100);
    if (coordinator.read(id) !== '') quietSince = performance.now();
  }
}

const manifest = readImageManifest();
const server = await startImageServer();
const coordinator = new Coordinator(createNodeHost());
try {
  const image: ImageSpec = {
    kind: 'linux',
    kernelUrl: `${server.imagesUrl}bzImage`,
    initrdUrl: `${server.imagesUrl}initramfs.cpio.gz`,
    cmdline: manifest.defaultCmdline + EXTRA_CMDLINE,
  };
  const t0 = performance.now();
  const vm = coordinator.createVm({ name: 'instant-boot', ramMiB: RAM_MIB, image });
  await coordinator.start(vm.id);
  await coordinator.waitFor(vm.id, new RegExp(PROMPT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 300_000);
  const bootMs = performance.now() - t0;
  coordinator.read(vm.id);
  await settle(coordinator, vm.id);
  const file = await coordinator.snapshot(vm.id);
  await coordinator.deleteVm(vm.id);

  const check = await coordinator.clone(file, { name: 'instant-boot check', ramMiB: RAM_MIB, image });
  await coordinator.send(check.id, 'echo "instant-boot $((6*7))"\n');
  await coordinator.waitFor(check.id, /instant-boot 42/, 60_000);
  await coordinator.deleteVm(check.id);

  const decoded = await decodeSnapshot(file);
  const sha256 = createHash('sha256').update(file).digest('hex');
  const entry: InstantBootEntry = {
    name: INSTANT_BOOT_FILE,
    size: file.length,
    sha256,
    snapshotFormat: formatVersionText(CURRENT_FORMAT),
    ramMiB: RAM_MIB,
    images: decoded.manifest.images.map(({ name, role, sha256: imageSha }) => ({ name, role, sha256: imageSha })),
    built:
      'npm run image:instant-boot (scripts/snapshot/build-instant-boot.ts): the default image booted under the coordinator ' +
      `in Node (real-time clock, ${RAM_MIB} MiB, defaultCmdline +${EXTRA_CMDLINE}) to the prompt "${PROMPT}", console quiet for ${QUIET_MS / 1000} s, then coordinator.snapshot()`,
  };
  const target = `${IMAGES_DIR}${INSTANT_BOOT_FILE}`;
  writeFileSync(`${target}.tmp`, file);
  renameSync(`${target}.tmp`, target);
  writeFileSync(`${MANIFEST_PATH}.tmp`, `${JSON.stringify({ ...manifest, instantBoot: entry }, null, 2)}\n`);
  renameSync(`${MANIFEST_PATH}.tmp`, MANIFEST_PATH);
  console.log(`wrote ${target}: ${file.length} bytes, format ${entry.snapshotFormat}, sha256 ${sha256} (boot to prompt took ${Math.round(bootMs)} ms)`);
} finally {
  await coordinator.dispose();
  await server.close();
}
