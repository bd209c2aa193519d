import { describe, expect, it } from 'vitest';
import { ConsoleChannel, ConsoleTimeoutError, type ConsoleOutput } from './console-channel.ts';
import { SpscRing } from './shared/spsc-ring.ts';

function channel(shared = true, limit?: number) {
  const console = new ConsoleChannel('vm-1', limit === undefined ? {} : { transcriptLimit: limit });
  const output = SpscRing.create(64, shared);
  const input = SpscRing.create(8, shared);
  console.attach(output, input, true);
  const guestWrite = (text: string) => output.write(new TextEncoder().encode(text));
  return { console, output, input, guestWrite };
}

describe('ConsoleChannel', () => {
  it('delivers output as the worker signals it, including split UTF-8', async () => {
    const { console, output } = channel();
    const got: ConsoleOutput[] = [];
    console.onOutput((o) => got.push(o));
    const euro = new TextEncoder().encode('€!');
    output.write(euro.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 20));
    output.write(euro.subarray(2));
    await console.waitFor(/!/, 1000);
    expect(got.map((o) => o.text).join('')).toBe('€!');
    expect(console.read()).toBe('€!');
    expect(console.read()).toBe('');
    console.dispose();
  });

  it('polls when it cannot wait on shared memory', async () => {
    const { console, guestWrite } = channel(false);
    guestWrite('login: ');
    expect((await console.waitFor(/login: $/, 1000))[0]).toBe('login: ');
    console.dispose();
  });

  it('matches expect-style: each waitFor starts after the previous match', async () => {
    const { console, guestWrite } = channel();
    guestWrite('$ one\n$ two\n');
    console.pump();
    expect((await console.waitFor(/\$ (\w+)/, 100))[1]).toBe('one');
    expect((await console.waitFor(/\$ (\w+)/, 100))[1]).toBe('two');
    await expect(console.waitFor(/\$ (\w+)/, 30)).rejects.toThrow(ConsoleTimeoutError);
    console.dispose();
  });

  it('queues input that does not fit and sends it as the guest takes it', async () => {
    const { console, input } = channel();
    const sent = console.send('0123456789abcdef');
    expect(input.available()).toBe(8);
    const out = new Uint8Array(16);
    let got = '';
    const reader = setInterval(() => {
      got += new TextDecoder().decode(out.subarray(0, input.read(out)));
    }, 2);
    await sent;
    clearInterval(reader);
    got += new TextDecoder().decode(out.subarray(0, input.read(out)));
    expect(got).toBe('0123456789abcdef');
    console.dispose();
  });

  it('keeps a bounded transcript and rejects waits when the VM goes away', async () => {
    const { console, guestWrite } = channel(true, 10);
    guestWrite('0123456789ABCDEF');
    console.pump();
    expect(console.transcript()).toBe('6789ABCDEF');
    expect(console.read()).toBe('6789ABCDEF');
    const pending = console.waitFor(/never/, 5000);
    console.abortWaits('the VM is stopped');
    await expect(pending).rejects.toThrow('vm-1: the VM is stopped');
    console.dispose();
  });
});
