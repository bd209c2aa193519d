/**
 * The embed page's postMessage protocol: the scripting API (TabvisorApi),
 * request by request, for a parent page that iframes `embed.html`.
 *
 *   parent -> embed  { protocol: 'tabvisor-embed', version: 1, kind: 'request',
 *                      id: <string | number, chosen by the parent>,
 *                      method: 'send', args: ['vm-1', 'ls\n'] }
 *   embed -> parent  { protocol: 'tabvisor-embed', version: 1, kind: 'response', id,
 *                      ok: true, result: ... }
 *                  | { ..., kind: 'response', id, ok: false, error: { name, message } }
 *   embed -> parent  { protocol: 'tabvisor-embed', version: 1, kind: 'event',
 *                      event: 'ready' | 'state' | 'failed', ... }   (see EmbedEvent)
 *
 * Methods and arguments are those of window.tabvisor; a waitFor pattern is a
 * string (matched literally), a RegExp (postMessage clones it) or
 * { source, flags } (for JSON-only transports). Snapshot files travel as
 * Uint8Array or ArrayBuffer (exportSnapshot answers with a Uint8Array). Messages without
 * `protocol: 'tabvisor-embed'` are ignored; malformed requests get an error
 * response when they carry an id. This module is pure: the window plumbing is
 * in embed-server.ts.
 */
import type { TabvisorApi, TabvisorVm } from '../scripting-api.ts';

export const EMBED_PROTOCOL = 'tabvisor-embed';
export const EMBED_PROTOCOL_VERSION = 1;

export const EMBED_METHODS = [
  'list', 'get', 'images', 'create', 'start', 'pause', 'resume', 'reset', 'stop', 'delete', 'send', 'waitFor', 'read',
  'snapshot', 'listSnapshots', 'restoreSnapshot', 'cloneSnapshot', 'renameSnapshot', 'deleteSnapshot', 'exportSnapshot', 'importSnapshot',
] as const;
export type EmbedMethod = (typeof EMBED_METHODS)[number];

export type RequestId = string | number;

interface Envelope {
  readonly protocol: typeof EMBED_PROTOCOL;
  readonly version: typeof EMBED_PROTOCOL_VERSION;
}

export interface EmbedRequest extends Envelope {
  readonly kind: 'request';
  readonly id: RequestId;
  readonly method: EmbedMethod;
  readonly args: readonly unknown[];
}

export type EmbedResponse = Envelope &
  ({ readonly kind: 'response'; readonly id: RequestId; readonly ok: true; readonly result: unknown }
    | { readonly kind: 'response'; readonly id: RequestId; readonly ok: false; readonly error: { readonly name: string; readonly message: string } });

/** Events the embed posts without being asked. */
export type EmbedEventBody =
  | {
      readonly kind: 'event';
      readonly event: 'ready';
      /** The embed's VM (created from ?image= and ?vm=). */
      readonly vm: TabvisorVm;
      /** Whether the embed is cross-origin isolated, and so which console channel it uses. */
      readonly isolated: boolean;
      readonly channelMode: 'shared' | 'message';
    }
  | { readonly kind: 'event'; readonly event: 'state'; readonly vm: TabvisorVm }
  /** The embed's VM could not be created (e.g. its image did not download). */
  | { readonly kind: 'event'; readonly event: 'failed'; readonly message: string };

export type EmbedEvent = Envelope & EmbedEventBody;

export type ParsedMessage =
  | { readonly type: 'ignore' }
  | { readonly type: 'invalid'; readonly id: RequestId | undefined; readonly message: string }
  | { readonly type: 'request'; readonly request: EmbedRequest };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length > 0 && value.length <= 200) || (typeof value === 'number' && Number.isFinite(value));
}

/** Classifies a message event's data. */
export function parseMessage(data: unknown): ParsedMessage {
  if (!isRecord(data) || data.protocol !== EMBED_PROTOCOL) return { type: 'ignore' };
  if (data.kind !== 'request') return { type: 'ignore' };
  const id = isRequestId(data.id) ? data.id : undefined;
  const invalid = (message: string): ParsedMessage => ({ type: 'invalid', id, message });
  if (id === undefined) return invalid('a request needs an id (a non-empty string or a number)');
  if (data.version !== EMBED_PROTOCOL_VERSION) {
    return invalid(`protocol version ${String(data.version)} is not supported; this embed speaks version ${EMBED_PROTOCOL_VERSION}`);
  }
  const method = data.method;
  if (typeof method !== 'string' || !(EMBED_METHODS as readonly string[]).includes(method)) {
    return invalid(`unknown method ${JSON.stringify(method)}; known: ${EMBED_METHODS.join(', ')}`);
  }
  const args = data.args ?? [];
  if (!Array.isArray(args)) return invalid('args must be an array');
  const problem = checkArgs(method as EmbedMethod, args);
  if (problem) return invalid(`${method}: ${problem}`);
  return {
    type: 'request',
    request: { protocol: EMBED_PROTOCOL, version: EMBED_PROTOCOL_VERSION, kind: 'request', id, method: method as EmbedMethod, args },
  };
}

const VM_METHODS: ReadonlySet<EmbedMethod> = new Set(['get', 'start', 'pause', 'resume', 'reset', 'stop', 'delete', 'read']);

