// The session core without sockets: connections are numbers, time is a number, hashing is an
// effect whose result the test feeds back when it likes (so races are told exactly).

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../signal/config.js';
import { silentLogger } from '../../signal/log.js';
import { Counters } from '../../signal/metrics.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../../signal/protocol.js';
import { Rooms } from '../../signal/rooms.js';
import { Seats } from '../../signal/seats.js';
import { SLOW_RECEIVER_BYTES, Session, type ConnectionRef, type Effect } from '../../signal/session.js';
import type { HashJob } from '../../signal/session-door.js';
import { addressBlock } from '../../signal/address-block.js';

const limits = loadConfig({ TREFF_TURN: 'off' }, { staticDir: '' }).limits;

/** A session with its own fake clock, sockets and relay, and what each connection was sent. */
function world(options: { iceServers?: boolean } = {}) {
  let now = 1_000_000;
  let tokens = 0;
  const backlog = new Map<ConnectionRef, number>();
  const rooms = new Rooms({ capacity: 8, newKey: () => `key-${++tokens}`.padEnd(24, 'k') });
  const counters = new Counters();
  const session = new Session({
    rooms,
    seats: new Seats(20_000),
    counters,
    logger: silentLogger,
    limits,
    iceServersFor: options.iceServers ? (id) => [{ urls: ['turn:relay.example:10000'], username: `u-${id}`, credential: 'c' }] : () => [],
    backlog: (ref) => backlog.get(ref) ?? 0,
    newToken: () => `token-number-${++tokens}`.padEnd(24, 'x'),
  });
  const inbox = new Map<ConnectionRef, ServerMessage[]>();
  const closed = new Map<ConnectionRef, number>();
  const hashes: HashJob[] = [];
  let nextRef = 1;
  const apply = (effects: Effect[]) => {
    for (const effect of effects) {
      if (effect.type === 'send') inbox.get(effect.to)?.push(effect.message);
      else if (effect.type === 'close') closed.set(effect.to, effect.code);
      else hashes.push(effect.job);
    }
  };
  const open = (address = '192.0.2.1') => {
    const ref = nextRef++;
    inbox.set(ref, []);
    apply(session.opened(ref, { address, host: 'meet.example' }, now));
    return ref;
  };
  const say = (ref: ConnectionRef, message: object) => apply(session.message(ref, JSON.stringify(message), now));
  const received = (ref: ConnectionRef) => inbox.get(ref)!.splice(0);
  const greet = (address?: string, resumeToken?: string) => {
    const ref = open(address);
    say(ref, { type: 'hello', version: PROTOCOL_VERSION, ...(resumeToken ? { resumeToken } : {}) });
    const welcome = received(ref).find((m) => m.type === 'welcome') as Extract<ServerMessage, { type: 'welcome' }>;
    return { ref, id: welcome.you, token: welcome.resumeToken };
  };
  return {
    session,
    rooms,
    counters,
    hashes,
    closed,
    backlog,
    open,
    say,
    received,
    greet,
    drop: (ref: ConnectionRef, cause: 'client' | 'backpressure' = 'client') => apply(session.closed(ref, cause, now)),
    finish: (job: HashJob, outcome: Parameters<Session['hashFinished']>[1]) => apply(session.hashFinished(job, outcome, now)),
    later: (ms: number) => {
      now += ms;
      apply(session.tick(now));
    },
  };
}

/** Ada moderates `room` with a password: her hash request is answered at once. */
function withPassword(w: ReturnType<typeof world>, room: string) {
  const ada = w.greet('192.0.2.1');
  w.say(ada.ref, { type: 'join', room, name: 'Ada' });
  w.say(ada.ref, { type: 'set-password', password: 'correct horse' });
  w.finish(w.hashes.shift()!, { hash: 'scrypt$hash-of-correct-horse' });
  w.received(ada.ref);
  return ada;
}

