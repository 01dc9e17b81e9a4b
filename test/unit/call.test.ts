// The call engine without a browser: a Call against a fake server connection, a fake mesh and a
// hand-turned clock. Each story is what a participant's browser does when the server or the other
// participants do something.

import { describe, expect, it, vi } from 'vitest';
import { CloseCode, type IceServer, type ServerMessage } from '../../signal/protocol.js';
import { Call, type CallOptions } from '../../client/call/call.js';
import { MIN_REFRESH_MS } from '../../client/call/connection/credential-refresh.js';
import { fakeParts } from './fakes/call-parts.js';

const OPTIONS: CallOptions = { url: 'ws://treff.test/ws', room: 'team weekly', name: 'Anna', stream: null, relayOnly: false };
const UNLOCKED = { locked: false, lobby: false, hasPassword: false };

function joined(overrides: Partial<Extract<ServerMessage, { type: 'joined' }>> = {}): Extract<ServerMessage, { type: 'joined' }> {
  return { type: 'joined', room: OPTIONS.room, you: 'anna', participants: [], moderator: 'anna', iceServers: [], settings: UNLOCKED, ...overrides };
}

/** Turns the clock until the call opens a new connection to the server; how long that took (ms, to 5 ms). */
function untilReconnect(fake: ReturnType<typeof fakeParts>): number {
  const before = fake.servers.length;
  fake.clock.advance(0);
  for (let waited = 0; waited <= 10_000; waited += 5) {
    if (fake.servers.length > before) return waited;
    fake.clock.advance(5);
  }
  throw new Error('no reconnect within 10 s');
}

/** Anna in a meeting with Ben (Ben was there first, so Anna offers). */
function annaWithBen(options: Partial<CallOptions> = {}, join: Partial<Extract<ServerMessage, { type: 'joined' }>> = {}) {
  const fake = fakeParts();
  const call = new Call({ ...OPTIONS, ...options }, fake.parts);
  call.start();
  fake.server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-1', resumed: false });
  fake.server().deliver(joined({ participants: [{ id: 'ben', name: 'Ben' }], moderator: 'ben', ...join }));
  return { call, fake, ...fake };
}

