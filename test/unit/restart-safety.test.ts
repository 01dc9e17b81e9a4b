// Protected meetings stay protected across a restart (issue 11, attacks 3 and 4): what a meeting's
// store record brings back before anyone gets in. Pure: a memory store "restarts" between two
// Rooms, and the clock is passed in.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileMeetingStore, memoryMeetingStore, type MeetingStore } from '../../signal/meeting-store.js';
import { ProtocolError, type ErrorCode } from '../../signal/protocol.js';
import { REBUILD_WINDOW_MS, Rooms, type Outbox } from '../../signal/rooms.js';

let issued = 0;
let time = 1_000_000;
const rooms = (store: MeetingStore) => new Rooms({ capacity: 8, newKey: () => `key-${++issued}`, store, clock: () => time });

function refusal(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}
const joinedOf = (outbox: Outbox) => outbox[0]!.message as Extract<Outbox[number]['message'], { type: 'joined' }>;
const to = (outbox: Outbox, id: string) => outbox.filter((o) => o.to === id).map((o) => o.message.type);

/** Ada moderates "m" with Ben and Cleo; she set a password. Then the server restarts. */
function protectedMeetingRestarted() {
  const store = memoryMeetingStore();
  const before = rooms(store);
  const adasKey = joinedOf(before.join('ada', 'm', 'Ada', [], { now: time })).moderatorKey!;
  before.join('ben', 'm', 'Ben', [], { now: time });
  before.join('cleo', 'm', 'Cleo', [], { now: time });
  before.setPassword('ada', 'scrypt$hash');
  store.restart();
  time += 5_000;
  return { store, after: rooms(store), adasKey };
}