describe('the session core', () => {
  it('greets, lets two people meet and relays between their connections', () => {
    const w = world();
    const ada = w.greet();
    const bob = w.greet();
    w.say(ada.ref, { type: 'join', room: 'team', name: 'Ada' });
    w.say(bob.ref, { type: 'join', room: 'team', name: 'Bob' });
    w.say(bob.ref, { type: 'signal', to: ada.id, data: { type: 'restart-ice' } });
    expect(w.received(ada.ref).map((m) => m.type)).toEqual(['joined', 'participant-joined', 'signal']);
  });

  it('writes a password result only to the connection that asked: after it dropped, the new socket with the same id hears nothing', () => {
    const w = world();
    withPassword(w, 'race');
    const eve = w.greet('203.0.113.6');
    w.say(eve.ref, { type: 'join', room: 'race', name: 'Eve', password: 'wrong guess' });
    const job = w.hashes.shift()!;
    w.drop(eve.ref);
    const again = w.greet('203.0.113.6', eve.token);
    expect(again.id).toBe(eve.id);

    w.finish(job, { matches: false });

    expect(w.received(again.ref)).toEqual([]);
    expect(w.closed.size).toBe(0);
  });

  it('counts a guess before hashing it and checks one password at a time per connection', () => {
    const w = world();
    withPassword(w, 'burst');
    const eve = w.greet('203.0.113.7');
    for (let i = 0; i < 5; i++) w.say(eve.ref, { type: 'join', room: 'burst', name: 'Eve', password: `guess ${i}` });
    expect(w.hashes).toHaveLength(1);
    expect(w.received(eve.ref).map((m) => m.type === 'error' && m.code)).toEqual(Array(4).fill('too-many-attempts'));
  });

  it('forgives a right password: it does not use up the guesses of others at the same address', () => {
    const w = world();
    withPassword(w, 'office');
    for (let i = 0; i < 12; i++) {
      const colleague = w.greet('198.51.100.1');
      w.say(colleague.ref, { type: 'join', room: 'office', name: `Colleague ${i}`, password: 'correct horse' });
      if (i < 7) {
        w.finish(w.hashes.shift()!, { matches: true });
        expect(w.received(colleague.ref).map((m) => m.type)).toContain('joined');
      } else {
        // The meeting is full at 8: a full meeting is no guessing.
        w.finish(w.hashes.shift()!, { matches: true });
        expect(w.received(colleague.ref)).toMatchObject([{ type: 'error', code: 'room-full' }]);
      }
    }
  });

  it('lets the last set-password win: a hash that lands after the password was removed is dropped', () => {
    const w = world();
    const ada = w.greet();
    w.say(ada.ref, { type: 'join', room: 'mind-changed', name: 'Ada' });
    w.say(ada.ref, { type: 'set-password', password: 'first password' });
    w.say(ada.ref, { type: 'set-password', password: null });
    w.finish(w.hashes.shift()!, { hash: 'scrypt$late' });
    expect(w.rooms.passwordHashFor('mind-changed', { id: 'someone' }, 0)).toBeNull();

    w.say(ada.ref, { type: 'set-password', password: 'second password' });
    w.say(ada.ref, { type: 'set-password', password: 'third password' });
    expect(w.hashes).toHaveLength(1); // one hash per connection; the third waits for it
    w.finish(w.hashes.shift()!, { hash: 'scrypt$second' });
    expect(w.hashes.map((job) => job.password)).toEqual(['third password']);
    w.finish(w.hashes.shift()!, { hash: 'scrypt$third' });
    expect(w.rooms.passwordHashFor('mind-changed', { id: 'someone' }, 0)).toBe('scrypt$third');
  });

  it('does not let a peer-lost report release the seat of a member the server dropped for backpressure', () => {
    const w = world();
    const ada = w.greet();
    const bob = w.greet();
    w.say(ada.ref, { type: 'join', room: 'team', name: 'Ada' });
    w.say(bob.ref, { type: 'join', room: 'team', name: 'Bob' });
    w.drop(bob.ref, 'backpressure');
    w.say(ada.ref, { type: 'peer-lost', id: bob.id });
    expect(w.rooms.roomOf(bob.id)).toBe('team');

    const cyd = w.greet();
    w.say(cyd.ref, { type: 'join', room: 'team', name: 'Cyd' });
    w.drop(cyd.ref, 'client');
    w.say(ada.ref, { type: 'peer-lost', id: cyd.id });
    expect(w.rooms.roomOf(cyd.id)).toBeUndefined();
  });

  it('refuses a signal to a receiver who is not keeping up, to its sender', () => {
    const w = world();
    const ada = w.greet();
    const bob = w.greet();
    w.say(ada.ref, { type: 'join', room: 'team', name: 'Ada' });
    w.say(bob.ref, { type: 'join', room: 'team', name: 'Bob' });
    w.received(bob.ref);
    w.backlog.set(bob.ref, SLOW_RECEIVER_BYTES + 1);
    w.say(ada.ref, { type: 'signal', to: bob.id, data: { type: 'restart-ice' } });
    expect(w.received(bob.ref)).toEqual([]);
    expect(w.received(ada.ref).at(-1)).toMatchObject({ type: 'error', code: 'rate-limited' });
  });

  it('gives relay credentials only in a call: none alone, the first member hers just before the second arrives', () => {
    const w = world({ iceServers: true });
    const ada = w.greet();
    const bob = w.greet();
    w.say(ada.ref, { type: 'join', room: 'team', name: 'Ada' });
    expect(w.received(ada.ref)).toMatchObject([{ type: 'joined', iceServers: [] }]);
    w.say(bob.ref, { type: 'join', room: 'team', name: 'Bob' });
    expect(w.received(bob.ref)).toMatchObject([{ type: 'joined', iceServers: [{ username: `u-${bob.id}` }] }]);
    expect(w.received(ada.ref).map((m) => m.type)).toEqual(['ice-servers', 'participant-joined']);
  });

  it('keeps a removed participant out of that meeting for ten minutes, then lets them try again', () => {
    const w = world();
    const ada = w.greet('192.0.2.1');
    const eve = w.greet('203.0.113.9');
    w.say(ada.ref, { type: 'join', room: 'tidy', name: 'Ada' });
    w.say(eve.ref, { type: 'join', room: 'tidy', name: 'Eve' });
    w.say(ada.ref, { type: 'remove', id: eve.id });
    w.received(eve.ref);
    w.say(eve.ref, { type: 'join', room: 'tidy', name: 'Eve' });
    expect(w.received(eve.ref)).toMatchObject([{ type: 'error', code: 'removed-recently' }]);
    w.later(10 * 60_000 + 1);
    w.say(eve.ref, { type: 'join', room: 'tidy', name: 'Eve' });
    expect(w.received(eve.ref)).toMatchObject([{ type: 'joined' }]);
  });

  it('lets a removed participant who joined another meeting and then dropped leave it when the seat grace ends (the fuzz found them kept for ever)', () => {
    const w = world();
    const ada = w.greet('192.0.2.1');
    const eve = w.greet('203.0.113.9');
    w.say(ada.ref, { type: 'join', room: 'tidy', name: 'Ada' });
    w.say(eve.ref, { type: 'join', room: 'tidy', name: 'Eve' });
    w.say(ada.ref, { type: 'remove', id: eve.id });
    w.say(eve.ref, { type: 'join', room: 'elsewhere', name: 'Eve' });
    expect(w.rooms.roomOf(eve.id)).toBe('elsewhere');
    w.drop(eve.ref);
    w.later(20_001);
    expect(w.rooms.roomOf(eve.id)).toBeUndefined();
    expect(w.rooms.roomCount).toBe(1);
  });

  it('closes only the connection whose message failed unexpectedly, with 1011, and counts it', () => {
    const w = world();
    const ada = w.greet();
    w.say(ada.ref, { type: 'join', room: 'team', name: 'Ada' });
    w.rooms.muteAll = () => {
      throw new Error('unforeseen');
    };
    w.say(ada.ref, { type: 'mute-all' });
    expect(w.closed.get(ada.ref)).toBe(1011);
    expect(w.counters.get('handlerFailures', 'message')).toBe(1);
  });

  it('counts an IPv6 /64 as one address, and IPv4 addresses each on their own', () => {
    expect(addressBlock('2001:db8:1:2::1')).toBe(addressBlock('2001:0db8:0001:0002:ffff:0:0:1'));
    expect(addressBlock('2001:db8:1:2::1')).not.toBe(addressBlock('2001:db8:1:3::1'));
    expect(addressBlock('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBlock('203.0.113.1')).toBe('203.0.113.1');
  });
});
