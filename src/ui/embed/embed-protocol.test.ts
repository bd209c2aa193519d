import { describe, expect, test } from 'vitest';
import { SnapshotError } from '../../core/snapshot/errors.ts';
import type { TabvisorApi, TabvisorVm } from '../scripting-api.ts';
import type { TabvisorSnapshot } from '../scripting-snapshots.ts';
import { dispatch, EMBED_PROTOCOL, event, parseMessage, toRegExp, type EmbedRequest } from './embed-protocol.ts';
import { parseEmbedParams } from './embed-params.ts';

const request = (method: string, args: unknown[] = [], id: unknown = 1): unknown => ({ protocol: EMBED_PROTOCOL, version: 1, kind: 'request', id, method, args });

function parsed(data: unknown): EmbedRequest {
  const result = parseMessage(data);
  if (result.type !== 'request') throw new Error(`expected a request, got ${JSON.stringify(result)}`);
  return result.request;
}

const VM: TabvisorVm = { id: 'vm-1', name: 'demo', state: 'running', image: 'echo', ramMiB: 64, cpuWeight: 1, cpuCapPercent: 100, memoryBudgetMiB: 64, jit: false };

const SNAPSHOT: TabvisorSnapshot = {
  id: 'mi2x-1',
  name: 'booted',
  createdAt: '2026-11-26T12:00:00.000Z',
  sizeBytes: 2_740_000,
  formatVersion: '1.1.0',
  preview: ['root@tabvisor:~# '],
  origin: 'taken',
  vm: { name: 'demo', ramMiB: 64, image: 'linux' },
};

/** Records calls; waitFor echoes what it was asked for. */
function fakeApi(calls: unknown[][]): TabvisorApi {
  const record = (name: string) => async (...args: unknown[]): Promise<void> => {
    calls.push([name, ...args]);
  };
  return {
    version: 1,
    ready: Promise.resolve(),
    list: () => [VM],
    get: (vm) => {
      if (vm !== 'demo') throw new Error(`there is no VM called “${vm}”`);
      return VM;
    },
    images: () => [],
    create: async (config) => ({ ...VM, name: config?.name ?? 'vm-2' }),
    start: record('start'),
    pause: record('pause'),
    resume: record('resume'),
    reset: record('reset'),
    stop: record('stop'),
    delete: record('delete'),
    send: record('send'),
    waitFor: async (vm, pattern, timeoutMs) => {
      calls.push(['waitFor', vm, pattern, timeoutMs]);
      return 'matched';
    },
    read: () => 'output',
    shareLink: async () => ({ kind: 'fragment', url: 'https://tabvisor.example/#snapshot=AA', bytes: 37 }),
    snapshot: async (vm, name) => {
      calls.push(['snapshot', vm, name]);
      return { ...SNAPSHOT, name: name ?? SNAPSHOT.name };
    },
    listSnapshots: async () => [SNAPSHOT],
    restoreSnapshot: record('restoreSnapshot'),
    cloneSnapshot: async (snapshot, config) => {
      calls.push(['cloneSnapshot', snapshot, config]);
      return { ...VM, id: 'vm-2', name: config?.name ?? 'demo (clone)' };
    },
    renameSnapshot: async (snapshot, name) => ({ ...SNAPSHOT, id: snapshot, name }),
    deleteSnapshot: record('deleteSnapshot'),
    exportSnapshot: async () => Uint8Array.of(1, 2, 3),
    importSnapshot: async (file, name) => {
      if (file instanceof Uint8Array && file.length < 32) throw new SnapshotError('truncated', `not a complete snapshot: ${file.length} bytes is shorter than the 32-byte header`);
      calls.push(['importSnapshot', file, name]);
      return { ...SNAPSHOT, origin: 'imported', name: name ?? 'imported snapshot' };
    },
  };
}