describe('a protected meeting after a restart', () => {
  it('asks a stranger who joins first for the password, and gives the stranger no role', () => {
    const { after } = protectedMeetingRestarted();
    expect(after.passwordHashFor('m', { id: 'eve' }, time)).toBe('scrypt$hash');
    expect(refusal(() => after.join('eve', 'm', 'Eve', [], { now: time }))).toBe('password-required');
    // Even knowing the password, a newcomer is a member, not the moderator.
    const eve = after.join('eve', 'm', 'Eve', [], { now: time, passwordVerified: true });
    expect(joinedOf(eve)).toMatchObject({ moderator: 'ada', settings: { hasPassword: true } });
    expect(joinedOf(eve).moderatorKey).toBeUndefined();
    expect(refusal(() => after.setLocked('eve', false))).toBe('not-moderator');
  });

  it('lets its members back without the password, and its moderator takes her role back with her key', () => {
    const { after, adasKey } = protectedMeetingRestarted();
    expect(after.passwordHashFor('m', { id: 'ben' }, time)).toBeNull();
    expect(joinedOf(after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: ['ada', 'cleo'] } }))).toMatchObject({ moderator: 'ada' });
    const ada = after.join('ada', 'm', 'Ada', [], { now: time, moderatorKey: adasKey, rejoin: { participants: ['ben', 'cleo'] } });
    expect(joinedOf(ada)).toMatchObject({ moderator: 'ada', moderatorKey: adasKey, settings: { hasPassword: true } });
    // Cleo comes back even without her rejoin list: her id proves she was in.
    expect(joinedOf(after.join('cleo', 'm', 'Cleo', [], { now: time }))).toMatchObject({ moderator: 'ada' });
  });

  it('gives the moderator a fresh key when she comes back without hers', () => {
    const { after, adasKey } = protectedMeetingRestarted();
    after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: ['ada'] } });
    const ada = after.join('ada', 'm', 'Ada', [], { now: time, rejoin: { participants: ['ben'] } });
    expect(to(ada, 'ada')).toContain('moderator-key');
    expect(to(ada, 'ben')).toContain('moderator-changed');
    // The old key now opens nothing.
    expect(after.passwordHashFor('m', { id: 'mallory', moderatorKey: adasKey }, time)).toBe('scrypt$hash');
  });

  it('keeps a locked meeting locked and a lobby meeting a lobby: the moderator hears the knock once she is back', () => {
    const store = memoryMeetingStore();
    const before = rooms(store);
    before.join('ada', 'm', 'Ada', [], { now: time });
    before.join('ben', 'm', 'Ben', [], { now: time });
    before.setLobby('ada', true);
    const locked = rooms(store);
    locked.join('lia', 'l', 'Lia', [], { now: time });
    locked.setLocked('lia', true);
    store.restart();
    const after = rooms(store);
    expect(refusal(() => after.join('eve', 'l', 'Eve', [], { now: time }))).toBe('room-locked');
    expect(to(after.join('eve', 'm', 'Eve', [], { now: time }), 'eve')).toEqual(['lobby-waiting']);
    after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: ['ada'] } });
    const ada = after.join('ada', 'm', 'Ada', [], { now: time, rejoin: { participants: ['ben'] } });
    expect(ada).toContainEqual({ to: 'ada', message: { type: 'knocking', participant: { id: 'eve', name: 'Eve' } } });
    expect(after.roomOf('eve')).toBeUndefined();
  });

  it('does not give the role to a moderator who was replaced, nor let a removed member back in', () => {
    const store = memoryMeetingStore();
    const before = rooms(store);
    const adasKey = joinedOf(before.join('ada', 'm', 'Ada', [], { now: time })).moderatorKey!;
    before.join('ben', 'm', 'Ben', [], { now: time });
    before.join('dan', 'm', 'Dan', [], { now: time });
    before.setLocked('ada', true);
    before.makeModerator('ada', 'ben');
    before.remove('ben', 'dan', time);
    store.restart();
    const after = rooms(store);
    // Dan was removed: he is a stranger to the locked meeting.
    expect(refusal(() => after.join('dan', 'm', 'Dan', [], { now: time, rejoin: { participants: ['ada'] } }))).toBe('room-locked');
    // Ada arrives first with her old key: she is a member again, not the moderator.
    expect(joinedOf(after.join('ada', 'm', 'Ada', [], { now: time, moderatorKey: adasKey, rejoin: { participants: ['ben'] } }))).toMatchObject({ moderator: 'ben' });
    expect(joinedOf(after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: ['ada'] } }))).toMatchObject({ moderator: 'ben' });
  });

  it('does not honour a key of a meeting that ended in a new meeting of the same name', () => {
    const store = memoryMeetingStore();
    const first = rooms(store);
    const adasKey = joinedOf(first.join('ada', 'm', 'Ada', [], { now: time })).moderatorKey!;
    first.leave('ada', time);
    expect(store.saved.size).toBe(0);
    first.join('zoe', 'm', 'Zoe', [], { now: time });
    first.setPassword('zoe', 'scrypt$hash');
    store.restart();
    const after = rooms(store);
    expect(after.passwordHashFor('m', { id: 'ada', moderatorKey: adasKey }, time)).toBe('scrypt$hash');
  });

  it('a stranger refused at the door does not use up the record: the members still come back to their rules', () => {
    const { after } = protectedMeetingRestarted();
    expect(refusal(() => after.join('eve', 'm', 'Eve', [], { now: time }))).toBe('password-required');
    expect(after.roomCount).toBe(0);
    expect(joinedOf(after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: [] } }))).toMatchObject({ moderator: 'ada', settings: { hasPassword: true } });
  });

  it('hands the role to the longest-present member when the moderator is not back within the rebuild window', () => {
    const { after } = protectedMeetingRestarted();
    after.join('cleo', 'm', 'Cleo', [], { now: time, rejoin: { participants: [] } });
    after.join('ben', 'm', 'Ben', [], { now: time, rejoin: { participants: [] } });
    expect(after.tick(time + 1000)).toEqual([]);
    const outbox = after.tick(time + REBUILD_WINDOW_MS + 1);
    expect(outbox).toContainEqual({ to: 'cleo', message: { type: 'moderator-changed', moderator: 'cleo' } });
    expect(to(outbox, 'cleo')).toContain('moderator-key');
    // And after the window, nobody passes the password by having been there.
    expect(refusal(() => after.join('ada', 'm', 'Ada', [], { now: time + REBUILD_WINDOW_MS + 2 }))).toBe('password-required');
  });

  it('forgets stored meetings nobody came back to once the rebuild window is over', () => {
    const { store, after } = protectedMeetingRestarted();
    expect(after.passwordHashFor('m', { id: 'eve' }, time)).toBe('scrypt$hash');
    time += REBUILD_WINDOW_MS + 1;
    after.tick(time);
    expect(store.saved.size).toBe(0);
    expect(after.passwordHashFor('m', { id: 'eve' }, time)).toBeNull();
  });

  it('ends a restored meeting that only knockers came to when the window is over', () => {
    const store = memoryMeetingStore();
    const before = rooms(store);
    before.join('ada', 'm', 'Ada', [], { now: time });
    before.setLobby('ada', true);
    store.restart();
    const after = rooms(store);
    after.join('eve', 'm', 'Eve', [], { now: time });
    expect(after.roomCount).toBe(1);
    const outbox = after.tick(time + REBUILD_WINDOW_MS + 1);
    expect(outbox).toEqual([{ to: 'eve', message: { type: 'error', code: 'declined', message: 'the meeting ended before you were let in' } }]);
    expect(after.roomCount).toBe(0);
    expect(store.saved.size).toBe(0);
  });
});

