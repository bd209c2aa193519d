/**
 * The shipped instant-boot snapshot (public/images/instant-boot.tabvm) still
 * works with this build: its manifest entry matches the file and the current
 * snapshot format, and the coordinator starts a VM from it exactly as the
 * playground does (coordinator.start with the file) and the guest answers a
 * command at its prompt. When the core or the format changes incompatibly,
 * these fail and say how to make a new one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { decodeSnapshot } from '../../src/core/snapshot/format.ts';
import { CURRENT_FORMAT, formatVersionText } from '../../src/core/snapshot/version.ts';
import { Coordinator } from '../../src/vmm/coordinator.ts';
import { createNodeHost } from '../../src/vmm/host/node-host.ts';
import { startImageServer, type ImageServer } from '../../src/vmm/test-support/image-server.ts';
import { parseManifest } from '../../src/ui/image-loader.ts';
import { IMAGES_DIR, PROMPT, readImageManifest } from './instant-boot-entry.ts';

const REBUILD = 'the instant-boot snapshot no longer fits this build: run `npm run image:instant-boot` and commit public/images';
const manifest = readImageManifest();
const entry = manifest.instantBoot!;

let images: ImageServer;
let coordinator: Coordinator;

beforeAll(async () => {
  images = await startImageServer();
  // The guest worker the CLI and the playground use (not the tests' instrumented one).
  coordinator = new Coordinator(createNodeHost(), { cpuBudgetCores: 1 });
});

afterAll(async () => {
  await coordinator?.dispose();
  await images?.close();
});

test('manifest.json describes the committed snapshot, in the current format, made from the committed images', async () => {
  expect(entry, 'manifest.json has no instantBoot entry: run `npm run image:instant-boot`').toBeDefined();
  const file = new Uint8Array(readFileSync(IMAGES_DIR + entry.name));
  expect(file.length).toBe(entry.size);
  expect(createHash('sha256').update(file).digest('hex')).toBe(entry.sha256);
  expect(entry.snapshotFormat, REBUILD).toBe(formatVersionText(CURRENT_FORMAT));
  const decoded = await decodeSnapshot(file);
  expect(decoded.writtenWith, REBUILD).toEqual(CURRENT_FORMAT);
  expect(decoded.manifest.machine.ramBytes).toBe(entry.ramMiB * 1024 * 1024);
  expect(decoded.manifest.images).toEqual(entry.images);
  expect(entry.images.map((i) => i.sha256), REBUILD).toEqual(manifest.files.map((f) => f.sha256));
  // The playground reads the same entry.
  expect(parseManifest(manifest).instantBoot).toEqual({ name: entry.name, size: entry.size, sha256: entry.sha256, ramMiB: entry.ramMiB });
});

test('a VM started from it is at the prompt and runs a command', { timeout: 120_000 }, async () => {
  const file = new Uint8Array(readFileSync(IMAGES_DIR + entry.name));
  const vm = coordinator.createVm({
    name: 'instant',
    ramMiB: entry.ramMiB,
    image: { kind: 'linux', kernelUrl: `${images.imagesUrl}bzImage`, initrdUrl: `${images.imagesUrl}initramfs.cpio.gz`, cmdline: manifest.defaultCmdline },
  });
  await coordinator.start(vm.id, file);
  const after = coordinator.get(vm.id);
  expect(after.state, `${REBUILD} (the restore said: ${after.reason ?? 'nothing'})`).toBe('running');
  // Ctrl-L makes the idle shell draw its prompt (what the playground does after the restore); nothing of a kernel boot is printed.
  await coordinator.send(vm.id, '\f');
  await coordinator.waitFor(vm.id, new RegExp(`\x1b\\[J\r?${PROMPT.replace(/[$]/g, '\\$')}`), 30_000);
  await coordinator.send(vm.id, 'echo "answer=$((6*7))"; uname -r\n');
  await coordinator.waitFor(vm.id, /answer=42\r?\n6\.1\.\d+/, 30_000);
  expect(coordinator.transcript(vm.id)).not.toMatch(/Linux version/);
  await coordinator.deleteVm(vm.id);
});
