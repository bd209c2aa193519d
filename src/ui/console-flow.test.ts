import { describe, expect, test } from 'vitest';
import { ConsoleFlow } from './console-flow.ts';
import type { UiClock } from './ui-clock.ts';

/** A terminal whose writes complete only when the test says so. */
class FakeTerminal {
  written: string[] = [];
  callbacks: Array<() => void> = [];
  write(data: string, done: () => void): void {
    this.written.push(data);
    this.callbacks.push(done);
  }
  completeAll(): void {
    while (this.callbacks.length > 0) this.callbacks.shift()!();
  }
  get text(): string {
    return this.written.join('');
  }
}

/** A clock that moves only when the test advances it. */
class ManualClock implements UiClock {
  time = 0;
  private timers = new Map<number, { at: number; run: () => void }>();
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get armed(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > this.time) continue;
      this.timers.delete(id);
      timer.run();
    }
  }
}

/** A flow with a 100 ms write interval on a manual clock. */
function coalescing(): { terminal: FakeTerminal; clock: ManualClock; flow: ConsoleFlow } {
  const terminal = new FakeTerminal();
  const clock = new ManualClock();
  return { terminal, clock, flow: new ConsoleFlow(terminal, { minIntervalMs: 100, clock }) };
}

describe('ConsoleFlow', () => {
  test('writes straight through while the terminal keeps up', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 100, lowWater: 10, minIntervalMs: 0 });
    flow.push('hello ');
    flow.push('world');
    expect(terminal.text).toBe('hello world');
    terminal.completeAll();
    expect(flow.charsInFlight).toBe(0);
  });

  test('holds output above the high-water mark and resumes below the low-water mark, in order', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 10, lowWater: 4, maxPending: 1000, minIntervalMs: 0 });
    flow.push('0123456789AB'); // in flight: 12 > high water
    flow.push('cd');
    flow.push('ef');
    expect(terminal.text).toBe('0123456789AB');
    expect(flow.charsPending).toBe(4);
    terminal.completeAll();
    expect(terminal.text).toBe('0123456789ABcdef');
    expect(flow.charsPending).toBe(0);
  });

  test('what waits is bounded: the oldest output is dropped and the terminal is told', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 4, lowWater: 2, maxPending: 8, minIntervalMs: 0 });
    flow.push('xxxxx'); // in flight
    flow.push('aaaa');
    flow.push('bbbb');
    flow.push('cccc'); // 12 pending > 8: the first 4 go
    expect(flow.charsPending).toBe(8);
    expect(flow.charsSkipped).toBe(4);
    terminal.completeAll();
    expect(terminal.text).toMatch(/^xxxxx\r\n.*4 characters of console output skipped.*\r\nbbbbcccc$/s);
  });

  test('nothing is written after dispose', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 2, lowWater: 1, minIntervalMs: 0 });
    flow.push('abc');
    flow.push('def');
    flow.dispose();
    terminal.completeAll();
    flow.push('ghi');
    expect(terminal.text).toBe('abc');
  });

  test('output that keeps coming is written once per interval, joined and in order', () => {
    const { terminal, clock, flow } = coalescing();
    flow.push('[ 0.0] first line\r\n'); // nothing written before: at once
    expect(terminal.written).toEqual(['[ 0.0] first line\r\n']);
    clock.advance(10);
    flow.push('[ 0.1] second\r\n');
    clock.advance(30);
    flow.push('[ 0.2] third\r\n');
    terminal.completeAll();
    expect(terminal.written).toHaveLength(1); // still inside the interval
    expect(flow.charsPending).toBe(29);
    clock.advance(59);
    expect(terminal.written).toHaveLength(1);
    clock.advance(1); // 100 ms after the first write
    expect(terminal.written).toEqual(['[ 0.0] first line\r\n', '[ 0.1] second\r\n[ 0.2] third\r\n']);
    expect(flow.charsPending).toBe(0);
    expect(clock.armed).toBe(0);
  });

  test('an echo after a quiet interval is written at once', () => {
    const { terminal, clock, flow } = coalescing();
    flow.push('root@tabvisor:~# ');
    clock.advance(250);
    flow.push('l');
    expect(terminal.text).toBe('root@tabvisor:~# l');
    expect(clock.armed).toBe(0);
  });

  test('output with an escape sequence (maybe a query the terminal answers) is written at once, with what waited', () => {
    const { terminal, clock, flow } = coalescing();
    flow.push('ls\r\n');
    clock.advance(5);
    flow.push('bin  etc\r\n');
    expect(clock.armed).toBe(1);
    flow.push('root@tabvisor:~# \x1b[6n'); // busybox asks for the cursor position
    expect(terminal.written).toEqual(['ls\r\n', 'bin  etc\r\nroot@tabvisor:~# \x1b[6n']);
    expect(clock.armed).toBe(0);
  });

  test('dispose cancels a waiting write', () => {
    const { terminal, clock, flow } = coalescing();
    flow.push('a');
    flow.push('b');
    expect(clock.armed).toBe(1);
    flow.dispose();
    expect(clock.armed).toBe(0);
    clock.advance(200);
    expect(terminal.text).toBe('a');
  });
});
