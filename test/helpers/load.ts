// Simulated participants for the soak test and the load benchmark: raw `ws` sockets speaking the
// signalling protocol, with every wait bounded in time.

import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../signal/protocol.js';

export interface SimClient {
  socket: WebSocket;
  id: string;
  /** Messages by type, counted. */
  counts: Map<string, number>;
  /** Resolves with the next message of this type (rejects after timeoutMs). */
  next(type: string | string[], timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: object): void;
  closed: Promise<number>;
}

export async function simClient(url: string, timeoutMs = 10_000): Promise<SimClient> {
  const socket = new WebSocket(url);
  const counts = new Map<string, number>();
  const waiters: Array<{ type: string[]; resolve: (m: Record<string, unknown>) => void }> = [];
  const inbox: Array<Record<string, unknown>> = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as Record<string, unknown>;
    const type = String(message.type);
    counts.set(type, (counts.get(type) ?? 0) + 1);
    const waiter = waiters.findIndex((w) => w.type.includes(type));
    if (waiter >= 0) waiters.splice(waiter, 1)[0]!.resolve(message);
    else if (inbox.length < 64) inbox.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), timeoutMs);
    socket.once('open', () => (clearTimeout(timer), resolve()));
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
  });
  const client: SimClient = {
    socket,
    id: '',
    counts,
    closed,
    send: (message) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message)),
    next: (wanted, wait = timeoutMs) => {
      const type = Array.isArray(wanted) ? wanted : [wanted];
      const queued = inbox.findIndex((m) => type.includes(String(m.type)));
      if (queued >= 0) return Promise.resolve(inbox.splice(queued, 1)[0]!);
      return new Promise((resolve, reject) => {
        const entry = { type, resolve: (m: Record<string, unknown>) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(entry), 1);
          reject(new Error(`no ${type} within ${wait} ms`));
        }, wait);
        waiters.push(entry);
      });
    },
  };
  client.send({ type: 'hello', version: PROTOCOL_VERSION });
  client.id = String((await client.next('welcome')).you);
  return client;
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