describe('Call: joining a meeting', () => {
  it('joins after the welcome, and offers to everyone already there', () => {
    const { call, server, mesh } = annaWithBen();
    expect(server().sentOf('join')).toEqual([{ type: 'join', room: 'team weekly', name: 'Anna' }]);
    expect(call.state.phase).toBe('joined');
    expect(call.state.participants.map((p) => p.name)).toEqual(['Ben']);
    expect(mesh().connected.get('ben')).toEqual({ initiator: true });
  });

  it('answers a newcomer instead of offering, and tells them of its microphone and camera once connected', () => {
    const { call, server, mesh } = annaWithBen();
    server().deliver({ type: 'participant-joined', participant: { id: 'cleo', name: 'Cleo' } });
    expect(mesh().connected.get('cleo')).toEqual({ initiator: false });
    mesh().peerState('cleo', 'connected');
    expect(call.state.participants.find((p) => p.id === 'cleo')?.connection).toBe('connected');
    expect(mesh().toPeers).toContainEqual({ to: 'cleo', message: { type: 'media', audio: false, video: false } });
  });

  it('connects to the address of its meeting, which the load balancer routes by', () => {
    const sockets: Array<{ url: string; sent: string[] }> = [];
    class RecordingSocket {
      static readonly OPEN = 1;
      readyState = 0;
      readonly sent: string[] = [];
      onopen: (() => void) | null = null;
      constructor(readonly url: string) {
        sockets.push(this);
      }
      send(data: string) {
        this.sent.push(data);
      }
      close() {}
    }
    vi.stubGlobal('WebSocket', RecordingSocket);
    try {
      const { signalling: _, ...rest } = fakeParts().parts;
      new Call({ ...OPTIONS, room: 'team weekly' }, rest).start();
      expect(sockets.map((socket) => socket.url)).toEqual(['ws://treff.test/ws?room=team%20weekly']);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('ends with the reason when the server refuses before the meeting is reached', () => {
    const fake = fakeParts();
    const call = new Call(OPTIONS, fake.parts);
    call.start();
    fake.server().drop(CloseCode.VersionMismatch);
    expect(call.state).toMatchObject({ phase: 'failed', error: 'version-mismatch' });
  });
});

describe('Call: when the server goes away', () => {
  it('takes back its seat with the resume token, keeping every peer connection', () => {
    const { fake, call, server, servers, meshes } = annaWithBen();
    server().drop(1006);
    expect(call.state.serverConnected).toBe(false);
    expect(call.state.phase).toBe('joined');
    untilReconnect(fake);
    expect(servers).toHaveLength(2);
    expect(server().resumeToken).toBe('token-1');
    server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-2', resumed: true });
    expect(call.state.serverConnected).toBe(true);
    expect(server().sentOf('join')).toEqual([]);
    expect(meshes).toHaveLength(1);
    expect(meshes[0]!.destroyed).toBe(false);
  });

  it('backs off, doubling to at most 5 s, while the server stays away', () => {
    const { fake, server, servers } = annaWithBen();
    const waits: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      server().drop(1006);
      waits.push(untilReconnect(fake));
    }
    expect(servers).toHaveLength(7);
    // random() is 0.5 here: three quarters of 0.5, 1, 2, 4 s, then of the 5 s cap.
    expect(waits).toEqual([375, 750, 1500, 3000, 3750, 3750]);
  });

  it('on a restarted server, joins again with its old id and its peers, and keeps their connections', () => {
    const { fake, call, server, servers, meshes } = annaWithBen();
    server().drop(CloseCode.GoingAway);
    untilReconnect(fake);
    expect(servers).toHaveLength(2);
    server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-2', resumed: false });
    expect(server().sentOf('join')).toEqual([{ type: 'join', room: 'team weekly', name: 'Anna', rejoin: { participants: ['ben'] } }]);
    // The server now knows Cleo too, who came while it was away: Anna offers to her; Ben stays as he is.
    server().deliver(joined({ participants: [{ id: 'ben', name: 'Ben' }, { id: 'cleo', name: 'Cleo' }], moderator: 'ben' }));
    expect(meshes).toHaveLength(1);
    expect(meshes[0]!.removed).toEqual([]);
    expect([...meshes[0]!.connected.keys()]).toEqual(['ben', 'cleo']);
    expect(call.state.participants.map((p) => p.id)).toEqual(['ben', 'cleo']);
    expect(call.state.serverConnected).toBe(true);
  });

  it('as moderator of a restarted server, brings back the password, the lock and the lobby', () => {
    const { fake, call, server } = annaWithBen({ password: 'correct horse' }, { moderator: 'anna', settings: { locked: true, lobby: true, hasPassword: true } });
    expect(call.state.settings.locked).toBe(true);
    server().drop(CloseCode.GoingAway);
    untilReconnect(fake);
    server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-2', resumed: false });
    server().deliver(joined({ participants: [{ id: 'ben', name: 'Ben' }], moderator: 'anna', settings: UNLOCKED }));
    expect(server().sent.filter((m) => m.type !== 'join')).toEqual([
      { type: 'set-password', password: 'correct horse' },
      { type: 'lock', locked: true },
      { type: 'lobby', enabled: true },
    ]);
  });

  it('leaves the rules alone when someone else moderates the restarted server', () => {
    const { fake, server } = annaWithBen({}, { moderator: 'ben', settings: { locked: true, lobby: false, hasPassword: false } });
    server().drop(CloseCode.GoingAway);
    untilReconnect(fake);
    server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-2', resumed: false });
    server().deliver(joined({ participants: [{ id: 'ben', name: 'Ben' }], moderator: 'ben', settings: UNLOCKED }));
    expect(server().sentOf('lock')).toEqual([]);
  });

  it('away too long (a new id), drops the old call and joins afresh', () => {
    const { fake, call, server, meshes } = annaWithBen();
    server().drop(1006);
    untilReconnect(fake);
    server().deliver({ type: 'welcome', you: 'anna-2', resumeToken: 'token-2', resumed: false });
    expect(meshes[0]!.destroyed).toBe(true);
    expect(call.state).toMatchObject({ phase: 'joining', you: 'anna-2', participants: [] });
    expect(server().sentOf('join')).toEqual([{ type: 'join', room: 'team weekly', name: 'Anna' }]);
    server().deliver(joined({ you: 'anna-2', participants: [{ id: 'ben', name: 'Ben' }] }));
    expect(meshes).toHaveLength(2);
    expect(call.state.phase).toBe('joined');
  });

  it('moved to another node (4010), reconnects at once and resumes, keeping the call', () => {
    const { fake, call, server, servers, meshes } = annaWithBen();
    // Several failed attempts first: a move does not wait out their backoff.
    for (let attempt = 0; attempt < 4; attempt++) {
      server().drop(1006);
      untilReconnect(fake);
    }
    server().drop(CloseCode.Moved);
    expect(untilReconnect(fake)).toBe(0);
    expect(servers).toHaveLength(6);
    expect(server().resumeToken).toBe('token-1');
    server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-2', resumed: true });
    expect(call.state.serverConnected).toBe(true);
    expect(meshes).toHaveLength(1);
    expect(meshes[0]!.destroyed).toBe(false);
  });

  it('does not come back after the server said it is flooded', () => {
    const { server, servers, clock } = annaWithBen();
    server().drop(CloseCode.RateLimited);
    clock.advance(60_000);
    expect(servers).toHaveLength(1);
  });
});

describe('Call: the moderator role across a reload', () => {
  it('keeps the moderator key for the tab and shows it on the next join', () => {
    const first = annaWithBen({}, { moderator: 'anna', moderatorKey: 'key-of-anna' });
    first.call.leave();
    const again = new Call(OPTIONS, first.parts);
    again.start();
    first.server().deliver({ type: 'welcome', you: 'anna-2', resumeToken: 'token-3', resumed: false });
    expect(first.server().sentOf('join')).toEqual([{ type: 'join', room: 'team weekly', name: 'Anna', moderatorKey: 'key-of-anna' }]);
  });

  it('keeps a key handed over later, and says so', () => {
    const { call, server, tabStorage } = annaWithBen();
    server().deliver({ type: 'moderator-changed', moderator: 'anna' });
    server().deliver({ type: 'moderator-key', key: 'handed-over' });
    expect(tabStorage.getItem('treff.moderatorKey.team weekly')).toBe('handed-over');
    expect(call.state.notice).toBe('you-are-moderator');
  });
});

describe('Call: forgetting a participant', () => {
  it('closes the connection and drops them from the meeting when they leave', () => {
    const { call, server, mesh } = annaWithBen();
    mesh().peerState('ben', 'connected');
    server().deliver({ type: 'participant-left', id: 'ben' });
    expect(mesh().removed).toEqual(['ben']);
    expect(call.state.participants).toEqual([]);
    // What Ben said before leaving no longer lands anywhere.
    mesh().peerMessage('ben', { type: 'chat', text: 'still here?' });
    expect(call.state.chat).toEqual([]);
  });

  it('starts over with someone back whose connection died meanwhile: they offer, we answer', () => {
    const { call, server, mesh } = annaWithBen();
    mesh().peerState('ben', 'failed');
    server().deliver({ type: 'participant-joined', participant: { id: 'ben', name: 'Ben' } });
    expect(mesh().removed).toEqual(['ben']);
    expect(mesh().connected.get('ben')).toEqual({ initiator: false });
    expect(call.state.participants.map((p) => [p.id, p.connection])).toEqual([['ben', 'connecting']]);
  });

  it('tells the server which peers are lost, so a crashed browser is let go at once', () => {
    const { server, mesh, clock } = annaWithBen();
    mesh().peerState('ben', 'failed');
    clock.advance(3000);
    expect(server().sentOf('peer-lost')).toContainEqual({ type: 'peer-lost', id: 'ben' });
  });
});

describe('Call: relay credentials', () => {
  const relay = (expiresAt: number, name = 'u'): IceServer[] => [{ urls: ['turn:relay.test:3478'], username: `${Math.floor(expiresAt / 1000)}:${name}`, credential: 'c' }];

  it('asks for fresh ones when three quarters of their life are gone, and uses what comes', () => {
    const fake = fakeParts();
    const call = new Call(OPTIONS, fake.parts);
    call.start();
    fake.server().deliver({ type: 'welcome', you: 'anna', resumeToken: 'token-1', resumed: false });
    fake.server().deliver(joined({ iceServers: relay(fake.clock.now() + 400_000) }));
    expect(call.state.relayAvailable).toBe(true);
    fake.clock.advance(299_000);
    expect(fake.server().sentOf('ice-servers')).toEqual([]);
    fake.clock.advance(1_000);
    expect(fake.server().sentOf('ice-servers')).toHaveLength(1);
    const fresh = relay(fake.clock.now() + 400_000, 'fresh');
    fake.server().deliver({ type: 'ice-servers', iceServers: fresh });
    expect(fake.mesh().iceServers).toEqual(fresh);
    // The next renewal follows the fresh credentials, not a retry of the old ones.
    fake.clock.advance(MIN_REFRESH_MS);
    expect(fake.server().sentOf('ice-servers')).toHaveLength(1);
    fake.clock.advance(300_000 - MIN_REFRESH_MS);
    expect(fake.server().sentOf('ice-servers')).toHaveLength(2);
  });

  it('while the server is away, asks again once it is back', () => {
    const { server, servers, clock } = annaWithBen({}, { iceServers: relay(1_700_000_000_000 + 40_000) });
    server().drop(CloseCode.RateLimited);
    clock.advance(30_000);
    expect(servers[0]!.sentOf('ice-servers')).toEqual([]);
  });
});

describe('Call: the UI asks, the call speaks the protocol', () => {
  it('moderator actions go to the server as protocol messages; a let-in knocker leaves the lobby', () => {
    const { call, server } = annaWithBen({}, { moderator: 'anna' });
    server().deliver({ type: 'knocking', participant: { id: 'dora', name: 'Dora' } });
    expect(call.state.lobby.map((p) => p.id)).toEqual(['dora']);
    call.moderation.letIn('dora');
    call.moderation.lock(true);
    call.moderation.muteAll();
    call.moderation.setPassword('a long passphrase');
    expect(server().sent.slice(-4)).toEqual([
      { type: 'admit', id: 'dora' },
      { type: 'lock', locked: true },
      { type: 'mute-all' },
      { type: 'set-password', password: 'a long passphrase' },
    ]);
    expect(call.state.lobby).toEqual([]);
    expect(call.state.password).toBe('a long passphrase');
  });

  it('sends chat to everyone and shows it, naming the sender of what arrives as the server introduced them', () => {
    const { call, mesh } = annaWithBen();
    expect(call.sendChat('  hello  ')).toBe(true);
    expect(mesh().toPeers).toContainEqual({ to: '*', message: { type: 'chat', text: 'hello' } });
    mesh().peerMessage('ben', { type: 'chat', text: 'hi Anna' });
    expect(call.state.chat.map((m) => [m.name, m.text])).toEqual([
      ['Anna', 'hello'],
      ['Ben', 'hi Anna'],
    ]);
  });

  it('leaving says so to the server and closes every connection', () => {
    const { call, server, mesh } = annaWithBen();
    call.leave();
    expect(server().sentOf('leave')).toHaveLength(1);
    expect(server().closedByCall).toBe(true);
    expect(mesh().destroyed).toBe(true);
    expect(call.state.phase).toBe('left');
  });
});
