import { describe, expect, test } from 'vitest';
import { DEFAULT_MEM_MIB, parseRunnerArgs, UsageError } from './args.ts';

describe('runner arguments', () => {
  test('defaults boot the default image', () => {
    expect(parseRunnerArgs([])).toEqual({
      kernel: undefined, initrd: undefined, append: undefined, memMiB: DEFAULT_MEM_MIB, timeoutS: undefined, jit: true, help: false,
    });
  });

  test('all options', () => {
    const o = parseRunnerArgs(['--kernel', 'k', '--initrd', 'i', '--append', 'console=ttyS0 quiet', '--mem', '128', '--timeout', '2.5', '--jit']);
    expect(o).toMatchObject({ kernel: 'k', initrd: 'i', append: 'console=ttyS0 quiet', memMiB: 128, timeoutS: 2.5, jit: true });
    expect(parseRunnerArgs(['--no-jit']).jit).toBe(false);
  });

  test.each([
    [['--mem', 'lots'], /--mem needs a number/],
    [['--mem', '3'], /--mem must be a whole number/],
    [['--mem', '64.5'], /--mem must be a whole number/],
    [['--timeout', '0'], /--timeout must be a positive/],
    [['--frobnicate'], /Unknown option/],
    [['stray'], /positional/],
    [['--jit', '--no-jit'], /contradict/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseRunnerArgs(argv)).toThrow(UsageError);
    expect(() => parseRunnerArgs(argv)).toThrow(message);
  });
});
