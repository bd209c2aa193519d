/**
 * Round-trips every component of a machine on its own: save, serialise to
 * JSON and back, restore into the same component of a fresh machine built
 * from the same configuration, and compare that component's saveState().
 * The memory map is checked the same way through the snapshot module.
 */
import { expect } from 'vitest';
import { Machine } from '../../machine.ts';
import type { ClockState } from '../../time/clock.ts';
import type { CpuState } from '../../cpu/index.ts';
import type { DeviceState } from '../../devices/device.ts';
import { captureSnapshotContent, restoreDecodedSnapshot } from '../machine-snapshot.ts';
import { PAGE_SIZE } from '../format.ts';

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Returns the names of the components checked. */
export function checkComponentRoundTrips(m: Machine): string[] {
  const c = m.config;
  const fresh = new Machine({
    ramBytes: c.ramBytes,
    clock: c.clock.mode === 'instructions' ? c.clock : { mode: 'realtime', hostNowMs: () => 0 },
    hostNowMs: () => 0,
    startEpochMs: c.startEpochMs,
    testExit: c.testExit,
    secondUart: c.secondUart,
    fpu: c.fpu,
  });
  const checked: string[] = [];
  try {
    // CPU (without and with the x87 unit) and the x87 unit alone.
    const cpu = m.cpu.saveState();
    fresh.cpu.restoreState(json(cpu) as CpuState);
    expect(json(fresh.cpu.saveState()), 'cpu').toEqual(json(cpu));
    checked.push('cpu');
    if (m.cpu.fpu && fresh.cpu.fpu) {
      const fpu = m.cpu.fpu.saveState();
      fresh.cpu.fpu.reset();
      fresh.cpu.fpu.restoreState(json(fpu));
      expect(json(fresh.cpu.fpu.saveState()), 'fpu').toEqual(json(fpu));
      checked.push('fpu');
    }
    // The clock: guest time must come back exactly (the instruction clock counts from the restored CPU's instructions).
    const clock = m.clock.saveState();
    fresh.clock.restoreState(json(clock) as ClockState);
    expect(fresh.clock.saveState(), 'clock').toEqual(clock);
    checked.push('clock');
    // Every device, restored into the fresh board's device of the same name.
    const devices = m.saveState().devices;
    const freshDevices = new Map<string, { restoreState(s: DeviceState): void; saveState(): DeviceState }>(
      [fresh.pic, fresh.pit, fresh.uart0, fresh.uart1, fresh.rtc, fresh.kbc, fresh.debug].flatMap((d) => (d ? [[d.name, d] as const] : [])),
    );
    for (const [name, state] of Object.entries(devices)) {
      const device = freshDevices.get(name);
      expect(device, `a fresh "${name}"`).toBeDefined();
      device!.restoreState(json(state));
      expect(json(device!.saveState()), name).toEqual(json(state));
      checked.push(name);
    }
    // The memory map: the same pages present, with the same bytes, MMIO and RAM where they were.
    const content = captureSnapshotContent(m, { images: [] });
    const copy = restoreDecodedSnapshot({ ...content, manifest: json(content.manifest) });
    try {
      expect(Array.from(copy.memory.presentPages()), 'present pages').toEqual(Array.from(m.memory.presentPages()));
      const a = new Uint8Array(PAGE_SIZE);
      const b = new Uint8Array(PAGE_SIZE);
      for (const page of m.memory.presentPages()) {
        m.memory.readPage(page, a);
        copy.memory.readPage(page, b);
        if (!a.every((v, i) => v === b[i])) expect.fail(`page ${page} differs after the round trip`);
      }
      expect(copy.memory.isRam(0, c.ramBytes)).toBe(m.memory.isRam(0, c.ramBytes));
      checked.push('memory');
    } finally {
      copy.release();
    }
  } finally {
    fresh.release();
  }
  return checked;
}
