// The rules of a meeting, as pure room logic: moderator hand-over and reclaim, moderator-only
// actions, password gate, lock, lobby.

import { beforeEach, describe, expect, it } from 'vitest';
import { ProtocolError, type ErrorCode } from '../../signal/protocol.js';
import { Rooms, type Outbox } from '../../signal/rooms.js';

function refusal(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

const addressed = (outbox: Outbox) => outbox.map(({ to, message }) => `${to}: ${message.type}`);

describe('meeting rules', () => {
  let rooms: Rooms;
  let keys: number;

  beforeEach(() => {
    keys = 0;
    rooms = new Rooms({ capacity: 4, newKey: () => `key${++keys}`, reclaimGraceMs: 60_000 });
    rooms.join('ada', 'team', 'Ada', []);
    rooms.join('bob', 'team', 'Bob', []);
    rooms.join('cyd', 'team', 'Cyd', []);
  });

  it('refuses every moderator action from someone who is not the moderator, and changes nothing', () => {
    expect(refusal(() => rooms.setPassword('bob', 'hash'))).toBe('not-moderator');
    expect(refusal(() => rooms.makeModerator('bob', 'bob'))).toBe('not-moderator');
    expect(refusal(() => rooms.remove('bob', 'ada'))).toBe('not-moderator');
    expect(refusal(() => rooms.muteAll('bob'))).toBe('not-moderator');
    expect(refusal(() => rooms.setLocked('bob', true))).toBe('not-moderator');
    expect(refusal(() => rooms.setLobby('bob', true))).toBe('not-moderator');
    expect(refusal(() => rooms.admitFromLobby('bob', 'x'))).toBe('not-moderator');
    expect(refusal(() => rooms.decline('bob', 'x'))).toBe('not-moderator');
    expect(refusal(() => rooms.setLocked('zed', true))).toBe('not-in-room');
    // Nothing changed: the meeting is open, unlocked, without password, Ada still moderates.
    expect(rooms.passwordHashFor('team', { id: 'x' }, 0)).toBeNull();
    expect(rooms.join('dan', 'team', 'Dan', [])[0]?.message).toMatchObject({ moderator: 'ada', settings: { locked: false, lobby: false, hasPassword: false } });
  });

  it('lets the moderator hand the role over; the new moderator gets a fresh key', () => {
    expect(rooms.makeModerator('ada', 'cyd')).toEqual([
      { to: 'ada', message: { type: 'moderator-changed', moderator: 'cyd' } },
      { to: 'bob', message: { type: 'moderator-changed', moderator: 'cyd' } },
      { to: 'cyd', message: { type: 'moderator-changed', moderator: 'cyd' } },
      { to: 'cyd', message: { type: 'moderator-key', key: 'key2' } },
    ]);
    expect(refusal(() => rooms.muteAll('ada'))).toBe('not-moderator');
    expect(addressed(rooms.muteAll('cyd'))).toEqual(['ada: mute-request', 'bob: mute-request']);
  });

  it('gives a moderator who reloads the role back with the key, within the grace period only', () => {
    rooms.leave('ada', 1000);
    expect(rooms.join('bob2', 'team', 'Bob', [])[0]?.message).toMatchObject({ moderator: 'bob' });
    const back = rooms.join('ada2', 'team', 'Ada', [], { moderatorKey: 'key1', now: 30_000 });
    expect(back[0]?.message).toMatchObject({ type: 'joined', moderator: 'bob' });
    expect(addressed(back)).toContain('ada2: moderator-changed');
    expect(back.find((m) => m.message.type === 'moderator-key')).toEqual({ to: 'ada2', message: { type: 'moderator-key', key: 'key3' } });
    expect(rooms.muteAll('ada2').length).toBe(3);

    rooms.leave('ada2', 40_000);
    // Too late: after the grace period the old key is worth nothing.
    const late = rooms.join('ada3', 'team', 'Ada', [], { moderatorKey: 'key1', now: 200_000 });
    expect(addressed(late)).not.toContain('ada3: moderator-changed');
  });

  it('does not let a guessed key take the role', () => {
    const outbox = rooms.join('eve', 'team', 'Eve', [], { moderatorKey: 'key999', now: 0 });
    expect(addressed(outbox)).not.toContain('eve: moderator-changed');
    expect(refusal(() => rooms.muteAll('eve'))).toBe('not-moderator');
  });

  it('needs the password once one is set; people inside stay; removing it opens the meeting again', () => {
    expect(addressed(rooms.setPassword('ada', 'scrypt$hash'))).toEqual(['ada: room-settings', 'bob: room-settings', 'cyd: room-settings']);
    expect(rooms.passwordHashFor('team', { id: 'x' }, 0)).toBe('scrypt$hash');
    expect(refusal(() => rooms.join('dan', 'team', 'Dan', []))).toBe('password-required');
    expect(rooms.participantCount).toBe(3);
    expect(rooms.join('dan', 'team', 'Dan', [], { passwordVerified: true })[0]?.message).toMatchObject({ settings: { hasPassword: true } });
    rooms.setPassword('ada', null);
    expect(rooms.passwordHashFor('team', { id: 'x' }, 0)).toBeNull();
  });

  it('forgets the password with the meeting', () => {
    rooms.setPassword('ada', 'scrypt$hash');
    for (const id of ['ada', 'bob', 'cyd']) rooms.leave(id);
    expect(rooms.roomCount).toBe(0);
    expect(rooms.passwordHashFor('team', { id: 'x' }, 0)).toBeNull();
    expect(rooms.join('new', 'team', 'New', [])[0]?.message).toMatchObject({ moderator: 'new', settings: { hasPassword: false } });
  });

  it('keeps newcomers out of a locked meeting', () => {
    rooms.setLocked('ada', true);
    expect(refusal(() => rooms.join('dan', 'team', 'Dan', []))).toBe('room-locked');
    rooms.setLocked('ada', false);
    expect(addressed(rooms.join('dan', 'team', 'Dan', []))[0]).toBe('dan: joined');
  });

  it('removes a participant: they are told, the others see them leave', () => {
    expect(addressed(rooms.remove('ada', 'bob'))).toEqual(['bob: removed', 'ada: participant-left', 'cyd: participant-left']);
    expect(rooms.roomOf('bob')).toBeUndefined();
    expect(refusal(() => rooms.remove('ada', 'ada'))).toBe('unknown-participant');
  });

  describe('the lobby', () => {
    beforeEach(() => {
      rooms.setLobby('ada', true);
    });

    it('makes newcomers knock; the moderator sees the queue and admits or declines', () => {
      expect(rooms.join('dan', 'team', 'Dan', [])).toEqual([
        { to: 'dan', message: { type: 'lobby-waiting' } },
        { to: 'ada', message: { type: 'knocking', participant: { id: 'dan', name: 'Dan' } } },
      ]);
      rooms.join('eve', 'team', 'Eve', []);
      expect(rooms.participantCount).toBe(3);
      // Someone waiting cannot signal anyone.
      expect(refusal(() => rooms.relay('dan', 'ada', { type: 'renegotiate', renegotiate: true }))).toBe('not-in-room');

      expect(addressed(rooms.admitFromLobby('ada', 'dan'))).toEqual(['dan: joined', 'ada: participant-joined', 'bob: participant-joined', 'cyd: participant-joined']);
      expect(rooms.decline('ada', 'eve')).toEqual([{ to: 'eve', message: { type: 'error', code: 'declined', message: expect.any(String) } }]);
      expect(refusal(() => rooms.admitFromLobby('ada', 'eve'))).toBe('unknown-participant');
    });

    it('tells the moderator when someone gives up waiting', () => {
      rooms.join('dan', 'team', 'Dan', []);
      expect(rooms.leave('dan')).toEqual([{ to: 'ada', message: { type: 'knock-withdrawn', id: 'dan' } }]);
    });

    it('shows the queue to the next moderator when the moderator leaves', () => {
      rooms.join('dan', 'team', 'Dan', []);
      expect(addressed(rooms.leave('ada'))).toContain('bob: knocking');
    });

    it('lets everyone waiting in when the lobby is turned off', () => {
      rooms.join('dan', 'team', 'Dan', []);
      expect(addressed(rooms.setLobby('ada', false))).toContain('dan: joined');
      expect(rooms.participantCount).toBe(4);
    });

    it('lets a returning moderator past the lobby', () => {
      rooms.leave('ada', 0);
      const back = rooms.join('ada2', 'team', 'Ada', [], { moderatorKey: 'key1', now: 1 });
      expect(addressed(back)[0]).toBe('ada2: joined');
    });
  });
});