describe('parseMessage', () => {
  test('ignores messages that are not ours', () => {
    for (const data of [null, 'hello', 42, { type: 'webpackOk' }, { protocol: 'other', kind: 'request' }, { protocol: EMBED_PROTOCOL, kind: 'event' }]) {
      expect(parseMessage(data)).toEqual({ type: 'ignore' });
    }
  });

  test('accepts well-formed requests', () => {
    expect(parsed(request('list'))).toMatchObject({ id: 1, method: 'list', args: [] });
    expect(parsed(request('send', ['demo', 'ls\n'], 'abc'))).toMatchObject({ id: 'abc', method: 'send', args: ['demo', 'ls\n'] });
    expect(parsed({ protocol: EMBED_PROTOCOL, version: 1, kind: 'request', id: 2, method: 'images' }).args).toEqual([]);
  });

  test('explains what is wrong with a malformed request', () => {
    expect(parseMessage(request('list', [], null))).toEqual({ type: 'invalid', id: undefined, message: 'a request needs an id (a non-empty string or a number)' });
    expect(parseMessage({ ...(request('list') as object), version: 2 })).toMatchObject({ type: 'invalid', id: 1, message: expect.stringMatching(/version 2 is not supported/) });
    expect(parseMessage(request('format'))).toMatchObject({ message: expect.stringMatching(/^unknown method "format"; known: list, get/) });
    expect(parseMessage(request('send', ['demo']))).toMatchObject({ message: 'send: argument 2 must be the text to type (a string)' });
    expect(parseMessage(request('pause', [7]))).toMatchObject({ message: 'pause: argument 1 must be the VM name or id (a string)' });
    expect(parseMessage(request('waitFor', ['demo', 5]))).toMatchObject({ message: 'waitFor: argument 2 must be a string, a RegExp or { source, flags }' });
    expect(parseMessage(request('waitFor', ['demo', { source: '(' }]))).toMatchObject({ message: 'waitFor: argument 2 is not a valid regular expression: /(/' });
    expect(parseMessage(request('waitFor', ['demo', 'x', -1]))).toMatchObject({ message: 'waitFor: argument 3 must be a timeout in ms (a positive number)' });
    expect(parseMessage(request('create', ['big']))).toMatchObject({ message: 'create: argument 1 must be a config object' });
    expect(parseMessage({ ...(request('list') as object), args: 'x' })).toMatchObject({ message: 'args must be an array' });
  });

  test('checks the arguments of the snapshot methods', () => {
    expect(parsed(request('snapshot', ['demo'])).args).toEqual(['demo']);
    expect(parsed(request('importSnapshot', [new Uint8Array(4), 'x.tabvm'])).method).toBe('importSnapshot');
    expect(parsed(request('importSnapshot', [new ArrayBuffer(4)])).method).toBe('importSnapshot');
    expect(parseMessage(request('snapshot', ['demo', 5]))).toMatchObject({ message: 'snapshot: argument 2 must be the snapshot name (a string) or left out' });
    expect(parseMessage(request('restoreSnapshot', ['demo']))).toMatchObject({ message: 'restoreSnapshot: argument 2 must be the snapshot name or id (a string)' });
    expect(parseMessage(request('cloneSnapshot', ['booted', 'name']))).toMatchObject({ message: 'cloneSnapshot: argument 2 must be a config object ({ name })' });
    expect(parseMessage(request('renameSnapshot', ['booted']))).toMatchObject({ message: 'renameSnapshot: argument 2 must be the new name (a string)' });
    expect(parseMessage(request('deleteSnapshot', [{}]))).toMatchObject({ message: 'deleteSnapshot: argument 1 must be the snapshot name or id (a string)' });
    expect(parseMessage(request('exportSnapshot', []))).toMatchObject({ message: 'exportSnapshot: argument 1 must be the snapshot name or id (a string)' });
    expect(parseMessage(request('importSnapshot', ['TABVSNAP...']))).toMatchObject({ message: 'importSnapshot: argument 1 must be the file (a Uint8Array or an ArrayBuffer)' });
    expect(parseMessage(request('importSnapshot', [new Uint8Array(1), 3]))).toMatchObject({ message: 'importSnapshot: argument 2 must be a name for it (a string) or left out' });
  });

  test('waitFor patterns: strings stay literal, RegExps and { source, flags } become RegExps', () => {
    expect(toRegExp('a.b')).toBe('a.b');
    expect(toRegExp(/x+/i)).toEqual(/x+/i);
    expect(toRegExp({ source: '\\$ $', flags: 'm' })).toEqual(/\$ $/m);
  });
});

