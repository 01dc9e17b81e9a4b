// The real uWS signalling server on a free port, real WebSocket clients standing in for browsers.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, type SignalData } from '../../signal/protocol.js';
import { TEST_APP_JS, TEST_INDEX_HTML, TestClient, greetedClient, startTestServer, type TestServer } from '../helpers/server.js';

const OFFER: SignalData = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const ANSWER: SignalData = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const CANDIDATE: SignalData = {
  type: 'candidate',
  candidate: { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' },
};

/** Clients opened in a test, closed after it so no meeting leaks into the next test. */
const clients: TestClient[] = [];

async function browser(server: TestServer, label: string): Promise<TestClient> {
  const client = await greetedClient(server.wsUrl, label);
  clients.push(client);
  return client;
}

async function rawBrowser(server: TestServer, label: string): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl, label);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

let roomNumber = 0;
/** A fresh meeting name per test, since tests share one server. */
const freshRoom = () => `room-${++roomNumber}`;

describe('signalling over WebSocket', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    // Every test leaves the server as it found it: no participant and no meeting left behind.
    await vi.waitFor(() => expect([server.server.rooms.participantCount, server.server.rooms.roomCount]).toEqual([0, 0]), { timeout: 2000 });
  });

  afterAll(async () => {
    await server.close();
  });

  it('greets each browser that says hello with its own participant id', async () => {
    const ada = await rawBrowser(server, 'ada');
    const bob = await rawBrowser(server, 'bob');

    ada.send({ type: 'hello', version: PROTOCOL_VERSION });
    bob.send({ type: 'hello', version: PROTOCOL_VERSION });
    const [adaWelcome, bobWelcome] = await Promise.all([ada.next('welcome'), bob.next('welcome')]);

    expect(adaWelcome.you).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(bobWelcome.you).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(adaWelcome.you).not.toBe(bobWelcome.you);
  });

  it('answers ping with pong', async () => {
    const ada = await browser(server, 'ada');
    ada.send({ type: 'ping' });
    await expect(ada.next('pong')).resolves.toEqual({ type: 'pong' });
  });

  it('lets Ada open a meeting and Bob join it; each learns about the other', async () => {
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');

    const adaJoined = await ada.join('Team Weekly', 'Ada');
    expect(adaJoined).toEqual({
      type: 'joined',
      room: 'team-weekly',
      you: ada.id,
      participants: [],
      moderator: ada.id,
      iceServers: [],
      settings: { locked: false, lobby: false, hasPassword: false },
      moderatorKey: expect.stringMatching(/^[A-Za-z0-9_-]{44}$/),
      uplinkBudgetKbps: 2500,
    });

    // Bob types the link differently and still lands in the same meeting.
    const bobJoined = await bob.join('team-weekly', '  Bob  ');
    expect(bobJoined).toEqual({
      type: 'joined',
      room: 'team-weekly',
      you: bob.id,
      participants: [{ id: ada.id, name: 'Ada' }],
      moderator: ada.id,
      iceServers: [],
      settings: { locked: false, lobby: false, hasPassword: false },
      uplinkBudgetKbps: 2500,
    });
    await expect(ada.next('participant-joined')).resolves.toEqual({ type: 'participant-joined', participant: { id: bob.id, name: 'Bob' } });
    expect(server.server.rooms.roomOf(bob.id)).toBe('team-weekly');
  });

  it('relays offer, answer and candidates between members, stamped by the server with the sender', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    ada.send({ type: 'signal', to: bob.id, data: OFFER });
    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: ada.id, data: OFFER });

    bob.send({ type: 'signal', to: ada.id, data: ANSWER });
    await expect(ada.next('signal')).resolves.toEqual({ type: 'signal', from: bob.id, data: ANSWER });

    ada.send({ type: 'signal', to: bob.id, data: CANDIDATE });
    bob.send({ type: 'signal', to: ada.id, data: CANDIDATE });
    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: ada.id, data: CANDIDATE });
    await expect(ada.next('signal')).resolves.toEqual({ type: 'signal', from: bob.id, data: CANDIDATE });
  });

  it('does not let Mallory speak for Ada: the server overwrites "from"', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    const mallory = await browser(server, 'mallory');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');
    await mallory.join(room, 'Mallory');

    mallory.send({ type: 'signal', to: bob.id, from: ada.id, data: OFFER });

    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: mallory.id, data: OFFER });
    expect(bob.received.filter((m) => m.type === 'signal' && m.from === ada.id)).toEqual([]);
  });

  it('keeps meetings apart: Eve in another meeting cannot reach Ada', async () => {
    const ada = await browser(server, 'ada');
    const eve = await browser(server, 'eve');
    await ada.join(freshRoom(), 'Ada');
    await eve.join(freshRoom(), 'Eve');

    eve.send({ type: 'signal', to: ada.id, data: OFFER });

    await expect(eve.next('error')).resolves.toMatchObject({ code: 'unknown-participant' });
    expect(await ada.unreadAfter(200)).toEqual([]);
  });

  it('refuses signals from someone who has not joined, and to oneself', async () => {
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');

    bob.send({ type: 'signal', to: ada.id, data: OFFER });
    await expect(bob.next('error')).resolves.toMatchObject({ code: 'not-in-room' });

    await ada.join(freshRoom(), 'Ada');
    ada.send({ type: 'signal', to: ada.id, data: OFFER });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'unknown-participant' });
  });

  it('refuses a second join, a bad meeting name and a bad display name with their codes', async () => {
    const ada = await browser(server, 'ada');

    ada.send({ type: 'join', room: '<script>', name: 'Ada' });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'invalid-room-name' });
    ada.send({ type: 'join', room: freshRoom(), name: 'Ada\u202Egnp.exe' });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'invalid-name' });

    await ada.join(freshRoom(), 'Ada');
    ada.send({ type: 'join', room: freshRoom(), name: 'Ada' });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'already-in-room' });
  });

  it('answers malformed messages with bad-message and keeps serving that client and others', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    ada.sendRaw('this is not JSON {');
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'bad-message' });
    ada.send({ type: 'teleport', to: bob.id });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'bad-message' });
    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: 42 } });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'bad-message' });
    ada.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'bad-message' });

    // Ada is still connected and in her meeting; Bob noticed nothing.
    ada.send({ type: 'signal', to: bob.id, data: OFFER });
    await expect(bob.next('signal')).resolves.toEqual({ type: 'signal', from: ada.id, data: OFFER });
    expect(bob.received.map((m) => m.type)).toEqual(['welcome', 'joined', 'signal']);
    expect(ada.isOpen).toBe(true);
  });

  it('asks for hello before anything else', async () => {
    const ada = await rawBrowser(server, 'ada');

    ada.send({ type: 'join', room: freshRoom(), name: 'Ada' });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'hello-required' });
    ada.send({ type: 'ping' });
    await expect(ada.next('error')).resolves.toMatchObject({ code: 'hello-required' });
    expect(server.server.rooms.participantCount).toBe(0);

    // After hello the same socket works.
    await ada.hello();
    await expect(ada.join(freshRoom(), 'Ada')).resolves.toMatchObject({ type: 'joined' });
  });

  it('tells a page from another build to reload, and closes with 4001', async () => {
    const stale = await rawBrowser(server, 'stale');

    stale.send({ type: 'hello', version: PROTOCOL_VERSION + 1 });

    await expect(stale.next('error')).resolves.toMatchObject({ code: 'version-mismatch' });
    await expect(stale.closed).resolves.toMatchObject({ code: 4001 });
  });

  it('tells the others when someone leaves, and lets the leaver join another meeting', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    bob.send({ type: 'leave' });

    await expect(ada.next('participant-left')).resolves.toEqual({ type: 'participant-left', id: bob.id });
    await expect(bob.join(freshRoom(), 'Bob')).resolves.toMatchObject({ participants: [], moderator: bob.id });
    // Ada stays moderator of her meeting: nobody was told otherwise.
    expect(ada.received.some((m) => m.type === 'moderator-changed')).toBe(false);
  });

  it('hands the moderator role on when the moderator leaves', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    const cyd = await browser(server, 'cyd');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');
    await cyd.join(room, 'Cyd');

    ada.send({ type: 'leave' });

    for (const other of [bob, cyd]) {
      await expect(other.next('participant-left')).resolves.toEqual({ type: 'participant-left', id: ada.id });
      await expect(other.next('moderator-changed')).resolves.toEqual({ type: 'moderator-changed', moderator: bob.id });
    }
  });

  it('removes a browser whose connection drops without leave, and tells the others', async () => {
    const room = freshRoom();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');

    ada.terminate(); // no leave, no close handshake: a crashed tab

    await expect(bob.next('participant-left')).resolves.toEqual({ type: 'participant-left', id: ada.id });
    await expect(bob.next('moderator-changed')).resolves.toEqual({ type: 'moderator-changed', moderator: bob.id });
    expect(server.server.rooms.roomOf(ada.id)).toBeUndefined();
  });

  it('forgets a meeting once its last member is gone; the name then starts fresh', async () => {
    const room = freshRoom();
    expect(server.server.rooms.roomCount).toBe(0);
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join(room, 'Ada');
    await bob.join(room, 'Bob');
    expect(server.server.rooms.roomCount).toBe(1);

    ada.send({ type: 'leave' });
    await bob.next('participant-left');
    await bob.close();

    await vi.waitFor(() => expect(server.server.rooms.roomCount).toBe(0), { timeout: 2000 });
    const cyd = await browser(server, 'cyd');
    await expect(cyd.join(room, 'Cyd')).resolves.toMatchObject({ participants: [], moderator: cyd.id });
  });

  it('slows down a flood of messages with rate-limited, without disturbing others', async () => {
    const room = freshRoom();
    const flooder = await browser(server, 'flooder');
    const bob = await browser(server, 'bob');
    await flooder.join(room, 'Flooder');
    await bob.join(room, 'Bob');

    for (let i = 0; i < 500; i++) flooder.send({ type: 'ping' });

    await expect(flooder.next('error')).resolves.toMatchObject({ code: 'rate-limited' });
    flooder.send({ type: 'ping' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pongs = flooder.received.filter((m) => m.type === 'pong').length;
    expect(pongs).toBeGreaterThan(300);
    expect(pongs).toBeLessThan(500);

    // Bob's own budget is untouched.
    bob.send({ type: 'ping' });
    await expect(bob.next('pong')).resolves.toEqual({ type: 'pong' });
  });

  it('cuts off a client that fires a thousand messages at once, with 4008', async () => {
    const flooder = await browser(server, 'flooder');

    for (let i = 0; i < 1000; i++) flooder.send({ type: 'ping' });

    await expect(flooder.closed).resolves.toMatchObject({ code: 4008 });
  });

  // A refilled token lets a message through every 10 ms; that must not forgive the flood.
  it('cuts off a client that keeps flooding at 5000 messages a second', async () => {
    const flooder = await browser(server, 'flooder');
    const started = Date.now();

    while (flooder.isOpen && Date.now() - started < 2500) {
      for (let i = 0; i < 50; i++) flooder.send({ type: 'ping' });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    expect(flooder.isOpen).toBe(false);
    await expect(flooder.closed).resolves.toMatchObject({ code: 4008 });
  });
});

describe('limits an operator sets', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await server?.close();
    server = undefined;
  });

  it('turns away a third person from a meeting of capacity 2, and lets them in once a seat is free', async () => {
    server = await startTestServer({ roomCapacity: 2, audioOnlyCapacity: 2 });
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    const cyd = await browser(server, 'cyd');
    await ada.join('pair', 'Ada');
    await bob.join('pair', 'Bob');

    cyd.send({ type: 'join', room: 'pair', name: 'Cyd' });
    await expect(cyd.next('error')).resolves.toMatchObject({ code: 'room-full' });
    cyd.send({ type: 'join', room: 'pair', name: 'Cyd', audioOnly: true });
    await expect(cyd.next('error')).resolves.toMatchObject({ code: 'room-full' });
    expect(await ada.unreadAfter(100)).toEqual([{ type: 'participant-joined', participant: { id: bob.id, name: 'Bob' } }]);

    bob.send({ type: 'leave' });
    await ada.next('participant-left');
    await expect(cyd.join('pair', 'Cyd')).resolves.toMatchObject({ participants: [{ id: ada.id, name: 'Ada' }] });
  });

  it('lets a newcomer into a meeting full for video on a listener seat, audio-only, until those are taken too', async () => {
    server = await startTestServer({ roomCapacity: 2, audioOnlyCapacity: 3 });
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    const cyd = await browser(server, 'cyd');
    const dan = await browser(server, 'dan');
    await ada.join('pair', 'Ada');
    await bob.join('pair', 'Bob');
    await ada.next('participant-joined');

    cyd.send({ type: 'join', room: 'pair', name: 'Cyd' });
    await expect(cyd.next('error')).resolves.toMatchObject({ code: 'room-full-video', message: expect.stringContaining('audio-only') });
    cyd.send({ type: 'join', room: 'pair', name: 'Cyd', audioOnly: true });
    await expect(cyd.next('joined')).resolves.toMatchObject({ participants: [{ id: ada.id }, { id: bob.id }] });
    await expect(ada.next('participant-joined')).resolves.toMatchObject({ participant: { id: cyd.id, name: 'Cyd', audioOnly: true } });

    dan.send({ type: 'join', room: 'pair', name: 'Dan', audioOnly: true });
    await expect(dan.next('error')).resolves.toMatchObject({ code: 'room-full' });
  });

  // Issue 11, attack 8: relay credentials only where a call needs them. Before, the lone first
  // member of any new meeting name got some, so anyone could collect credentials and fill the relay.
  it('hands relay credentials to a call, not to someone alone in a new meeting: the first member gets them just before the second arrives', async () => {
    server = await startTestServer({ iceServersFor: (id) => [{ urls: ['turn:127.0.0.1:10000'], username: `user-${id}`, credential: 'secret' }] });
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');

    expect((await ada.join('ice', 'Ada')).iceServers).toEqual([]);
    const bobJoined = await bob.join('ice', 'Bob');

    expect(bobJoined.iceServers).toEqual([{ urls: ['turn:127.0.0.1:10000'], username: `user-${bob.id}`, credential: 'secret' }]);
    await ada.next('participant-joined');
    const [iceServers, joined] = ada.received.filter((m) => m.type === 'ice-servers' || m.type === 'participant-joined');
    expect(iceServers).toEqual({ type: 'ice-servers', iceServers: [{ urls: ['turn:127.0.0.1:10000'], username: `user-${ada.id}`, credential: 'secret' }] });
    expect(joined).toMatchObject({ type: 'participant-joined', participant: { id: bob.id } });
  });

  it('mints fresh relay credentials for a member who asks, a few for someone alone (the connection check), none for anyone outside a meeting', async () => {
    let minted = 0;
    server = await startTestServer({ iceServersFor: (id) => [{ urls: ['turn:127.0.0.1:10000'], username: `${++minted}:${id}`, credential: 'secret' }] });
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    const eve = await browser(server, 'eve');

    eve.send({ type: 'ice-servers' });
    await expect(eve.next('error')).resolves.toMatchObject({ code: 'not-in-room' });
    expect(minted).toBe(0);

    // Alone in a meeting (as the connection check page is): a few, then rate-limited.
    await eve.join('check-eve', 'Eve');
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      eve.send({ type: 'ice-servers' });
      codes.push((await eve.next((m) => m.type === 'ice-servers' || m.type === 'error')).type);
    }
    expect(codes).toEqual(['ice-servers', 'ice-servers', 'ice-servers', 'ice-servers', 'error', 'error']);

    await ada.join('ice', 'Ada');
    await bob.join('ice', 'Bob');
    await ada.next('ice-servers');
    const before = minted;
    ada.send({ type: 'ice-servers' });
    await expect(ada.next('ice-servers')).resolves.toEqual({ type: 'ice-servers', iceServers: [{ urls: ['turn:127.0.0.1:10000'], username: `${before + 1}:${ada.id}`, credential: 'secret' }] });
  });

  it('closes the socket of a message over maxMessageBytes and keeps serving the others', async () => {
    server = await startTestServer({ maxMessageBytes: 4096 });
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join('big', 'Ada');
    await bob.join('big', 'Bob');

    // Just under the limit passes.
    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: 'x'.repeat(3900) } });
    await expect(bob.next('signal')).resolves.toMatchObject({ from: ada.id });

    ada.send({ type: 'signal', to: bob.id, data: { type: 'offer', sdp: 'x'.repeat(5000) } });

    const { code } = await ada.closed;
    expect(code).not.toBe(1000);
    await expect(bob.next('participant-left')).resolves.toEqual({ type: 'participant-left', id: ada.id });
    expect(bob.received.filter((m) => m.type === 'signal')).toHaveLength(1);
    bob.send({ type: 'ping' });
    await expect(bob.next('pong')).resolves.toEqual({ type: 'pong' });
  });

  it('shuts down gracefully: every client gets 1001 and close() resolves', async () => {
    server = await startTestServer();
    const ada = await browser(server, 'ada');
    const bob = await browser(server, 'bob');
    await ada.join('last-call', 'Ada');
    await bob.join('last-call', 'Bob');

    await server.close();

    await expect(ada.closed).resolves.toMatchObject({ code: 1001 });
    await expect(bob.closed).resolves.toMatchObject({ code: 1001 });
    // Nobody was told the other left: their call goes on peer to peer.
    expect(ada.received.some((m) => m.type === 'participant-left')).toBe(false);
    await expect(TestClient.connect(server.wsUrl, 'late')).rejects.toThrow(/cannot connect/);
  });

  it('shuts down at once when nobody is connected', async () => {
    server = await startTestServer();
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('serving the app over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it.each(['/', '/some-meeting', '/index.html'])('GET %s serves index.html with a CSP', async (path) => {
    const res = await fetch(server.url + path);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(TEST_INDEX_HTML);
  });

  it('serves a hashed asset as JavaScript, cached as immutable', async () => {
    const res = await fetch(`${server.url}/assets/app-ABCDEF12.js`, { headers: { 'accept-encoding': 'identity' } });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(await res.text()).toBe(TEST_APP_JS);
  });

  it.each(['br', 'gzip'])('sends the %s copy to a browser that accepts it', async (encoding) => {
    const res = await fetch(`${server.url}/assets/app-ABCDEF12.js`, { headers: { 'accept-encoding': encoding } });

    expect(res.headers.get('content-encoding')).toBe(encoding);
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    // fetch decodes the body, so this checks the compressed copy is the same file.
    expect(await res.text()).toBe(TEST_APP_JS);
  });

  it('answers /healthz with ok', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it.each(['/nope.txt', '/assets/app-00000000.js', '/some/meeting'])('GET %s is 404', async (path) => {
    const res = await fetch(server.url + path);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  it('refuses POST with 405', async () => {
    const res = await fetch(`${server.url}/some-meeting`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await res.arrayBuffer();
  });
});
