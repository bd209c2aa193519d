import { describe, expect, test } from 'vitest';
import { readJitDefault, readLaunchRequest } from './launch-params.ts';

describe('readLaunchRequest', () => {
  const page = 'https://tabvisor.example/play/';

  test('the bare URL starts the default VM from the instant-boot snapshot; ?boot=cold boots the kernel', () => {
    expect(readLaunchRequest(page)).toEqual({ kind: 'instant-boot' });
    expect(readLaunchRequest(`${page}#console`)).toEqual({ kind: 'instant-boot' });
    expect(readLaunchRequest(`${page}?boot=cold`)).toEqual({ kind: 'cold-boot' });
  });

  test('a share link fragment is taken as it is, and wins over the query', () => {
    expect(readLaunchRequest(`${page}#snapshot=VEFCVkRJRkY`)).toEqual({ kind: 'fragment', data: 'VEFCVkRJRkY' });
    expect(readLaunchRequest(`${page}?snapshot=x.tabvm#snapshot=`)).toEqual({ kind: 'fragment', data: '' });
  });

  test('?snapshot= takes absolute and page-relative http(s) URLs', () => {
    expect(readLaunchRequest(`${page}?snapshot=${encodeURIComponent('https://files.example/a b.tabvm?x=1')}`)).toEqual({ kind: 'url', url: 'https://files.example/a%20b.tabvm?x=1' });
    expect(readLaunchRequest(`${page}?snapshot=saved/vm.tabvm`)).toEqual({ kind: 'url', url: 'https://tabvisor.example/play/saved/vm.tabvm' });
  });

  test('anything else in ?snapshot= is refused with one sentence', () => {
    for (const target of ['', 'javascript:alert(1)', 'data:application/octet-stream;base64,AAAA', 'https://[broken']) {
      expect(readLaunchRequest(`${page}?snapshot=${encodeURIComponent(target)}`)).toEqual({
        kind: 'invalid',
        message: `The snapshot link is not usable: “${target}” is not the http(s) URL of a snapshot file.`,
      });
    }
  });
});

describe('readJitDefault', () => {
  test('the JIT is on unless the URL turns it off', () => {
    const page = 'https://tabvisor.example/play/';
    expect(readJitDefault(page)).toBe(true);
    expect(readJitDefault(`${page}?jit=1`)).toBe(true);
    expect(readJitDefault(`${page}?boot=cold&jit=on`)).toBe(true);
    for (const off of ['0', 'off', 'false', 'OFF']) expect(readJitDefault(`${page}?jit=${off}`), off).toBe(false);
  });
});
