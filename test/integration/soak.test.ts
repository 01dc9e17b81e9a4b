// Soak: thousands of simulated participants join, signal and leave meetings in churn against the
// real server; some leave politely, some drop their connection (their seats must expire). At the
// end the server holds no meeting, no seat, no socket, and its heap is back near where it started.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../signal/config.js';
import type { Logger } from '../../signal/log.js';
import { pool, simClient } from '../helpers/load.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().heapUsed;
};

// Sized for CI; `npm run bench:soak` runs ten times as many.
const CLIENTS = Math.min(Number(process.env.TREFF_SOAK_CLIENTS ?? 3000), 100_000);
const ROOMS = Math.max(150, Math.round(CLIENTS / 20));
const CONCURRENCY = 200;

describe('soak: churn of thousands of participants', () => {
  let server: TestServer;
  const errors: string[] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, warn: (m) => errors.push(`warn: ${m}`), error: (m) => errors.push(`error: ${m}`) };

  beforeAll(async () => {
    const defaults = loadConfig({ TREFF_TURN: 'off' }, { staticDir: '' });
    server = await startTestServer({ seatGraceSeconds: 1, logger, limits: { ...defaults.limits, connectionsPerAddress: 100_000 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  let refusedFull = 0;
  const churn = async (count: number, label: string) => {
    let signalled = 0;
    await pool(
      Array.from({ length: count }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const client = await simClient(server.wsUrl);
        client.send({ type: 'join', room: `${label}-${i % ROOMS}`, name: `P${i}` });
        // Dropped participants hold their seats for a second, so a meeting can be full: an intended refusal.
        const joined = await client.next(['joined', 'error'], 30_000);
        if (joined.type === 'error') {
          expect(['room-full', 'room-full-video']).toContain(joined.code);
          refusedFull++;
        }
        const others = (joined.participants ?? []) as Array<{ id: string }>;
        for (const other of others.slice(0, 3)) {
          client.send({ type: 'signal', to: other.id, data: { type: 'offer', sdp: 'v=0 soak' } });
          signalled++;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        if (i % 3 === 0) {
          client.socket.terminate(); // dropped: the seat is held, then expires
        } else {
          client.send({ type: 'leave' });
          client.socket.close();
        }
        await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
      },
    );
    return signalled;
  };

  const drained = async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (server.server.rooms.roomCount > 0 || server.server.seatCount > 0)) await new Promise((resolve) => setTimeout(resolve, 100));
  };

  it('ends with zero meetings, zero seats and the heap back near its baseline, also after a second round', { timeout: Math.max(110_000, CLIENTS * 80) }, async () => {
    await churn(300, 'warmup');
    await drained();
    const baseline = await heapAfterGc();
    const started = Date.now();
    const signalled = await churn(CLIENTS, 'soak');
    const churnMs = Date.now() - started;
    await drained();
    const afterFirst = await heapAfterGc();
    // As many meetings again, all new: memory must not grow with the meetings ever created.
    await churn(CLIENTS, 'again');
    await drained();
    const afterSecond = await heapAfterGc();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    console.log(
      `soak: ${CLIENTS} participants in ${ROOMS} meetings, twice; ${signalled} signals and ${churnMs} ms in the first round, ${refusedFull} room-full refusals; heap ${mb(baseline)} MB → ${mb(afterFirst)} MB → ${mb(afterSecond)} MB`,
    );
    expect(server.server.rooms.roomCount).toBe(0);
    expect(server.server.rooms.participantCount).toBe(0);
    expect(server.server.seatCount).toBe(0);
    expect(metrics).toMatch(/^treff_connections 0$/m);
    // The first round leaves high-water marks (table capacities, the clients' own buffers: they run
    // in this process too), larger with more participants at once; the second must add nothing.
    expect(afterFirst - baseline).toBeLessThan(8 * 1024 * 1024 * Math.max(1, CLIENTS / 3000));
    expect(afterSecond - afterFirst).toBeLessThan(4 * 1024 * 1024);
    expect(errors).toEqual([]);
  });
});
