// Load benchmark: N concurrent WebSocket clients (default 10,000) on loopback, in meetings of 4,
// against the real server started as an operator would (`tsx signal/main.ts`, its own process so
// each side has its own file descriptors). Reports whether joins are still answered at that load,
// how fast, and the server's memory per connection (from its /metrics).
//
//   node --import tsx scripts/bench-load.ts [clients]

import { performance } from 'node:perf_hooks';
import { pool, simClient, type SimClient } from '../test/helpers/load.js';
import { freePort, startMain } from '../test/helpers/processes.js';

const CLIENTS = Math.min(Number(process.argv[2] ?? 10_000), 15_000);
const ROOM_SIZE = 4;
const PROBES = 100;

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = startMain({ TREFF_PORT: String(port), TREFF_CONNECTIONS_PER_ADDRESS: String(CLIENTS + PROBES + 10), TREFF_LOG_LEVEL: 'warn' });
  try {
    const base = `http://127.0.0.1:${port}`;
    const ws = `ws://127.0.0.1:${port}/ws`;
    for (let i = 0; i < 200 && !(await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)); i++) await new Promise((r) => setTimeout(r, 100));
    const rssBefore = await metric(base, 'process_resident_memory_bytes');
    const heapBefore = await metric(base, 'nodejs_heap_used_bytes');
    const clients: SimClient[] = [];
    const started = performance.now();
    await pool(
      Array.from({ length: CLIENTS }, (_, i) => i),
      500,
      async (i) => {
        const client = await simClient(ws, 30_000);
        client.send({ type: 'join', room: `load-${Math.floor(i / ROOM_SIZE)}`, name: `P${i}` });
        await client.next('joined', 30_000);
        clients.push(client);
      },
    );
    const connectMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = await metric(base, 'process_resident_memory_bytes');
    const heapAfter = await metric(base, 'nodejs_heap_used_bytes');
    const connections = await metric(base, 'treff_connections');
    // Under that load: are new joins still answered, and how fast?
    const latencies: number[] = [];
    for (let i = 0; i < PROBES; i++) {
      const t = performance.now();
      const probe = await simClient(ws, 10_000);
      probe.send({ type: 'join', room: `probe-${i}`, name: 'Probe' });
      await probe.next('joined', 10_000);
      latencies.push(performance.now() - t);
      probe.socket.close();
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
    console.log(
      JSON.stringify(
        {
          clients: CLIENTS,
          connections,
          meetings: Math.ceil(CLIENTS / ROOM_SIZE),
          connectAndJoinSeconds: +(connectMs / 1000).toFixed(1),
          probeJoinMs: { p50: +pct(0.5), p95: +pct(0.95), max: +latencies.at(-1)!.toFixed(1) },
          rssPerConnectionBytes: Math.round((rssAfter - rssBefore) / CLIENTS),
          heapPerConnectionBytes: Math.round((heapAfter - heapBefore) / CLIENTS),
          rssMB: +(rssAfter / 1e6).toFixed(1),
        },
        null,
        2,
      ),
    );
    await pool(clients, 1000, async (c) => c.socket.terminate());
  } finally {
    await server.stop();
  }
}

await main();
