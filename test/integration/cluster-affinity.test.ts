// Several nodes behind HAProxy (issue 15): every member of a meeting reaches the node that holds
// it, meetings spread over the nodes, and a socket cannot be turned to another meeting.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gauge, startCluster, type TestCluster } from '../helpers/cluster.js';
import { pool } from '../helpers/load.js';
import { PROTOCOL_VERSION } from '../../signal/protocol.js';
import { TestClient } from '../helpers/server.js';

const MEETINGS = 200;
const PER_MEETING = 4;

describe('a cluster of two nodes behind HAProxy', () => {
  let cluster: TestCluster;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await cluster?.stop();
  }, 30_000);

  it(`puts each of ${MEETINGS} meetings of ${PER_MEETING} on exactly one node, about half on each`, async () => {
    const rooms = Array.from({ length: MEETINGS }, (_, i) => `affinity-${i}`);
    const lastSaw: number[] = [];
    await pool(rooms, 10, async (room, index) => {
      for (let member = 0; member < PER_MEETING; member++) {
        const client = await TestClient.connect(cluster.wsUrl(room), `${room}/${member}`);
        clients.push(client);
        client.send({ type: 'hello', version: PROTOCOL_VERSION });
        await client.next('welcome', 10_000);
        client.send({ type: 'join', room, name: `Member ${member}` });
        const joined = await client.next('joined', 10_000);
        if (member === PER_MEETING - 1) lastSaw[index] = joined.participants.length;
      }
    });
    // Everyone who joined last met the three before them: nobody landed on another node.
    expect(new Set(lastSaw)).toEqual(new Set([PER_MEETING - 1]));

    const holders = await Promise.all(rooms.map((room) => cluster.leaseHolder(room)));
    const perNode = new Map<string | undefined, number>();
    for (const holder of holders) perNode.set(holder, (perNode.get(holder) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(['node1', 'node2']);

    // A meeting split over two nodes would be counted by both.
    const running = await Promise.all([0, 1].map(async (i) => gauge(await cluster.metrics(i), 'treff_rooms')));
    expect(running[0]! + running[1]!).toBe(MEETINGS);
    expect(running[0]).toBe(perNode.get('node1'));
    for (const count of running) expect(count).toBeGreaterThan(MEETINGS * 0.3);
    const participants = await Promise.all([0, 1].map(async (i) => gauge(await cluster.metrics(i), 'treff_participants')));
    expect(participants[0]! + participants[1]!).toBe(MEETINGS * PER_MEETING);
  }, 120_000);

  it('answers a join for another meeting than the socket was opened for with an error, and a socket for no meeting with 400', async () => {
    const client = await TestClient.connect(cluster.wsUrl('affinity-0'), 'stray');
    clients.push(client);
    await client.hello();
    client.send({ type: 'join', room: 'affinity-1', name: 'Stray' });
    const refusal = await client.next('error', 5000);
    expect(refusal.code).toBe('invalid-room-name');
    // The same meeting, spelled as the server normalises it, is still the one the socket is for.
    client.send({ type: 'join', room: 'Affinity 0', name: 'Member' });
    expect((await client.next('joined', 5000)).participants).toHaveLength(PER_MEETING);

    await expect(TestClient.connect(`${cluster.url.replace('http', 'ws')}/ws`, 'no meeting')).rejects.toThrow(/400/);
  }, 30_000);
});
