import { describe, expect, it } from 'vitest';
import {
  CONTROL_BLOCK_BYTES,
  ControlBlock,
  ControlBlockError,
  ControlWord,
  Counter,
  RunRequest,
  WaitReason,
  WorkerState,
} from './control-block.ts';

describe('ControlBlock', () => {
  it('attaches only to a block with the same magic and layout version', () => {
    const block = ControlBlock.create(true);
    expect(block.shared).toBe(true);
    expect(ControlBlock.attach(block.buffer).words[ControlWord.Magic]).toBe(block.words[ControlWord.Magic]);
    expect(() => ControlBlock.attach(new SharedArrayBuffer(CONTROL_BLOCK_BYTES))).toThrow(/bad magic/);
    Atomics.store(block.words, ControlWord.LayoutVersion, 99);
    expect(() => ControlBlock.attach(block.buffer)).toThrow(ControlBlockError);
    expect(() => ControlBlock.attach(new SharedArrayBuffer(8))).toThrow(/needs/);
  });

  it('works over a plain ArrayBuffer for the message fallback', () => {
    const block = ControlBlock.create(false);
    expect(block.shared).toBe(false);
    block.request(RunRequest.Run);
    expect(block.requested()).toBe(RunRequest.Run);
    expect(block.wakeSeq()).toBe(1);
  });

  it('starts paused and wakes the worker on every request', () => {
    const block = ControlBlock.create(true);
    expect(block.requested()).toBe(RunRequest.Pause);
    block.request(RunRequest.Run);
    block.request(RunRequest.Stop);
    expect(block.requested()).toBe(RunRequest.Stop);
    expect(block.wakeSeq()).toBe(2);
  });

  it('bumps the state sequence only on real state changes', () => {
    const block = ControlBlock.create(true);
    block.setCurrent(WorkerState.Running);
    block.setCurrent(WorkerState.Running);
    block.setCurrent(WorkerState.Paused);
    expect(block.current()).toBe(WorkerState.Paused);
    expect(block.stateSeq()).toBe(2);
  });

  it('grants tokens with a bounded carry-over and pays back overruns', () => {
    const block = ControlBlock.create(true);
    expect(block.grant(10_000, 20_000)).toBe(10_000);
    expect(block.grant(10_000, 20_000)).toBe(20_000);
    expect(block.grant(10_000, 20_000)).toBe(20_000);
    block.consume(25_000);
    expect(block.balanceUs()).toBe(-5_000);
    expect(block.grant(10_000, 20_000)).toBe(5_000);
    // A balance above a lowered ceiling is kept but not topped up.
    block.grant(100_000, 200_000);
    expect(block.grant(1_000, 10_000)).toBe(105_000);
  });

  it('keeps the balance right when the int32 totals wrap', () => {
    const block = ControlBlock.create(true);
    block.setGrantedTotal(0x7fff_ff00);
    block.setConsumedTotal(0x7fff_ff00);
    block.grant(1_000, 2_000);
    expect(block.grantedTotal()).toBeLessThan(0);
    block.consume(600);
    expect(block.balanceUs()).toBe(400);
  });

  it('wakes a worker that sleeps for tokens, and only then', () => {
    const block = ControlBlock.create(true);
    block.grant(1000, 1000);
    expect(block.wakeSeq()).toBe(0);
    block.setWaitReason(WaitReason.Tokens);
    block.grant(1000, 3000);
    expect(block.wakeSeq()).toBe(1);
  });

  it('publishes 53-bit counters as one consistent batch', () => {
    const block = ControlBlock.create(true);
    const values = ControlBlock.counterArray();
    values[Counter.Instructions] = 2 ** 40 + 12345;
    values[Counter.HostUsedUs] = 4_294_967_297;
    values[Counter.ResidentFrames] = 7;
    block.publishCounters(values);
    const out = ControlBlock.counterArray();
    expect(block.readCounters(out)).toBe(true);
    expect(out[Counter.Instructions]).toBe(2 ** 40 + 12345);
    expect(out[Counter.HostUsedUs]).toBe(4_294_967_297);
    expect(out[Counter.ResidentFrames]).toBe(7);
    expect(block.words[ControlWord.CounterSeq]! % 2).toBe(0);
  });

  it('a reader never accepts a batch while the writer is in the middle of one', () => {
    const block = ControlBlock.create(true);
    Atomics.add(block.words, ControlWord.CounterSeq, 1);
    expect(block.readCounters(ControlBlock.counterArray())).toBe(false);
  });
});
