// The parts a cluster leans on go away while meetings run (issue 15): Redis is killed and
// restarted, HAProxy is reloaded. Calls go on, joins go on, leases come back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gauge, startCluster, type TestCluster } from '../helpers/cluster.js';
import { TestClient } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';

describe('a running cluster', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await cluster?.stop();
  }, 30_000);

  const member = async (room: string, name: string) => {
    const client = await TestClient.connect(cluster.wsUrl(room), name);
    clients.push(client);
    await client.hello();
    client.send({ type: 'join', room, name, ...(name === 'Carl' ? { password: PASSWORD } : {}) });
    await client.next('joined', 5000);
    return client;
  };
  /** One offer from one to the other arrives, stamped with the true sender. */
  const talk = async (from: TestClient, to: TestClient, round: number) => {
    const data = { type: 'offer' as const, sdp: `v=0\r\no=- ${round} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n` };
    from.send({ type: 'signal', to: to.id, data });
    expect(await to.next('signal', 5000)).toEqual({ type: 'signal', from: from.id, data });
  };
  const nodeOf = async (room: string) => Number((await cluster.leaseHolder(room))!.slice(4)) - 1;

  it('keeps calls and joins going while Redis is down, says so, and re-asserts the leases when it returns', async () => {
    const room = 'through-redis-outage';
    const ada = await member(room, 'Ada');
    const ben = await member(room, 'Ben');
    const node = await nodeOf(room);

    await cluster.killRedis();
    await expect.poll(async () => gauge(await cluster.metrics(node), 'treff_cluster_redis_up'), { timeout: 10_000, interval: 100 }).toBe(0);
    const readiness = await fetch(`http://127.0.0.1:${cluster.nodes[node]!.port}/readyz`);
    expect(readiness.status).toBe(200);
    expect(await readiness.text()).toMatch(/Redis unreachable/);

    await talk(ada, ben, 1);
    // Rules can still change (kept locally, written when Redis is back), and a newcomer still gets in.
    ada.send({ type: 'set-password', password: PASSWORD });
    await expect(ada.next('room-settings', 5000)).resolves.toMatchObject({ settings: { hasPassword: true } });
    const carl = await member(room, 'Carl');
    expect(carl.received.find((m) => m.type === 'joined')).toMatchObject({ participants: [{ id: ada.id }, { id: ben.id }] });

    await cluster.startRedis();
    await expect.poll(async () => gauge(await cluster.metrics(node), 'treff_cluster_redis_up'), { timeout: 10_000, interval: 100 }).toBe(1);
    await expect.poll(() => cluster.leaseHolder(room), { timeout: 10_000, interval: 100 }).toBe(`node${node + 1}`);
    // What changed while Redis was away is written again: the password would survive a move now.
    await expect.poll(async () => typeof (await cluster.storedRecord(room))?.passwordHash, { timeout: 10_000, interval: 100 }).toBe('string');
    expect((await cluster.storedRecord(room))?.members).toHaveLength(3);
    await talk(ben, carl, 2);
    for (const client of [ada, ben, carl]) expect(client.isOpen).toBe(true);
  }, 60_000);

  it('drops no call when HAProxy reloads, and keeps each meeting on its node', async () => {
    const rooms = ['reload-a', 'reload-b', 'reload-c', 'reload-d'];
    const pairs = await Promise.all(rooms.map(async (room) => [await member(room, 'Ada'), await member(room, 'Ben')] as const));
    const before = await Promise.all(rooms.map(nodeOf));

    await cluster.reloadHaproxy();
    for (const [i, [ada, ben]] of pairs.entries()) await talk(ada, ben, i);
    // Newcomers after the reload land where their meetings are.
    for (const [i, room] of rooms.entries()) {
      const carl = await TestClient.connect(cluster.wsUrl(room), `carl-${room}`);
      clients.push(carl);
      await carl.hello();
      carl.send({ type: 'join', room, name: 'Carl' });
      expect((await carl.next('joined', 5000)).participants.map((p) => p.id).sort()).toEqual([pairs[i]![0].id, pairs[i]![1].id].sort());
    }
    expect(await Promise.all(rooms.map(nodeOf))).toEqual(before);
    for (const [ada, ben] of pairs) expect(ada.isOpen && ben.isOpen).toBe(true);
  }, 60_000);
});