describe('what a meeting costs the disk', () => {
  it('writes an open meeting once, at creation, and a protected one on every membership change', () => {
    const store = memoryMeetingStore();
    let saves = 0;
    const counting = { ...store, save: (...args: Parameters<MeetingStore['save']>) => (saves++, store.save(...args)) };
    const meeting = rooms(counting);
    meeting.join('ada', 'open', 'Ada', [], { now: time });
    meeting.join('ben', 'open', 'Ben', [], { now: time });
    meeting.join('cleo', 'open', 'Cleo', [], { now: time });
    meeting.leave('cleo', time);
    expect(saves).toBe(1);
    // A removal is written at once, so the removed one is no member to let back in after a crash.
    meeting.remove('ada', 'ben', time);
    expect(saves).toBe(2);
    expect(store.saved.get('open')!.members).toEqual(['ada']);
    meeting.setPassword('ada', 'scrypt$hash');
    meeting.join('dan', 'open', 'Dan', [], { now: time, passwordVerified: true });
    meeting.leave('dan', time);
    expect(saves).toBe(5);
    expect(store.saved.get('open')!.members).toEqual(['ada']);
  });
});

describe('the meeting store in the data directory', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const flushed = () => new Promise((resolve) => setImmediate(resolve));

  it('brings a meeting back in a new process, with no meeting name on the disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'treff-meetings-'));
    dirs.push(dir);
    const before = rooms(fileMeetingStore({ dir, secret: 's3cret' }));
    before.join('ada', 'team-weekly', 'Ada', [], { now: time });
    before.setLocked('ada', true);
    await flushed();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(readFileSync(join(dir, files[0]!), 'utf8')).not.toMatch(/team-weekly|Ada/);

    const after = rooms(fileMeetingStore({ dir, secret: 's3cret' }));
    expect(refusal(() => after.join('eve', 'team-weekly', 'Eve', [], { now: time }))).toBe('room-locked');
    expect(joinedOf(after.join('ada', 'team-weekly', 'Ada', [], { now: time, rejoin: { participants: [] } }))).toMatchObject({ moderator: 'ada', settings: { locked: true } });
    after.leave('ada', time);
    await flushed();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('drops a record it cannot read instead of trusting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'treff-meetings-'));
    dirs.push(dir);
    writeFileSync(join(dir, `${'a'.repeat(64)}.json`), '{"locked": "yes"');
    fileMeetingStore({ dir, secret: 's3cret' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
