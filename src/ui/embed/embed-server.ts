/**
 * The embed page's end of the postMessage protocol (embed-protocol.ts).
 *
 * Who may talk to it: only the window that embeds it (`event.source` must be
 * `window.parent`; messages from other frames, popups or the page itself are
 * ignored) and, when the page was given `?origin=https://parent.example`,
 * only from that origin. Responses go back to the requesting window and
 * origin only. Events go to the parent's origin when it is known (the
 * `origin` parameter, else `location.ancestorOrigins`, else the origin of
 * the first request); before that only the `ready` event is posted with
 * target '*', since it tells no more than the iframe's own URL does.
 */
import type { Disposable } from '../../vmm/events.ts';
import type { TabvisorApi } from '../scripting-api.ts';
import { dispatch, event, fail, parseMessage, type EmbedEventBody } from './embed-protocol.ts';

export interface EmbedServerOptions {
  api: TabvisorApi;
  /** The only parent origin accepted (from `?origin=`); any origin when undefined. */
  allowedOrigin?: string | undefined;
  /** Defaults to the global window. */
  self?: Window;
}

export interface EmbedServer extends Disposable {
  /** True when the page is framed (there is a parent to talk to). */
  readonly framed: boolean;
  post(body: EmbedEventBody): void;
}

export function serveEmbed(options: EmbedServerOptions): EmbedServer {
  const self = options.self ?? window;
  const parent = self.parent;
  const framed = parent !== self;
  const ancestor = self.location.ancestorOrigins?.[0];
  let parentOrigin = options.allowedOrigin ?? (ancestor && ancestor !== 'null' ? ancestor : undefined);

  const onMessage = (message: MessageEvent): void => {
    if (!framed || message.source !== parent) return;
    if (options.allowedOrigin !== undefined && message.origin !== options.allowedOrigin) return;
    const parsed = parseMessage(message.data);
    if (parsed.type === 'ignore') return;
    const replyOrigin = message.origin === 'null' ? '*' : message.origin;
    if (parentOrigin === undefined && message.origin !== 'null') parentOrigin = message.origin;
    const reply = (data: unknown): void => parent.postMessage(data, replyOrigin);
    if (parsed.type === 'invalid') {
      if (parsed.id !== undefined) reply(fail(parsed.id, new TypeError(parsed.message)));
      else console.warn(`tabvisor embed: ignored a malformed request: ${parsed.message}`);
      return;
    }
    void dispatch(options.api, parsed.request).then(reply);
  };
  self.addEventListener('message', onMessage);

  return {
    framed,
    post(body) {
      if (!framed) return;
      const target = parentOrigin ?? (body.event === 'ready' ? '*' : undefined);
      if (target !== undefined) parent.postMessage(event(body), target);
    },
    dispose() {
      self.removeEventListener('message', onMessage);
    },
  };
}
