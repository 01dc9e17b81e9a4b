import { beforeEach, describe, expect, it } from 'vitest';
import { ProtocolError, type ErrorCode, type IceServer, type SignalData } from '../../signal/protocol.js';
import { Rooms, type Outbox } from '../../signal/rooms.js';

const ICE: IceServer[] = [{ urls: ['turn:meet.example.org:10000'], username: 'u', credential: 'c' }];
const OFFER: SignalData = { type: 'offer', sdp: 'v=0\r\n' };

function refusal(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

/** The outbox as "recipient: message type" lines, easy to read in a failure. */
function addressed(outbox: Outbox): string[] {
  return outbox.map(({ to, message }) => `${to}: ${message.type}`);
}

describe('Rooms', () => {
  let rooms: Rooms;

  beforeEach(() => {
    let keys = 0;
    rooms = new Rooms({ capacity: 3, newKey: () => `key${++keys}` });
  });

  describe('joining', () => {
    it('creates the meeting on first join and makes the first person moderator', () => {
      const outbox = rooms.join('ada', 'team', 'Ada', ICE);

      expect(outbox).toEqual([
        {
          to: 'ada',
          message: {
            type: 'joined',
            room: 'team',
            you: 'ada',
            participants: [],
            moderator: 'ada',
            iceServers: ICE,
            settings: { locked: false, lobby: false, hasPassword: false },
            moderatorKey: 'key1',
          },
        },
      ]);
      expect(rooms.roomCount).toBe(1);
      expect(rooms.participantCount).toBe(1);
      expect(rooms.roomOf('ada')).toBe('team');
    });

    it('tells a second joiner who is there, and tells the others about the joiner', () => {
      rooms.join('ada', 'team', 'Ada', ICE);
      const outbox = rooms.join('bob', 'team', 'Bob', []);

      expect(outbox).toEqual([
        {
          to: 'bob',
          message: {
            type: 'joined',
            room: 'team',
            you: 'bob',
            participants: [{ id: 'ada', name: 'Ada' }],
            moderator: 'ada',
            iceServers: [],
            settings: { locked: false, lobby: false, hasPassword: false },
          },
        },
        { to: 'ada', message: { type: 'participant-joined', participant: { id: 'bob', name: 'Bob' } } },
      ]);
      expect(rooms.roomCount).toBe(1);
    });

    it('lists earlier participants in the order they joined', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      const [joined] = rooms.join('cyd', 'team', 'Cyd', []);

      expect(joined?.message).toMatchObject({ participants: [{ id: 'ada' }, { id: 'bob' }], moderator: 'ada' });
    });

    it('keeps meetings with different names apart', () => {
      rooms.join('ada', 'team', 'Ada', []);
      const outbox = rooms.join('eve', 'other', 'Eve', []);

      expect(addressed(outbox)).toEqual(['eve: joined']);
      expect(outbox[0]?.message).toMatchObject({ participants: [], moderator: 'eve' });
      expect(rooms.roomCount).toBe(2);
    });

    it('refuses a joiner once the meeting is at capacity, and changes nothing', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.join('cyd', 'team', 'Cyd', []);

      expect(refusal(() => rooms.join('dan', 'team', 'Dan', []))).toBe('room-full');
      expect(rooms.roomOf('dan')).toBeUndefined();
      expect(rooms.participantCount).toBe(3);
      // Once someone leaves there is a seat again.
      rooms.leave('bob');
      expect(addressed(rooms.join('dan', 'team', 'Dan', []))).toEqual(['dan: joined', 'ada: participant-joined', 'cyd: participant-joined']);
    });

    it('keeps seats for listeners once video is full: audio-only joiners up to the larger cap, then nobody', () => {
      const withListeners = new Rooms({ capacity: 2, audioOnlyCapacity: 4, newKey: () => 'key' });
      withListeners.join('ada', 'team', 'Ada', []);
      withListeners.join('bob', 'team', 'Bob', []);

      expect(refusal(() => withListeners.join('cyd', 'team', 'Cyd', []))).toBe('room-full-video');
      const outbox = withListeners.join('cyd', 'team', 'Cyd', [], { audioOnly: true });
      expect(addressed(outbox)).toEqual(['cyd: joined', 'ada: participant-joined', 'bob: participant-joined']);
      expect(outbox[1]?.message).toMatchObject({ participant: { id: 'cyd', name: 'Cyd', audioOnly: true } });
      withListeners.join('dan', 'team', 'Dan', [], { audioOnly: true });

      expect(refusal(() => withListeners.join('fay', 'team', 'Fay', [], { audioOnly: true }))).toBe('room-full');
      expect(refusal(() => withListeners.join('fay', 'team', 'Fay', []))).toBe('room-full');
      // A video sender leaving frees a video seat; a listener leaving frees only a listener's.
      withListeners.leave('dan');
      expect(refusal(() => withListeners.join('fay', 'team', 'Fay', []))).toBe('room-full-video');
      withListeners.leave('ada');
      expect(addressed(withListeners.join('fay', 'team', 'Fay', []))[0]).toBe('fay: joined');
      expect(withListeners.join('gus', 'team', 'Gus', [], { audioOnly: true })[0]?.message).toMatchObject({
        participants: [{ id: 'bob' }, { id: 'cyd', audioOnly: true }, { id: 'fay' }],
      });
    });

    it('lets the moderator admit an audio-only knocker into a meeting full for video, and says who knocks audio-only', () => {
      const lobby = new Rooms({ capacity: 2, audioOnlyCapacity: 3, newKey: () => 'key' });
      lobby.join('ada', 'team', 'Ada', []);
      lobby.join('bob', 'team', 'Bob', []);
      lobby.setLobby('ada', true);
      expect(lobby.join('cyd', 'team', 'Cyd', [], { audioOnly: true })).toContainEqual({ to: 'ada', message: { type: 'knocking', participant: { id: 'cyd', name: 'Cyd', audioOnly: true } } });
      expect(refusal(() => lobby.join('dan', 'team', 'Dan', []))).toBe('room-full-video');
      // A new moderator hears of the knock with the same detail.
      expect(lobby.makeModerator('ada', 'bob')).toContainEqual({ to: 'bob', message: { type: 'knocking', participant: { id: 'cyd', name: 'Cyd', audioOnly: true } } });
      expect(addressed(lobby.admitFromLobby('bob', 'cyd'))[0]).toBe('cyd: joined');
    });

    it('says plainly "full" when there are no seats for listeners, and tells joiners the upload budget', () => {
      const plain = new Rooms({ capacity: 1, uplinkBudgetKbps: 1200, newKey: () => 'key' });
      expect(plain.join('ada', 'team', 'Ada', [])[0]?.message).toMatchObject({ type: 'joined', uplinkBudgetKbps: 1200 });
      expect(refusal(() => plain.join('bob', 'team', 'Bob', []))).toBe('room-full');
      expect(refusal(() => plain.join('bob', 'team', 'Bob', [], { audioOnly: true }))).toBe('room-full');
    });

    it('refuses a second join from someone already in a meeting', () => {
      rooms.join('ada', 'team', 'Ada', []);

      expect(refusal(() => rooms.join('ada', 'team', 'Ada again', []))).toBe('already-in-room');
      expect(refusal(() => rooms.join('ada', 'elsewhere', 'Ada', []))).toBe('already-in-room');
      expect(rooms.roomCount).toBe(1);
      expect(rooms.roomOf('ada')).toBe('team');
    });
  });

  describe('leaving', () => {
    it('tells the others that someone left', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.join('cyd', 'team', 'Cyd', []);

      expect(rooms.leave('cyd')).toEqual([
        { to: 'ada', message: { type: 'participant-left', id: 'cyd' } },
        { to: 'bob', message: { type: 'participant-left', id: 'cyd' } },
      ]);
      expect(rooms.roomOf('cyd')).toBeUndefined();
    });

    it('hands the moderator role to the longest-present member when the moderator leaves', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.join('cyd', 'team', 'Cyd', []);

      expect(rooms.leave('ada')).toEqual([
        { to: 'bob', message: { type: 'participant-left', id: 'ada' } },
        { to: 'cyd', message: { type: 'participant-left', id: 'ada' } },
        { to: 'bob', message: { type: 'moderator-changed', moderator: 'bob' } },
        { to: 'cyd', message: { type: 'moderator-changed', moderator: 'bob' } },
        { to: 'bob', message: { type: 'moderator-key', key: 'key2' } },
      ]);
      // A newcomer learns the new moderator.
      expect(rooms.join('dan', 'team', 'Dan', [])[0]?.message).toMatchObject({ moderator: 'bob' });
    });

    it('keeps the moderator when someone else leaves', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.join('cyd', 'team', 'Cyd', []);

      expect(addressed(rooms.leave('bob'))).toEqual(['ada: participant-left', 'cyd: participant-left']);
      expect(rooms.join('dan', 'team', 'Dan', [])[0]?.message).toMatchObject({ moderator: 'ada' });
    });

    it('deletes the meeting with its last member; the same name later starts fresh', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.leave('ada');

      expect(rooms.leave('bob')).toEqual([]);
      expect(rooms.roomCount).toBe(0);
      expect(rooms.participantCount).toBe(0);

      expect(rooms.join('cyd', 'team', 'Cyd', [])).toEqual([
        {
          to: 'cyd',
          message: {
            type: 'joined',
            room: 'team',
            you: 'cyd',
            participants: [],
            moderator: 'cyd',
            iceServers: [],
            settings: { locked: false, lobby: false, hasPassword: false },
            moderatorKey: expect.any(String),
          },
        },
      ]);
      expect(rooms.roomCount).toBe(1);
    });

    it('is idempotent: leaving twice, or without having joined, sends nothing', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);

      expect(rooms.leave('bob')).toHaveLength(1);
      expect(rooms.leave('bob')).toEqual([]);
      expect(rooms.leave('nobody')).toEqual([]);
      expect(rooms.participantCount).toBe(1);
      expect(rooms.roomCount).toBe(1);
    });

    it('lets someone who left join again, as a newcomer', () => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.leave('ada');

      expect(addressed(rooms.join('ada', 'team', 'Ada', []))).toEqual(['ada: joined', 'bob: participant-joined']);
      expect(rooms.join('cyd', 'team', 'Cyd', [])[0]?.message).toMatchObject({ participants: [{ id: 'bob' }, { id: 'ada' }], moderator: 'bob' });
    });
  });

  describe('relaying signals', () => {
    beforeEach(() => {
      rooms.join('ada', 'team', 'Ada', []);
      rooms.join('bob', 'team', 'Bob', []);
      rooms.join('eve', 'other', 'Eve', []);
    });

    it('passes signal data to another member, stamped with the true sender', () => {
      expect(rooms.relay('ada', 'bob', OFFER)).toEqual([{ to: 'bob', message: { type: 'signal', from: 'ada', data: OFFER } }]);
      const answer: SignalData = { type: 'answer', sdp: 'v=0\r\na=answer\r\n' };
      expect(rooms.relay('bob', 'ada', answer)).toEqual([{ to: 'ada', message: { type: 'signal', from: 'bob', data: answer } }]);
    });

    it('refuses to reach a member of another meeting', () => {
      expect(refusal(() => rooms.relay('eve', 'ada', OFFER))).toBe('unknown-participant');
      expect(refusal(() => rooms.relay('ada', 'eve', OFFER))).toBe('unknown-participant');
    });

    it('refuses to signal oneself or someone who does not exist', () => {
      expect(refusal(() => rooms.relay('ada', 'ada', OFFER))).toBe('unknown-participant');
      expect(refusal(() => rooms.relay('ada', 'ghost', OFFER))).toBe('unknown-participant');
    });

    it('refuses to signal someone who has left', () => {
      rooms.leave('bob');
      expect(refusal(() => rooms.relay('ada', 'bob', OFFER))).toBe('unknown-participant');
    });

    it('refuses signals from someone who has not joined a meeting', () => {
      expect(refusal(() => rooms.relay('stranger', 'ada', OFFER))).toBe('not-in-room');
      rooms.leave('ada');
      expect(refusal(() => rooms.relay('ada', 'bob', OFFER))).toBe('not-in-room');
    });
  });

  describe('seats: video senders up to capacity, listeners (audio-only) up to audioOnlyCapacity', () => {
    let seats: Rooms;
    const knock = (id: string, audioOnly = false) => seats.join(id, 'team', id.toUpperCase(), [], { audioOnly });

    beforeEach(() => {
      let keys = 0;
      seats = new Rooms({ capacity: 2, audioOnlyCapacity: 3, newKey: () => `key${++keys}` });
      seats.join('ada', 'team', 'Ada', []);
      seats.setLobby('ada', true);
    });

    it("lets the moderator's Admit seat an audio-only knocker in a meeting full for video, but no second video sender", () => {
      knock('bob');
      knock('dan');
      knock('cyd', true);
      expect(addressed(seats.admitFromLobby('ada', 'bob'))[0]).toBe('bob: joined');

      expect(refusal(() => seats.admitFromLobby('ada', 'dan'))).toBe('room-full-video');
      expect(addressed(seats.admitFromLobby('ada', 'cyd'))).toEqual(['cyd: joined', 'ada: participant-joined', 'bob: participant-joined']);
      expect(seats.roomOf('cyd')).toBe('team');
      // Dan still waits: the moderator may admit him once a video sender leaves.
      expect(seats.roomOf('dan')).toBeUndefined();
      seats.leave('bob');
      expect(addressed(seats.admitFromLobby('ada', 'dan'))[0]).toBe('dan: joined');
    });

    it('seats the same knockers when the moderator turns the lobby off as Admit does, one by one', () => {
      knock('bob');
      knock('dan');
      knock('cyd', true);

      const outbox = seats.setLobby('ada', false);
      expect(addressed(outbox).filter((line) => line.endsWith(': joined'))).toEqual(['bob: joined', 'cyd: joined']);
      expect([seats.roomOf('bob'), seats.roomOf('cyd'), seats.roomOf('dan')]).toEqual(['team', 'team', undefined]);
      expect(seats.participantCount).toBe(3);
    });

    it('keeps a knocker audio-only when the role moves because the moderator left', () => {
      seats.setLobby('ada', false);
      seats.join('bob', 'team', 'Bob', []);
      seats.setLobby('ada', true);
      knock('cyd', true);

      const outbox = seats.leave('ada');
      expect(outbox).toContainEqual({ to: 'bob', message: { type: 'knocking', participant: { id: 'cyd', name: 'CYD', audioOnly: true } } });
      expect(addressed(seats.admitFromLobby('bob', 'cyd'))[0]).toBe('cyd: joined');
      expect(seats.join('eve', 'team', 'Eve', [], { audioOnly: true })).toContainEqual({ to: 'bob', message: { type: 'knocking', participant: { id: 'eve', name: 'Eve', audioOnly: true } } });
    });

    it('refuses everyone, listeners too, once every seat is taken', () => {
      seats.setLobby('ada', false);
      knock('bob');
      knock('cyd', true);

      expect(refusal(() => knock('dan', true))).toBe('room-full');
      expect(refusal(() => knock('dan'))).toBe('room-full');
    });
  });
});
