// Hostile strangers and members against the real server (issue 11): each story is an attack that
// worked before, told from the attacker's side, and what the server does now. Addresses are played
// with X-Forwarded-For behind a trusted proxy (the server takes the last entry, as from nginx).

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, PROTOCOL_VERSION, type ServerMessage } from '../../signal/protocol.js';
import { TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const servers: TestServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(): Promise<TestServer> {
  const started = await startTestServer({ trustProxy: true, seatGraceSeconds: 20 });
  servers.push(started);
  return started;
}

async function from(at: TestServer, address: string, label: string): Promise<TestClient> {
  const client = await greetedClient(at.wsUrl, label, { headers: { 'x-forwarded-for': address } });
  clients.push(client);
  return client;
}

const tokenOf = (client: TestClient) => (client.received.find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>).resumeToken;

/** A meeting with a password, its moderator Ada at 192.0.2.1. */
async function protectedMeeting(at: TestServer, room: string): Promise<TestClient> {
  const ada = await from(at, '192.0.2.1', 'ada');
  await ada.join(room, 'Ada');
  ada.send({ type: 'set-password', password: PASSWORD });
  await ada.next('room-settings', 5000);
  return ada;
}

/** Eve guesses wrong from three addresses, ten times each: the meeting's budget of 30 is spent. */
async function spendGuessBudget(at: TestServer, room: string): Promise<void> {
  for (const address of ['203.0.113.10', '203.0.113.11', '203.0.113.12']) {
    const eve = await from(at, address, `eve@${address}`);
    for (let i = 0; i < 10; i++) {
      eve.send({ type: 'join', room, name: 'Eve', password: `guess ${address} ${i}` });
      await expect(eve.next('error', 5000)).resolves.toMatchObject({ code: 'wrong-password' });
    }
  }
}

async function stillServing(at: TestServer): Promise<void> {
  const probe = await from(at, '192.0.2.250', 'probe');
  probe.send({ type: 'ping' });
  await expect(probe.next('pong')).resolves.toEqual({ type: 'pong' });
}

describe('hostile signalling (issue 11)', () => {
  it('attack 1: Mallory relays a transceiver request nested 8,000 deep; Bob gets a plain one and the server keeps serving', async () => {
    const at = await server();
    const mallory = await from(at, '203.0.113.5', 'mallory');
    const bob = await from(at, '192.0.2.2', 'bob');
    await mallory.join('deep', 'Mallory');
    await bob.join('deep', 'Bob');

    const deep = '['.repeat(8000) + ']'.repeat(8000);
    mallory.sendRaw(`{"type":"signal","to":"${bob.id}","data":{"type":"transceiverRequest","transceiverRequest":{"kind":"audio","init":${deep}}}}`);

    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: mallory.id, data: { type: 'transceiverRequest', transceiverRequest: { kind: 'audio' } } });
    await stillServing(at);
    expect(mallory.isOpen).toBe(true);
  });

  it('attack 2: Eve guesses, drops her socket while scrypt runs and says hello with the same token: the late answer goes nowhere', async () => {
    const at = await server();
    await protectedMeeting(at, 'race');
    const eve = await from(at, '203.0.113.6', 'eve');
    const token = tokenOf(eve);

    eve.send({ type: 'join', room: 'race', name: 'Eve', password: 'wrong guess!' });
    eve.terminate();
    const again = await TestClient.connect(at.wsUrl, 'eve-again', { headers: { 'x-forwarded-for': '203.0.113.6' } });
    clients.push(again);
    again.send({ type: 'hello', version: PROTOCOL_VERSION, resumeToken: token });
    await expect(again.next('welcome')).resolves.toMatchObject({ resumeToken: token });

    await new Promise((resolve) => setTimeout(resolve, 500)); // the hash lands meanwhile
    expect(await again.unreadAfter(50)).toEqual([]); // the old socket's answer is not given to the new one either
    await stillServing(at);
  });

  it('attack 5: one burst of 59 wrong guesses and the right one gets one hash, and no way in', async () => {
    const at = await server();
    await protectedMeeting(at, 'burst');
    const hashesBefore = at.server.counters.get('passwordHashes');
    const eve = await from(at, '203.0.113.7', 'eve');

    for (let i = 0; i < 59; i++) eve.send({ type: 'join', room: 'burst', name: 'Eve', password: `guess number ${i}` });
    eve.send({ type: 'join', room: 'burst', name: 'Eve', password: PASSWORD });
    const codes: string[] = [];
    for (let i = 0; i < 60; i++) {
      const answer = await eve.next((m) => m.type === 'error' || m.type === 'joined', 5000);
      codes.push(answer.type === 'error' ? answer.code : answer.type);
    }

    expect(codes).not.toContain('joined');
    expect(codes.filter((code) => code === 'wrong-password')).toHaveLength(1);
    expect(at.server.counters.get('passwordHashes') - hashesBefore).toBe(1);
  });

  it('attack 6: 30 wrong guesses from three addresses do not lock Cyd out: she knocks, Ada sees the meeting is under attack and admits her', async () => {
    const at = await server();
    const ada = await protectedMeeting(at, 'council');
    await spendGuessBudget(at, 'council');

    const cyd = await from(at, '198.51.100.20', 'cyd');
    cyd.send({ type: 'join', room: 'council', name: 'Cyd', password: PASSWORD });
    await expect(cyd.next('lobby-waiting')).resolves.toEqual({ type: 'lobby-waiting' });
    await expect(ada.next('knocking')).resolves.toEqual({ type: 'knocking', participant: { id: cyd.id, name: 'Cyd', passwordUnchecked: true } });
    ada.send({ type: 'admit', id: cyd.id });
    await expect(cyd.next('joined')).resolves.toMatchObject({ participants: [{ id: ada.id }] });
  });

  it('attack 6, with the lobby on: a knocker the moderator admitted past the spent budget is in at once, not asked to knock again', async () => {
    const at = await server();
    const ada = await protectedMeeting(at, 'lobbied');
    ada.send({ type: 'lobby', enabled: true });
    await ada.next('room-settings');
    await spendGuessBudget(at, 'lobbied');
    const cyd = await from(at, '198.51.100.20', 'cyd');
    cyd.send({ type: 'join', room: 'lobbied', name: 'Cyd', password: PASSWORD });
    await expect(ada.next('knocking')).resolves.toMatchObject({ participant: { id: cyd.id, passwordUnchecked: true } });
    ada.send({ type: 'admit', id: cyd.id });
    await expect(cyd.next('joined')).resolves.toMatchObject({ participants: [{ id: ada.id }] });
    expect(ada.received.filter((m) => m.type === 'knocking')).toHaveLength(1);
  });

  it('attack 6: a whole IPv6 /64 shares one guess budget, whatever address in it guesses', async () => {
    const at = await server();
    await protectedMeeting(at, 'v6');
    const first = await from(at, '2001:db8:1:2::1', 'eve-1');
    for (let i = 0; i < 10; i++) {
      first.send({ type: 'join', room: 'v6', name: 'Eve', password: `guess v6 ${i}` });
      await expect(first.next('error', 5000)).resolves.toMatchObject({ code: 'wrong-password' });
    }
    const neighbour = await from(at, '2001:db8:1:2:ffff:ffff:ffff:fffe', 'eve-2');
    neighbour.send({ type: 'join', room: 'v6', name: 'Eve', password: 'guess v6 next' });
    await expect(neighbour.next('error')).resolves.toMatchObject({ code: 'too-many-attempts' });
    const elsewhere = await from(at, '2001:db8:1:3::1', 'eve-3');
    elsewhere.send({ type: 'join', room: 'v6', name: 'Eve', password: 'guess v6 other' });
    await expect(elsewhere.next('error', 5000)).resolves.toMatchObject({ code: 'wrong-password' });
  });

  it('attack 13b: a password set and removed at once stays removed (the last request wins)', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    await ada.join('changeable', 'Ada');

    const finished = at.server.counters.get('passwordHashesFinished');
    ada.send({ type: 'set-password', password: PASSWORD });
    ada.send({ type: 'set-password', password: null });
    // Until the first password's hash has landed (~60 ms; more on a busy machine), bounded.
    for (const deadline = Date.now() + 15_000; at.server.counters.get('passwordHashesFinished') === finished; ) {
      if (Date.now() > deadline) throw new Error('the password hash never finished');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    expect(at.server.rooms.passwordHashFor('changeable', { id: 'a-stranger' }, Date.now())).toBeNull();

    const cyd = await from(at, '198.51.100.40', 'cyd');
    await expect(cyd.join('changeable', 'Cyd')).resolves.toMatchObject({ settings: { hasPassword: false } });
  });

  it('attack 7: 150 set-password from one moderator are cut short, and a password join elsewhere stays fast', async () => {
    const at = await server();
    await protectedMeeting(at, 'quiet');
    const mallory = await from(at, '203.0.113.30', 'mallory');
    await mallory.join('mallorys-own', 'Mallory');

    for (let i = 0; i < 150; i++) mallory.send({ type: 'set-password', password: `password number ${i}` });
    const bob = await from(at, '198.51.100.31', 'bob');
    const started = Date.now();
    bob.send({ type: 'join', room: 'quiet', name: 'Bob', password: PASSWORD });
    await bob.next('joined', 5000);

    expect(Date.now() - started).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mallory.received.filter((m) => m.type === 'error' && m.code === 'rate-limited').length).toBeGreaterThan(100);
    expect(at.server.counters.get('passwordHashes')).toBeLessThanOrEqual(1 + 1 + 5);
  });

  it('attack 9: Mallory floods a member who reads slowly with 48 KB signals: Mallory is told to slow down, the member is not dropped', async () => {
    const at = await server();
    const mallory = await from(at, '203.0.113.50', 'mallory');
    await mallory.join('flooded', 'Mallory');
    const victim = new WebSocket(at.wsUrl, { headers: { 'x-forwarded-for': '198.51.100.51' } });
    const victimMessages: string[] = [];
    let victimClosed: number | undefined;
    victim.on('message', (data) => victimMessages.push(data.toString()));
    victim.on('close', (code) => (victimClosed = code));
    await new Promise((resolve) => victim.once('open', resolve));
    victim.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION }));
    victim.send(JSON.stringify({ type: 'join', room: 'flooded', name: 'Victim' }));
    const victimId = await new Promise<string>((resolve) => mallory.next('participant-joined').then((m) => resolve(m.participant.id)));
    (victim as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const sdp = 'x'.repeat(48 * 1024);
    for (let round = 0; round < 30 && victimClosed === undefined; round++) {
      for (let i = 0; i < 10; i++) mallory.send({ type: 'signal', to: victimId, data: { type: 'offer', sdp } });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    mallory.send({ type: 'peer-lost', id: victimId });
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(mallory.received.some((m) => m.type === 'error' && m.code === 'rate-limited')).toBe(true);
    expect(victimClosed).toBeUndefined();
    expect(at.server.rooms.roomOf(victimId)).toBe('flooded');
    (victim as unknown as { _socket: { resume(): void } })._socket.resume();
    victim.close();
  });

  it('attack 10: join/leave churn by ten sockets from one address reaches a member only a few times', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    await ada.join('churned', 'Ada');
    const churners = await Promise.all(Array.from({ length: 10 }, (_, i) => from(at, '203.0.113.60', `churn-${i}`)));

    const until = Date.now() + 2000;
    while (Date.now() < until) {
      for (const churner of churners) {
        churner.send({ type: 'join', room: 'churned', name: 'Churn' });
        churner.send({ type: 'leave' });
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(ada.received.filter((m) => m.type === 'participant-joined').length).toBeLessThanOrEqual(30);
    expect(churners.some((c) => c.received.some((m) => m.type === 'error' && m.code === 'rate-limited'))).toBe(true);
  });

  it('attack 10: a knock flood from one address reaches the moderator only up to its budget', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    await ada.join('knocked', 'Ada');
    ada.send({ type: 'lobby', enabled: true });
    await ada.next('room-settings');

    for (let i = 0; i < 45; i++) {
      const knocker = await from(at, '203.0.113.70', `knock-${i}`);
      knocker.send({ type: 'join', room: i % 2 ? 'knocked' : 'Knocked', name: `Knock ${i}` });
      await knocker.next((m) => m.type === 'lobby-waiting' || m.type === 'error');
      await knocker.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ada.received.filter((m) => m.type === 'knocking').length).toBeLessThanOrEqual(30);
  });

  it('attack 10: mute-all is limited per connection', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    const bob = await from(at, '192.0.2.2', 'bob');
    await ada.join('muted', 'Ada');
    await bob.join('muted', 'Bob');

    for (let i = 0; i < 20; i++) ada.send({ type: 'mute-all' });
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(bob.received.filter((m) => m.type === 'mute-request')).toHaveLength(3);
    expect(ada.received.filter((m) => m.type === 'error' && m.code === 'rate-limited')).toHaveLength(17);
  });

  it('attack 10: someone the moderator removed cannot come straight back, by a new id or from a neighbour at the same address', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    const eve = await from(at, '203.0.113.80', 'eve');
    await ada.join('tidy', 'Ada');
    await eve.join('tidy', 'Eve');
    ada.send({ type: 'remove', id: eve.id });
    await eve.next('removed');

    eve.send({ type: 'join', room: 'tidy', name: 'Eve' });
    await expect(eve.next('error')).resolves.toMatchObject({ code: 'removed-recently' });
    const eveAgain = await from(at, '203.0.113.80', 'eve-new-tab');
    eveAgain.send({ type: 'join', room: 'tidy', name: 'Eve' });
    await expect(eveAgain.next('error')).resolves.toMatchObject({ code: 'removed-recently' });
    // Someone else's meeting is not affected.
    await expect(eveAgain.join('elsewhere', 'Eve')).resolves.toMatchObject({ type: 'joined' });
  });

  it('a message that fails unexpectedly closes only its own socket with 1011, and is counted', async () => {
    const at = await server();
    const ada = await from(at, '192.0.2.1', 'ada');
    const bob = await from(at, '192.0.2.2', 'bob');
    await ada.join('fragile', 'Ada');
    await bob.join('fragile', 'Bob');
    // A room whose relay throws what no rule foresaw (a stand-in for the next JSON.stringify overflow).
    const relay = at.server.rooms.relay.bind(at.server.rooms);
    at.server.rooms.relay = () => {
      throw new RangeError('Maximum call stack size exceeded');
    };
    try {
      ada.send({ type: 'signal', to: bob.id, data: { type: 'restart-ice' } });
      await expect(ada.closed).resolves.toMatchObject({ code: CloseCode.InternalError });
    } finally {
      at.server.rooms.relay = relay;
    }
    expect(at.server.counters.get('handlerFailures', 'message')).toBe(1);
    bob.send({ type: 'ping' });
    await expect(bob.next('pong')).resolves.toEqual({ type: 'pong' });
  });
});
