import { describe, expect, test } from 'vitest';
import { ConsoleFlow } from './console-flow.ts';

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

describe('ConsoleFlow', () => {
  test('writes straight through while the terminal keeps up', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 100, lowWater: 10 });
    flow.push('hello ');
    flow.push('world');
    expect(terminal.text).toBe('hello world');
    terminal.completeAll();
    expect(flow.charsInFlight).toBe(0);
  });

  test('holds output above the high-water mark and resumes below the low-water mark, in order', () => {
    const terminal = new FakeTerminal();
    const flow = new ConsoleFlow(terminal, { highWater: 10, lowWater: 4, maxPending: 1000 });
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
    const flow = new ConsoleFlow(terminal, { highWater: 4, lowWater: 2, maxPending: 8 });
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
    const flow = new ConsoleFlow(terminal, { highWater: 2, lowWater: 1 });
    flow.push('abc');
    flow.push('def');
    flow.dispose();
    terminal.completeAll();
    flow.push('ghi');
    expect(terminal.text).toBe('abc');
  });
});
