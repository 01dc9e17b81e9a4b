// Cluster benchmark (issue 15): two Treff nodes, Redis and HAProxy (docs/haproxy.cfg) on loopback.
// In one run: N participants in meetings of 4 join through HAProxy and N directly to a node
// (interleaved in rounds, so both see the same machine load), the joins' latency (connect, hello,
// join → joined) and how the meetings spread; then the time a meeting takes to re-form on the
// other node after its node is killed (SIGKILL), over several meetings.
//
//   npm run bench:cluster -- [participants per path, default 4000]

import { performance } from 'node:perf_hooks';
import { gauge, startCluster } from '../test/helpers/cluster.js';
import { pool, simClient, type SimClient } from '../test/helpers/load.js';

const perPath = Number(process.argv[2] ?? 4000);
const ROUNDS = 4;
const MEETING = 4;

const cluster = await startCluster();
const open: SimClient[] = [];
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
};
const joinAll = async (url: (room: string) => string, prefix: string, participants: number): Promise<number[]> => {
  const rooms = Array.from({ length: participants / MEETING }, (_, i) => `${prefix}-${i}`);
  const times: number[] = [];
  await pool(rooms, 50, async (room) => {
    for (let member = 0; member < MEETING; member++) {
      const started = performance.now();
      const client = await simClient(url(room));
      client.send({ type: 'join', room, name: `P${member}` });
      await client.next('joined');
      times.push(performance.now() - started);
      open.push(client);
    }
  });
  return times;
};

try {
  const direct = `ws://127.0.0.1:${cluster.nodes[0]!.port}/ws`;
  const through: number[] = [];
  const straight: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    through.push(...(await joinAll(cluster.wsUrl, `lb${round}`, perPath / ROUNDS)));
    straight.push(...(await joinAll((room) => `${direct}?room=${encodeURIComponent(room)}`, `direct${round}`, perPath / ROUNDS)));
  }
  const metrics = await Promise.all([0, 1].map((i) => cluster.metrics(i)));
  const perNode = metrics.map((m) => ({ connections: gauge(m, 'treff_connections'), meetings: gauge(m, 'treff_rooms'), rssMB: Math.round(gauge(m, 'process_resident_memory_bytes') / 1e6) }));
  console.log(JSON.stringify({ participantsPerPath: perPath, joinMs: { haproxy: { p50: percentile(through, 50), p99: percentile(through, 99) }, direct: { p50: percentile(straight, 50), p99: percentile(straight, 99) } }, perNode }, null, 2));
  await Promise.all(open.splice(0).map((c) => c.socket.terminate()));

  // Re-forming: meetings of two on the node about to be killed; each pair rejoins through HAProxy.
  const rooms = Array.from({ length: 40 }, (_, i) => `reform-${i}`);
  const pairs: Array<{ room: string; ids: string[]; tokens: string[] }> = [];
  for (const room of rooms) {
    const members = [await simClient(cluster.wsUrl(room)), await simClient(cluster.wsUrl(room))];
    for (const [i, m] of members.entries()) {
      m.send({ type: 'join', room, name: `R${i}` });
      await m.next('joined');
    }
    open.push(...members);
    if ((await cluster.leaseHolder(room)) === 'node1') pairs.push({ room, ids: members.map((m) => m.id), tokens: [] });
  }
  const killedAt = performance.now();
  await cluster.killNode(0);
  const reformed: number[] = [];
  await pool(pairs, 20, async ({ room, ids }) => {
    for (;;) {
      try {
        const client = await simClient(cluster.wsUrl(room), 2000);
        client.send({ type: 'join', room, name: 'back', rejoin: { participants: ids } });
        await client.next('joined');
        open.push(client);
        reformed.push(performance.now() - killedAt);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  console.log(JSON.stringify({ reformAfterKillMs: { meetings: reformed.length, p50: percentile(reformed, 50), max: percentile(reformed, 100) } }, null, 2));
} finally {
  for (const client of open) client.socket.terminate();
  await cluster.stop();
}
