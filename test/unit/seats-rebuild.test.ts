// Seats and meetings rebuilt after a server restart, as pure logic: the clock is passed in.

import { describe, expect, it } from 'vitest';
import { adoptable, idForToken, newResumeToken } from '../../signal/identity.js';
import { parseClientMessage } from '../../signal/protocol.js';
import { REBUILD_WINDOW_MS, Rooms } from '../../signal/rooms.js';
import { Seats } from '../../signal/seats.js';

// Without a store record (see restart-safety.test.ts for meetings that have one).
let issued = 0;
const rooms = () => new Rooms({ capacity: 8, newKey: () => `key-${++issued}` });
const others = (outbox: ReturnType<Rooms['join']>, self: string) => outbox.filter((o) => o.to !== self);

describe('a participant whose connection dropped', () => {
  it('keeps the seat through the grace period: resuming sends nothing to anyone', () => {
    const seats = new Seats(20_000);
    const meeting = rooms();
    meeting.join('ada', 'm', 'Ada', []);
    meeting.join('bob', 'm', 'Bob', []);
    seats.issue('bob', 'token-b');
    seats.hold('bob', 1_000);
    expect(seats.expired(20_000)).toEqual([]);
    expect(seats.resume('token-b', 20_500)).toBe('bob');
    // Nothing was asked of the room: nobody was told anything.
    expect(meeting.roomOf('bob')).toBe('m');
  });

  it('loses the seat when the grace period ends: then the others learn that it left', () => {
    const seats = new Seats(20_000);
    const meeting = rooms();
    meeting.join('ada', 'm', 'Ada', []);
    meeting.join('bob', 'm', 'Bob', []);
    seats.issue('bob', 'token-b');
    seats.hold('bob', 0);
    const gone = seats.expired(20_001);
    expect(gone).toEqual(['bob']);
    expect(gone.flatMap((id) => meeting.leave(id, 20_001))).toEqual([{ to: 'ada', message: { type: 'participant-left', id: 'bob' } }]);
    expect(seats.size).toBe(0);
  });
});

describe('self-certifying ids', () => {
  it('derives the same id from the same token, and different ids from different tokens', () => {
    const token = newResumeToken();
    expect(token.length).toBeGreaterThanOrEqual(22);
    expect(adoptable(token)).toBe(true);
    expect(idForToken(token)).toBe(idForToken(token));
    expect(idForToken(token)).not.toBe(idForToken(newResumeToken()));
    expect(idForToken(token)).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('will not adopt a short or odd token', () => {
    expect(adoptable('short')).toBe(false);
    expect(adoptable('a'.repeat(21))).toBe(false);
    expect(adoptable('a'.repeat(30) + '!')).toBe(false);
  });
});

describe('a meeting rebuilt after a restart', () => {
  it('comes back without anyone being asked to connect again: joined lists who is back, others hear of the rejoiner', () => {
    const meeting = rooms();
    const first = meeting.join('ben', 'm', 'Ben', [], { now: 0, rejoin: { participants: ['ada', 'cleo'] } });
    expect(first[0]!.message).toMatchObject({ type: 'joined', participants: [], moderator: 'ben' });
    const second = meeting.join('cleo', 'm', 'Cleo', [], { now: 1000, rejoin: { participants: ['ada', 'ben'] } });
    expect(second[0]!.message).toMatchObject({ type: 'joined', participants: [{ id: 'ben', name: 'Ben' }] });
    expect(others(second, 'cleo')).toEqual([{ to: 'ben', message: { type: 'participant-joined', participant: { id: 'cleo', name: 'Cleo' } } }]);
  });

  it('without a stored record of the meeting, believes no key from before the restart: the first one back moderates', () => {
    const meeting = rooms();
    meeting.join('ben', 'm', 'Ben', [], { now: 0, rejoin: { participants: ['ada'] } });
    const back = meeting.join('ada', 'm', 'Ada', [], { now: 2000, moderatorKey: 'key from before', rejoin: { participants: ['ben'] } });
    expect(back[0]!.message).toMatchObject({ type: 'joined', moderator: 'ben' });
    expect((back[0]!.message as { moderatorKey?: string }).moderatorKey).toBeUndefined();
  });

  it('lets a vouched-for member past the password the moderator re-asserted, but not a stranger', () => {
    const meeting = rooms();
    meeting.join('ada', 'm', 'Ada', [], { now: 0, moderatorKey: 'k', rejoin: { participants: ['ben'] } });
    meeting.setPassword('ada', 'hash');
    meeting.setLocked('ada', true);
    expect(() => meeting.join('eve', 'm', 'Eve', [], { now: 1000, rejoin: { participants: ['ada'] } })).toThrow(/password/);
    // The server's password gate before join agrees (it used to ask Ben for the password first).
    expect(meeting.passwordHashFor('m', { id: 'eve', rejoin: { participants: ['ada'] } }, 1000)).toBe('hash');
    expect(meeting.passwordHashFor('m', { id: 'ben', rejoin: { participants: ['ada'] } }, 1000)).toBeNull();
    expect(meeting.join('ben', 'm', 'Ben', [], { now: 1000, rejoin: { participants: ['ada'] } })[0]!.message).toMatchObject({ type: 'joined' });
  });

  it('stops believing vouches once the rebuild window is over', () => {
    const meeting = rooms();
    meeting.join('ada', 'm', 'Ada', [], { now: 0, rejoin: { participants: ['ben'] } });
    meeting.setLocked('ada', true);
    expect(() => meeting.join('ben', 'm', 'Ben', [], { now: REBUILD_WINDOW_MS + 1, rejoin: { participants: ['ada'] } })).toThrow(/locked/);
  });

  it('is an ordinary meeting for newcomers, and forgotten with its last member', () => {
    const meeting = rooms();
    meeting.join('ada', 'm', 'Ada', [], { now: 0, rejoin: { participants: ['ben'] } });
    const dan = meeting.join('dan', 'm', 'Dan', [], { now: 10 });
    expect(dan[0]!.message).toMatchObject({ type: 'joined', participants: [{ id: 'ada', name: 'Ada' }] });
    meeting.leave('ada');
    meeting.leave('dan');
    expect(meeting.roomCount).toBe(0);
    expect(meeting.participantCount).toBe(0);
  });

  it('validates a rejoin at the edge', () => {
    expect(parseClientMessage({ type: 'join', room: 'm', name: 'A', rejoin: { participants: ['ab_C-1'] } })).toMatchObject({ rejoin: { participants: ['ab_C-1'] } });
    expect(() => parseClientMessage({ type: 'join', room: 'm', name: 'A', rejoin: { participants: ['not an id'] } })).toThrow();
    expect(() => parseClientMessage({ type: 'join', room: 'm', name: 'A', rejoin: { participants: Array(33).fill('x') } })).toThrow();
    expect(parseClientMessage({ type: 'peer-lost', id: 'abc' })).toEqual({ type: 'peer-lost', id: 'abc' });
  });
});
