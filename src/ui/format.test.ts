import { describe, expect, test } from 'vitest';
import { StateReason } from '../vmm/shared/protocol.ts';
import { describeState, formatBytes, formatMiB, formatMips, formatPercent, formatProgress, formatRate } from './format.ts';

describe('formatters', () => {
  test('bytes use binary units with one decimal below 10', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1647104)).toBe('1.6 MiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MiB');
    expect(formatBytes(-1)).toBe('–');
    expect(formatRate(2048)).toBe('2.0 KiB/s');
  });

  test('percent, MiB and MIPS', () => {
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(3.14159)).toBe('3.1 %');
    expect(formatPercent(99.6)).toBe('100 %');
    expect(formatPercent(NaN)).toBe('–');
    expect(formatMiB(0.0625)).toBe('0.1 MiB');
    expect(formatMiB(64)).toBe('64 MiB');
    expect(formatMips(0.05)).toBe('0.05 MIPS');
    expect(formatMips(123.4)).toBe('123 MIPS');
  });

  test('download progress with and without a known size', () => {
    expect(formatProgress(512 * 1024, 1024 * 1024)).toBe('50 % of 1.0 MiB');
    expect(formatProgress(2048, undefined)).toBe('2.0 KiB');
    expect(formatProgress(10, 5)).toBe('100 % of 5 B');
  });
});

describe('describeState', () => {
  test('every state has a label and a tone', () => {
    expect(describeState('running')).toMatchObject({ label: 'Running', tone: 'ok', explanation: undefined });
    expect(describeState('created').explanation).toBe('Not started yet.');
    expect(describeState('error').label).toBe('Failed');
  });

  test('a pause for memory says what to do, with the budget', () => {
    const text = describeState('paused', StateReason.OutOfMemoryBudget, 64).explanation;
    expect(text).toBe('Paused because it reached its memory budget (64 MiB). Raise the budget, then press Resume.');
    expect(describeState('paused').explanation).toBe('Paused by you. Press Resume to continue.');
  });

  test('stop and failure reasons become sentences', () => {
    expect(describeState('stopped', 'guest powered off').explanation).toBe('Stopped: guest powered off.');
    expect(describeState('error', 'triple fault at 0x1000.').explanation).toBe('Failed: triple fault at 0x1000.');
    expect(describeState('error', StateReason.WorkerCrashed).explanation).toContain("the VM's worker crashed");
    expect(describeState('error').explanation).toBe('Failed: unknown error.');
  });
});