function checkArgs(method: EmbedMethod, args: readonly unknown[]): string | undefined {
  const vm = (): string | undefined => (typeof args[0] === 'string' ? undefined : 'argument 1 must be the VM name or id (a string)');
  const snapshotRef = (): string | undefined => (typeof args[0] === 'string' ? undefined : 'argument 1 must be the snapshot name or id (a string)');
  if (VM_METHODS.has(method)) return vm();
  switch (method) {
    case 'list':
    case 'images':
      return undefined;
    case 'create':
      return args[0] === undefined || isRecord(args[0]) ? undefined : 'argument 1 must be a config object';
    case 'listSnapshots':
      return undefined;
    case 'snapshot':
      return vm() ?? optionalString(args[1], 'argument 2 must be the snapshot name (a string) or left out');
    case 'restoreSnapshot':
      return vm() ?? (typeof args[1] === 'string' ? undefined : 'argument 2 must be the snapshot name or id (a string)');
    case 'cloneSnapshot':
      return snapshotRef() ?? (args[1] === undefined || isRecord(args[1]) ? undefined : 'argument 2 must be a config object ({ name })');
    case 'renameSnapshot':
      return snapshotRef() ?? (typeof args[1] === 'string' ? undefined : 'argument 2 must be the new name (a string)');
    case 'deleteSnapshot':
    case 'exportSnapshot':
      return snapshotRef();
    case 'importSnapshot':
      return (args[0] instanceof Uint8Array || args[0] instanceof ArrayBuffer ? undefined : 'argument 1 must be the file (a Uint8Array or an ArrayBuffer)') ??
        optionalString(args[1], 'argument 2 must be a name for it (a string) or left out');
    case 'send':
      return vm() ?? (typeof args[1] === 'string' ? undefined : 'argument 2 must be the text to type (a string)');
    case 'waitFor': {
      const problem = vm();
      if (problem) return problem;
      try {
        toRegExp(args[1]);
      } catch (error) {
        return `argument 2 ${(error as Error).message}`;
      }
      const timeout = args[2];
      if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) return 'argument 3 must be a timeout in ms (a positive number)';
      return undefined;
    }
    default:
      return undefined;
  }
}

function optionalString(value: unknown, problem: string): string | undefined {
  return value === undefined || typeof value === 'string' ? undefined : problem;
}

/** A waitFor pattern as it may arrive by message. Throws with the second half of a sentence. */
export function toRegExp(pattern: unknown): RegExp | string {
  if (typeof pattern === 'string') return pattern;
  if (pattern instanceof RegExp) return pattern;
  if (isRecord(pattern) && typeof pattern.source === 'string') {
    const flags = pattern.flags === undefined ? '' : pattern.flags;
    if (typeof flags !== 'string') throw new Error('has flags that are not a string');
    try {
      return new RegExp(pattern.source, flags);
    } catch {
      throw new Error(`is not a valid regular expression: /${pattern.source}/${flags}`);
    }
  }
  throw new Error('must be a string, a RegExp or { source, flags }');
}

/** Runs a parsed request against the API; never rejects. */
export async function dispatch(api: TabvisorApi, request: EmbedRequest): Promise<EmbedResponse> {
  try {
    return respond(request.id, await call(api, request.method, request.args));
  } catch (error) {
    return fail(request.id, error);
  }
}

async function call(api: TabvisorApi, method: EmbedMethod, args: readonly unknown[]): Promise<unknown> {
  const vm = args[0] as string;
  switch (method) {
    case 'list':
      return api.list();
    case 'images':
      return api.images();
    case 'get':
      return api.get(vm);
    case 'create':
      return api.create((args[0] ?? {}) as Parameters<TabvisorApi['create']>[0]);
    case 'start':
      return api.start(vm);
    case 'pause':
      return api.pause(vm);
    case 'resume':
      return api.resume(vm);
    case 'reset':
      return api.reset(vm);
    case 'stop':
      return api.stop(vm);
    case 'delete':
      return api.delete(vm);
    case 'send':
      return api.send(vm, args[1] as string);
    case 'waitFor':
      return api.waitFor(vm, toRegExp(args[1]), args[2] as number | undefined);
    case 'read':
      return api.read(vm);
    case 'snapshot':
      return api.snapshot(vm, args[1] as string | undefined);
    case 'listSnapshots':
      return api.listSnapshots();
    case 'restoreSnapshot':
      return api.restoreSnapshot(vm, args[1] as string);
    case 'cloneSnapshot':
      return api.cloneSnapshot(args[0] as string, args[1] as { name?: string } | undefined);
    case 'renameSnapshot':
      return api.renameSnapshot(args[0] as string, args[1] as string);
    case 'deleteSnapshot':
      return api.deleteSnapshot(args[0] as string);
    case 'exportSnapshot':
      return api.exportSnapshot(args[0] as string);
    case 'importSnapshot':
      return api.importSnapshot(args[0] as Uint8Array | ArrayBuffer, args[1] as string | undefined);
  }
}

export function respond(id: RequestId, result: unknown): EmbedResponse {
  return { protocol: EMBED_PROTOCOL, version: EMBED_PROTOCOL_VERSION, kind: 'response', id, ok: true, result: result ?? null };
}

export function fail(id: RequestId, error: unknown): EmbedResponse {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { protocol: EMBED_PROTOCOL, version: EMBED_PROTOCOL_VERSION, kind: 'response', id, ok: false, error: { name, message } };
}

export function event(body: EmbedEventBody): EmbedEvent {
  return { protocol: EMBED_PROTOCOL, version: EMBED_PROTOCOL_VERSION, ...body };
}
