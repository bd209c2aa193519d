import { describe, expect, it } from 'vitest';
import { applyJsonPatch, diffJson } from './json-patch.ts';

describe('JSON patches', () => {
  it('hold only what changed, and apply back to the target', () => {
    const base = { a: 1, b: { c: [1, 2], d: 'x', gone: true }, same: { deep: { v: null } } };
    const target = { a: 2, b: { c: [1, 3], d: 'x', added: { n: 1 } }, same: { deep: { v: null } } };
    const patch = diffJson(base, target);
    expect(patch).toEqual({ a: [2], b: { c: [[1, 3]], gone: [], added: [{ n: 1 }] } });
    expect(applyJsonPatch(base, patch)).toEqual(target);
    expect(base.b.gone).toBe(true); // the base is not changed
  });

  it('equal values need no patch; a change of type replaces the value', () => {
    expect(diffJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeUndefined();
    expect(diffJson({ a: { b: 1 } }, { a: [1] })).toEqual({ a: [[1]] });
    expect(applyJsonPatch({ a: { b: 1 } }, { a: [[1]] })).toEqual({ a: [1] });
  });

  it('a patch that does not fit its base says where', () => {
    expect(() => applyJsonPatch({ a: 1 }, { a: { b: [2] } })).toThrow('"a" is not an object in the base');
    expect(() => applyJsonPatch({ a: 1 }, { z: [] })).toThrow('"z" is removed but the base has no such field');
    expect(() => applyJsonPatch({ a: 1 }, { a: [1, 2] })).toThrow('the change at "a" is not a one-element list');
    expect(() => applyJsonPatch({ a: 1 }, 'x')).toThrow('the change at "(top)" is neither a list nor an object');
  });

  it('refuses a "__proto__" field instead of changing the result\'s prototype', () => {
    const patch: unknown = JSON.parse('{"__proto__": [{"polluted": true}]}');
    expect(() => applyJsonPatch({}, patch)).toThrow('"__proto__" is not a field name state objects use');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