describe('dispatch', () => {
  test('runs the method and wraps the result', async () => {
    const calls: unknown[][] = [];
    const api = fakeApi(calls);
    expect(await dispatch(api, parsed(request('list')))).toEqual({ protocol: EMBED_PROTOCOL, version: 1, kind: 'response', id: 1, ok: true, result: [VM] });
    expect(await dispatch(api, parsed(request('send', ['demo', 'x'], 2)))).toMatchObject({ id: 2, ok: true, result: null });
    expect(await dispatch(api, parsed(request('waitFor', ['demo', { source: 'a+', flags: 'i' }, 500], 3)))).toMatchObject({ ok: true, result: 'matched' });
    expect(await dispatch(api, parsed(request('create', [{ name: 'web' }], 4)))).toMatchObject({ ok: true, result: { name: 'web' } });
    expect(calls).toEqual([
      ['send', 'demo', 'x'],
      ['waitFor', 'demo', /a+/i, 500],
    ]);
  });

  test('runs the snapshot methods with their arguments', async () => {
    const calls: unknown[][] = [];
    const api = fakeApi(calls);
    const bytes = new Uint8Array(64);
    expect(await dispatch(api, parsed(request('snapshot', ['demo', 'booted'])))).toMatchObject({ ok: true, result: { name: 'booted' } });
    expect(await dispatch(api, parsed(request('listSnapshots')))).toMatchObject({ ok: true, result: [SNAPSHOT] });
    expect(await dispatch(api, parsed(request('restoreSnapshot', ['demo', 'booted'])))).toMatchObject({ ok: true, result: null });
    expect(await dispatch(api, parsed(request('cloneSnapshot', ['booted', { name: 'twin' }])))).toMatchObject({ ok: true, result: { id: 'vm-2', name: 'twin' } });
    expect(await dispatch(api, parsed(request('renameSnapshot', ['mi2x-1', 'new'])))).toMatchObject({ ok: true, result: { id: 'mi2x-1', name: 'new' } });
    expect(await dispatch(api, parsed(request('deleteSnapshot', ['new'])))).toMatchObject({ ok: true, result: null });
    expect(await dispatch(api, parsed(request('exportSnapshot', ['booted'])))).toMatchObject({ ok: true, result: Uint8Array.of(1, 2, 3) });
    expect(await dispatch(api, parsed(request('importSnapshot', [bytes, 'x.tabvm'])))).toMatchObject({ ok: true, result: { origin: 'imported', name: 'x.tabvm' } });
    expect(calls).toEqual([
      ['snapshot', 'demo', 'booted'],
      ['restoreSnapshot', 'demo', 'booted'],
      ['cloneSnapshot', 'booted', { name: 'twin' }],
      ['deleteSnapshot', 'new'],
      ['importSnapshot', bytes, 'x.tabvm'],
    ]);
  });

  test('a refused import answers with the SnapshotError and its sentence', async () => {
    expect(await dispatch(fakeApi([]), parsed(request('importSnapshot', [new Uint8Array(3)], 5)))).toMatchObject({
      id: 5,
      ok: false,
      error: { name: 'SnapshotError', message: 'not a complete snapshot: 3 bytes is shorter than the 32-byte header' },
    });
  });

  test('turns failures into error responses', async () => {
    const response = await dispatch(fakeApi([]), parsed(request('get', ['nope'], 9)));
    expect(response).toEqual({ protocol: EMBED_PROTOCOL, version: 1, kind: 'response', id: 9, ok: false, error: { name: 'Error', message: 'there is no VM called “nope”' } });
  });

  test('events carry the envelope', () => {
    expect(event({ kind: 'event', event: 'failed', message: 'no' })).toEqual({ protocol: EMBED_PROTOCOL, version: 1, kind: 'event', event: 'failed', message: 'no' });
  });
});

describe('parseEmbedParams', () => {
  test('image, VM name and allowed origin', () => {
    expect(parseEmbedParams('?image=busy&vm=demo&origin=https://docs.example.org/page')).toEqual({
      imageId: 'busy',
      vmName: 'demo',
      allowedOrigin: 'https://docs.example.org',
    });
    expect(parseEmbedParams('')).toMatchObject({ vmName: undefined, allowedOrigin: undefined });
    expect(parseEmbedParams('?origin=not a url').allowedOrigin).toBeUndefined();
  });
});
