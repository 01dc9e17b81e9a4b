// A node of the cluster dies (SIGKILL) or drains (issue 15): its meetings come back on the other
// node with their password, lock and moderator from Redis; a stranger does not get in; when the
// killed node returns no meeting is split; a drained node's browsers are told to move (4010).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION, type ServerMessage } from '../../signal/protocol.js';
import { gauge, startCluster, type TestCluster } from '../helpers/cluster.js';
import { TestClient } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple';

describe('a protected meeting when its node goes away', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    cluster = await startCluster({ nodeEnv: { TREFF_SEAT_GRACE: '20' } });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await cluster?.stop();
  }, 30_000);

  /** Connects through HAProxy as a browser does: a 503 (the meeting is on its way to another node) is tried again. */
  const connect = async (room: string, label: string, deadlineMs = 10_000): Promise<TestClient> => {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        const client = await TestClient.connect(cluster.wsUrl(room), label);
        clients.push(client);
        return client;
      } catch (error) {
        if (!/503/.test(String(error)) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const greeted = async (room: string, label: string) => {
    const client = await connect(room, label);
    await client.hello();
    return client;
  };
  /** A browser coming back with the resume token from its first welcome. */
  const comeBack = async (before: TestClient, room: string, label: string) => {
    const token = (before.received.find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>).resumeToken;
    const client = await connect(room, label);
    client.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token });
    client.id = (await client.next('welcome', 5000)).you;
    expect(client.id).toBe(before.id);
    return client;
  };
  const nodeIndex = async (room: string) => {
    const holder = await cluster.leaseHolder(room);
    expect(holder).toMatch(/^node[12]$/);
    return Number(holder!.slice(4)) - 1;
  };

  it('comes back on the other node with its password, lock and moderator; a stranger stays out; the restarted node splits nothing', async () => {
    const room = 'council';
    const ada = await greeted(room, 'ada');
    const adasKey = (await ada.join(room, 'Ada')).moderatorKey!;
    const ben = await greeted(room, 'ben');
    await ben.join(room, 'Ben');
    ada.send({ type: 'set-password', password: PASSWORD });
    await expect(ada.next('room-settings', 5000)).resolves.toMatchObject({ settings: { hasPassword: true } });
    ada.send({ type: 'lock', locked: true });
    await expect(ada.next('room-settings', 5000)).resolves.toMatchObject({ settings: { locked: true } });

    const dead = await nodeIndex(room);
    const other = 1 - dead;
    const killedAt = Date.now();
    await cluster.killNode(dead);
    await Promise.all([ada.closed, ben.closed]);

    // The stranger is first on the other node: the password is there before anyone is back.
    const eve = await greeted(room, 'eve');
    eve.send({ type: 'join', room, name: 'Eve' });
    await expect(eve.next('error', 5000)).resolves.toMatchObject({ code: 'password-required' });
    expect(await cluster.leaseHolder(room)).toBe(`node${other + 1}`);
    eve.send({ type: 'join', room, name: 'Eve', password: PASSWORD });
    await expect(eve.next('error', 5000)).resolves.toMatchObject({ code: 'room-locked' });

    // The members come back as after a restart; Ada with her key is the moderator again.
    const benBack = await comeBack(ben, room, 'ben-back');
    benBack.send({ type: 'join', room, name: 'Ben', rejoin: { participants: [ada.id] } });
    await expect(benBack.next('joined', 5000)).resolves.toMatchObject({ moderator: ada.id, settings: { hasPassword: true, locked: true } });
    const adaBack = await comeBack(ada, room, 'ada-back');
    adaBack.send({ type: 'join', room, name: 'Ada', moderatorKey: adasKey, rejoin: { participants: [ben.id] } });
    await expect(adaBack.next('joined', 5000)).resolves.toMatchObject({ moderator: ada.id, moderatorKey: adasKey, participants: [{ id: ben.id }] });
    const reformedMs = Date.now() - killedAt;
    expect(reformedMs).toBeLessThan(10_000);
    console.log(`meeting re-formed on the other node ${reformedMs} ms after the kill`);

    // The killed node returns: the meeting stays where it is, and a newcomer meets everyone there.
    await cluster.restartNode(dead);
    await cluster.waitForStates({ node1: 'UP', node2: 'UP' });
    adaBack.send({ type: 'lock', locked: false });
    await adaBack.next('room-settings', 5000);
    const carl = await greeted(room, 'carl');
    carl.send({ type: 'join', room, name: 'Carl', password: PASSWORD });
    const joined = await carl.next('joined', 5000);
    expect(joined.participants.map((p) => p.id).sort()).toEqual([ada.id, ben.id].sort());
    expect(await cluster.leaseHolder(room)).toBe(`node${other + 1}`);
    expect(gauge(await cluster.metrics(dead), 'treff_rooms')).toBe(0);
    expect(eve.received.filter((m) => m.type === 'joined' || m.type === 'participant-joined' || m.type === 'signal')).toEqual([]);
  }, 90_000);

  it('drains on SIGTERM: /readyz fails, its browsers are told to move (4010) and take the meeting to the other node', async () => {
    const room = 'drained';
    const ada = await greeted(room, 'ada');
    const adasKey = (await ada.join(room, 'Ada')).moderatorKey!;
    const ben = await greeted(room, 'ben');
    await ben.join(room, 'Ben');
    ada.send({ type: 'set-password', password: PASSWORD });
    await ada.next('room-settings', 5000);
    const draining = await nodeIndex(room);
    const node = cluster.nodes[draining]!;

    node.process.child.kill('SIGTERM');
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${node.port}/readyz`).catch(() => undefined))?.status, { timeout: 5000, interval: 50 }).toBe(503);
    const [adaClosed, benClosed] = await Promise.all([ada.closed, ben.closed]);
    expect(adaClosed.code).toBe(CloseCode.Moved);
    expect(benClosed.code).toBe(CloseCode.Moved);
    await node.process.exited;

    const benBack = await comeBack(ben, room, 'ben-back');
    benBack.send({ type: 'join', room, name: 'Ben', rejoin: { participants: [ada.id] } });
    await expect(benBack.next('joined', 5000)).resolves.toMatchObject({ moderator: ada.id, settings: { hasPassword: true } });
    const adaBack = await comeBack(ada, room, 'ada-back');
    adaBack.send({ type: 'join', room, name: 'Ada', moderatorKey: adasKey, rejoin: { participants: [ben.id] } });
    await expect(adaBack.next('joined', 5000)).resolves.toMatchObject({ moderator: ada.id, participants: [{ id: ben.id }] });
    expect(await cluster.leaseHolder(room)).toBe(`node${2 - draining}`);
  }, 90_000);
});
