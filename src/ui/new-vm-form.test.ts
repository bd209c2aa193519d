import { describe, expect, test } from 'vitest';
import { IMAGES } from './images.ts';
import { defaultFormValues, parseNumber, validateNewVmForm, type NewVmFormValues } from './new-vm-form.ts';

const context = { taken: new Set(['vm-1', 'web']), images: IMAGES };
const values = (patch: Partial<NewVmFormValues> = {}): NewVmFormValues => ({ ...defaultFormValues('echo'), ...patch });

describe('validateNewVmForm', () => {
  test('the defaults are valid; an empty name and budget mean automatic', () => {
    const result = validateNewVmForm(values(), context);
    expect(result).toEqual({
      ok: true,
      request: { name: undefined, ramMiB: 64, cpuWeight: 1, cpuCapPercent: 100, memoryBudgetMiB: 64, imageId: 'echo' },
    });
  });

  test('fields are trimmed and parsed', () => {
    const result = validateNewVmForm(values({ name: '  db server ', ramMiB: ' 128', cpuWeight: '2.5', cpuCapPercent: '50', memoryBudgetMiB: '32' }), context);
    expect(result.ok && result.request).toEqual({ name: 'db server', ramMiB: 128, cpuWeight: 2.5, cpuCapPercent: 50, memoryBudgetMiB: 32, imageId: 'echo' });
  });

  test('each bad field gets its own plain-language message', () => {
    const result = validateNewVmForm(
      values({ name: 'web', ramMiB: '3', cpuWeight: 'lots', cpuCapPercent: '150', memoryBudgetMiB: '-1', imageId: 'windows' }),
      context,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual({
      name: 'There is already a VM called “web”. Choose another name.',
      ramMiB: 'RAM must be a whole number of MiB from 4 to 2048.',
      cpuWeight: 'CPU weight must be a number from 0.01 to 10000; VMs share the CPU in proportion to it.',
      cpuCapPercent: 'CPU cap must be from 1 to 100 (percent of one host core).',
      memoryBudgetMiB: 'Memory budget must be from 1 to 65536 MiB, or empty for the same as RAM.',
      imageId: 'Choose an image from the list.',
    });
  });

  test('names: ids are taken too, odd characters and long names are refused', () => {
    const error = (name: string): string | undefined => {
      const result = validateNewVmForm(values({ name }), context);
      return result.ok ? undefined : result.errors.name;
    };
    expect(error('vm-1')).toContain('already a VM called');
    expect(error('-dash')).toContain('must start with a letter or digit');
    expect(error('a/b')).toContain('letters, digits');
    expect(error('x'.repeat(41))).toBe('The name is too long: at most 40 characters.');
    expect(error('Grüße_1.0')).toBeUndefined();
  });

  test('RAM must be whole MiB', () => {
    const result = validateNewVmForm(values({ ramMiB: '64.5' }), context);
    expect(result.ok ? undefined : result.errors.ramMiB).toBeDefined();
  });
});

describe('parseNumber', () => {
  test('accepts plain decimals only', () => {
    expect(parseNumber('64')).toBe(64);
    expect(parseNumber(' 1.5 ')).toBe(1.5);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('')).toBeUndefined();
    expect(parseNumber('1e3')).toBeUndefined();
    expect(parseNumber('0x10')).toBeUndefined();
    expect(parseNumber('-3')).toBeUndefined();
    expect(parseNumber('12abc')).toBeUndefined();
  });
});
