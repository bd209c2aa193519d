import { expect, test } from 'vitest';
import { combineProgress } from './combined-progress.ts';
import type { DownloadProgress } from './shared-downloads.ts';

test('adds up the parts; the total is known only when every part has one', () => {
  const seen: DownloadProgress[] = [];
  const [image, snapshot] = combineProgress(2, (p) => seen.push(p));
  image!({ loaded: 100, total: 1000, current: 'kernel image' });
  snapshot!({ loaded: 0, total: undefined, current: 'instant-boot snapshot' });
  snapshot!({ loaded: 50, total: 500, current: 'instant-boot snapshot' });
  image!({ loaded: 1000, total: 1000, current: 'initial RAM disk' });
  expect(seen).toEqual([
    { loaded: 100, total: undefined, current: 'kernel image' },
    { loaded: 100, total: undefined, current: 'instant-boot snapshot' },
    { loaded: 150, total: 1500, current: 'instant-boot snapshot' },
    { loaded: 1050, total: 1500, current: 'initial RAM disk' },
  ]);
});
