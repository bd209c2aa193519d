/**
 * A comlink Endpoint over a Node worker_threads port (Worker, parentPort or a
 * MessagePort): Node delivers the payload itself to 'message' listeners, comlink
 * expects a DOM-style event with `.data`.
 */
import type { Endpoint } from 'comlink';
import type { TransferListItem } from 'node:worker_threads';

/** The part of Worker / MessagePort this adapter uses. */
export interface NodeMessagePort {
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

export function nodeEndpoint(port: NodeMessagePort): Endpoint {
  const adapters = new Map<EventListenerOrEventListenerObject, (value: unknown) => void>();
  return {
    postMessage(message: unknown, transfer?: Transferable[]): void {
      port.postMessage(message, transfer as unknown as TransferListItem[] | undefined);
    },
    addEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
      const adapter = (data: unknown): void => {
        const event = { data } as MessageEvent;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      adapters.set(listener, adapter);
      port.on('message', adapter);
    },
    removeEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
      const adapter = adapters.get(listener);
      if (!adapter) return;
      port.off('message', adapter);
      adapters.delete(listener);
    },
  };
}
