// Simulated participants for the soak test and the load benchmark: the protocol test client
// (protocol-client.ts) with little memory each, every wait bounded in time.

import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freePort, startMain } from './processes.js';
import { TestClient } from './protocol-client.js';

export interface SimClient {
  socket: WebSocket;
  id: string;
  /** Messages by type, counted. */
  counts: Map<string, number>;
  /** Resolves with the next message of this type (rejects after timeoutMs, or on a message the client's parser refuses). */
  next(type: string | string[], timeoutMs?: number): Promise<Record<string, unknown>>;
  send(message: object): void;
  closed: Promise<number>;
  /** The protocol client underneath, for typed waits. */
  client: TestClient;
}

/**
 * A connected, greeted participant that keeps little (no history, at most 64 unread messages), so
 * tens of thousands fit in one process. Every message is validated by the client's own parser.
 */
export async function simClient(url: string, timeoutMs = 10_000): Promise<SimClient> {
  const client = await TestClient.connect(url, 'sim', undefined, { keepHistory: false, unreadLimit: 64, connectTimeoutMs: timeoutMs });
  await client.hello(timeoutMs);
  return {
    socket: client.socket,
    id: client.id,
    counts: client.counts,
    closed: client.closed.then((event) => event.code),
    client,
    send: (message) => {
      if (client.isOpen) client.send(message);
    },
    next: (wanted, wait = timeoutMs) => {
      const types: string[] = Array.isArray(wanted) ? wanted : [wanted];
      return client.next((message) => types.includes(message.type), wait) as Promise<unknown> as Promise<Record<string, unknown>>;
    },
  };
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

export interface LoadResult {
  clients: number;
  /** Connections the server counted with everyone in. */
  connections: number;
  meetings: number;
  connectAndJoinSeconds: number;
  /** New joins while the load is on. */
  probeJoinMs: { p50: number; p95: number; max: number };
  rssPerConnectionBytes: number;
  heapPerConnectionBytes: number;
  rssMB: number;
  /** Connections and meetings the server still counts after everyone went. */
  connectionsAfter: number;
  meetingsAfter: number;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/**
 * N concurrent WebSocket clients on loopback, in meetings of `roomSize`, against the real server
 * started as an operator would (`tsx signal/main.ts`, its own process so each side has its own
 * file descriptors). Then `probes` joins one after another under that load.
 */
export async function runLoad({ clients: count, roomSize = 4, probes = 100 }: { clients: number; roomSize?: number; probes?: number }): Promise<LoadResult> {
  const port = await freePort();
  const server = startMain({ TREFF_PORT: String(port), TREFF_CONNECTIONS_PER_ADDRESS: String(count + probes + 10), TREFF_LOG_LEVEL: 'warn' });
  try {
    const base = `http://127.0.0.1:${port}`;
    const ws = `ws://127.0.0.1:${port}/ws`;
    for (let i = 0; i < 200 && !(await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)); i++) await new Promise((r) => setTimeout(r, 100));
    const rssBefore = await metric(base, 'process_resident_memory_bytes');
    const heapBefore = await metric(base, 'nodejs_heap_used_bytes');
    const clients: SimClient[] = [];
    const started = performance.now();
    await pool(
      Array.from({ length: count }, (_, i) => i),
      500,
      async (i) => {
        const client = await simClient(ws, 30_000);
        client.send({ type: 'join', room: `load-${Math.floor(i / roomSize)}`, name: `P${i}` });
        await client.next('joined', 30_000);
        clients.push(client);
      },
    );
    const connectMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = await metric(base, 'process_resident_memory_bytes');
    const heapAfter = await metric(base, 'nodejs_heap_used_bytes');
    const connections = await metric(base, 'treff_connections');
    const latencies: number[] = [];
    for (let i = 0; i < probes; i++) {
      const t = performance.now();
      const probe = await simClient(ws, 10_000);
      probe.send({ type: 'join', room: `probe-${i}`, name: 'Probe' });
      await probe.next('joined', 10_000);
      latencies.push(performance.now() - t);
      probe.send({ type: 'leave' });
      probe.socket.close();
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
    // Everyone leaves with a goodbye (seats are held only for sockets that drop).
    await pool(clients, 1000, async (c) => {
      c.send({ type: 'leave' });
      c.socket.close();
    });
    let connectionsAfter = NaN;
    let meetingsAfter = NaN;
    for (let i = 0; i < 100; i++) {
      connectionsAfter = await metric(base, 'treff_connections');
      meetingsAfter = await metric(base, 'treff_rooms');
      if (connectionsAfter === 0 && meetingsAfter === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      clients: count,
      connections,
      meetings: Math.ceil(count / roomSize),
      connectAndJoinSeconds: +(connectMs / 1000).toFixed(1),
      probeJoinMs: { p50: pct(0.5), p95: pct(0.95), max: +latencies.at(-1)!.toFixed(1) },
      rssPerConnectionBytes: Math.round((rssAfter - rssBefore) / count),
      heapPerConnectionBytes: Math.round((heapAfter - heapBefore) / count),
      rssMB: +(rssAfter / 1e6).toFixed(1),
      connectionsAfter,
      meetingsAfter,
    };
  } finally {
    await server.stop();
  }
}
