import { expect, test } from 'vitest';
import { preloadedOrFetched } from './machine-factory.ts';

test('images the coordinator sent are used as they are; other URLs are fetched', async () => {
  const fetched: string[] = [];
  const fallback = async (url: string): Promise<Uint8Array> => {
    fetched.push(url);
    return new Uint8Array([9]);
  };
  const kernel = new Uint8Array([1, 2, 3]);
  const load = preloadedOrFetched(new Map([['blob:page/kernel', kernel]]), fallback);
  expect(await load('blob:page/kernel')).toBe(kernel);
  expect(await load('https://example.test/initrd')).toEqual(new Uint8Array([9]));
  expect(fetched).toEqual(['https://example.test/initrd']);
});

test('without sent images the loader is the fallback itself', () => {
  const fallback = async (): Promise<Uint8Array> => new Uint8Array(0);
  expect(preloadedOrFetched(undefined, fallback)).toBe(fallback);
  expect(preloadedOrFetched(new Map(), fallback)).toBe(fallback);
});
