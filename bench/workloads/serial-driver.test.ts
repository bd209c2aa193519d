import { describe, expect, it } from 'vitest';
import { SerialDriver } from './serial-driver.ts';

/** A fake guest: each pump delivers the next scripted chunk; what the driver types is recorded. */
function scripted(chunks: string[]) {
  const typed: string[] = [];
  const driver: SerialDriver = new SerialDriver({
    write: (text) => { typed.push(text); },
    pump: async () => { const c = chunks.shift(); if (c !== undefined) driver.append(c); },
  });
  return { driver, typed };
}

describe('SerialDriver', () => {
  it('sees the boot prompt inside a chunk that goes on (ESC [6n, a late kernel message)', async () => {
    const { driver } = scripted(['Run /init\r\n', 'root@tabvisor:~# \x1b[6n[    1.21] clocksource: Switched\r\n']);
    await expect(driver.waitForPrompt(5000, 'boot')).resolves.toBeTypeOf('number');
  });

  it('runs a command: output between the markers, status, and waits for the prompt', async () => {
    const { driver, typed } = scripted([
      'echo "@@BE""GIN1@@"; tvb-int; echo "@@EN""D1@@ $?"\r\n@@BEGIN1@@\r\ntvb-int primes=2\r\n',
      '@@END1@@ 0\r\n',
      'root@tabvisor:/tmp/tvb# \x1b[6n',
    ]);
    const r = await driver.run('tvb-int', 5000);
    expect(typed).toEqual(['echo "@@BE""GIN1@@"; tvb-int; echo "@@EN""D1@@ $?"\n']);
    expect(r).toMatchObject({ output: 'tvb-int primes=2', status: 0 });
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it('gives up after the timeout, quoting the console', async () => {
    const { driver } = scripted(['no prompt here']);
    await expect(driver.waitForPrompt(30, 'boot')).rejects.toThrow(/boot: not done after 0.03 s; console tail:\nno prompt here/);
  });
});
