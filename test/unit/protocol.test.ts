import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  MIN_PASSWORD_LENGTH,
  ProtocolError,
  parseClientMessage,
  parseServerMessage,
  parseSignalData,
  type ErrorCode,
} from '../../signal/protocol.js';

/** Runs fn and returns the ProtocolError it throws; fails the test if it throws nothing or something else. */
function protocolErrorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

function expectRefused(fn: () => unknown, code: ErrorCode): void {
  expect(protocolErrorOf(fn).code).toBe(code);
}

const offer = { type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n' } as const;

describe('parseClientMessage: what a browser may send', () => {
  it('accepts hello with the protocol version', () => {
    expect(parseClientMessage('{"type":"hello","version":1}')).toEqual({ type: 'hello', version: 1 });
  });

  it('accepts an already parsed object as well as a JSON string', () => {
    expect(parseClientMessage({ type: 'ping' })).toEqual({ type: 'ping' });
  });

  it('accepts join and normalises the room and display names', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'join', room: 'Team Weekly', name: '  Ada   Lovelace ' }))).toEqual({
      type: 'join',
      room: 'team-weekly',
      name: 'Ada Lovelace',
    });
  });

  it('accepts an audio-only join, and refuses an audioOnly that is not true or false', () => {
    expect(parseClientMessage({ type: 'join', room: 'team', name: 'Ada', audioOnly: true })).toEqual({ type: 'join', room: 'team', name: 'Ada', audioOnly: true });
    expect(parseClientMessage({ type: 'join', room: 'team', name: 'Ada', audioOnly: false })).toEqual({ type: 'join', room: 'team', name: 'Ada' });
    expect(() => parseClientMessage({ type: 'join', room: 'team', name: 'Ada', audioOnly: 'yes' })).toThrow(/audioOnly/);
  });

  it('accepts a signal to a participant with every kind of signal data', () => {
    const datas = [
      offer,
      { type: 'answer', sdp: 'v=0\r\n' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
      { type: 'renegotiate', renegotiate: true },
      { type: 'restart-ice' },
      { type: 'transceiverRequest', transceiverRequest: { kind: 'video' } },
    ];
    for (const data of datas) {
      expect(parseClientMessage({ type: 'signal', to: 'pA_b-9', data })).toEqual({ type: 'signal', to: 'pA_b-9', data });
    }
  });

  it('accepts leave and ping, dropping extra fields', () => {
    expect(parseClientMessage({ type: 'leave', sneaky: 1 })).toEqual({ type: 'leave' });
    expect(parseClientMessage({ type: 'ice-servers', iceServers: [{ urls: ['turn:evil.example'] }] })).toEqual({ type: 'ice-servers' });
    expect(parseClientMessage({ type: 'ping', from: 'someone' })).toEqual({ type: 'ping' });
  });

  it('drops a "from" a client tries to put on its signal', () => {
    const parsed = parseClientMessage({ type: 'signal', to: 'bob', from: 'mallory', data: offer });
    expect(parsed).not.toHaveProperty('from');
  });

  describe('refuses malformed input with bad-message', () => {
    it.each([
      ['text that is not JSON', 'hello there'],
      ['truncated JSON', '{"type":"hello"'],
      ['a JSON array', '[{"type":"ping"}]'],
      ['a JSON string', '"ping"'],
      ['JSON null', 'null'],
      ['a number', 42],
      ['undefined', undefined],
      ['an object without type', { version: 1 }],
      ['a non-string type', { type: 7 }],
      ['an unknown type', { type: 'shout' }],
      ['a server-only type', { type: 'welcome', you: 'abc' }],
    ])('%s', (_, raw) => expectRefused(() => parseClientMessage(raw), 'bad-message'));

    it.each([
      ['a string version', { type: 'hello', version: '1' }],
      ['a fractional version', { type: 'hello', version: 1.5 }],
      ['a negative version', { type: 'hello', version: -1 }],
      ['no version', { type: 'hello' }],
      ['a numeric room', { type: 'join', room: 42, name: 'Ada' }],
      ['a missing name', { type: 'join', room: 'team' }],
      ['a room longer than any input the server reads', { type: 'join', room: 'a'.repeat(1025), name: 'Ada' }],
      ['a name longer than any input the server reads', { type: 'join', room: 'team', name: 'a'.repeat(1025) }],
      ['a signal without "to"', { type: 'signal', data: offer }],
      ['a signal to a numeric id', { type: 'signal', to: 5, data: offer }],
      ['a signal without data', { type: 'signal', to: 'bob' }],
    ])('%s', (_, raw) => expectRefused(() => parseClientMessage(raw), 'bad-message'));

    it.each([
      ['with a space', 'bob smith'],
      ['with a slash', '../admin'],
      ['with a dot', 'bob.smith'],
      ['empty', ''],
      ['longer than 64 characters', 'a'.repeat(65)],
    ])('a signal to a participant id %s', (_, to) => {
      expectRefused(() => parseClientMessage({ type: 'signal', to, data: offer }), 'bad-message');
    });

    it('accepts a participant id of exactly 64 characters', () => {
      expect(parseClientMessage({ type: 'signal', to: 'a'.repeat(64), data: offer })).toMatchObject({ to: 'a'.repeat(64) });
    });
  });

  it('refuses a bad room name with invalid-room-name', () => {
    for (const room of ['', '   ', 'a/b', '<script>', 'x'.repeat(65)]) {
      expectRefused(() => parseClientMessage({ type: 'join', room, name: 'Ada' }), 'invalid-room-name');
    }
  });

  it('refuses a bad display name with invalid-name', () => {
    for (const name of ['', '  \t ', 'x'.repeat(41), 'evil\u202Egnp.exe', 'null\u0000byte']) {
      expectRefused(() => parseClientMessage({ type: 'join', room: 'team', name }), 'invalid-name');
    }
  });

  it('says which kind of value was malformed: a participant id, a resume token, a moderator key', () => {
    const hello = protocolErrorOf(() => parseClientMessage({ type: 'hello', version: 1, resumeToken: 'not a token' }));
    expect([hello.code, hello.message]).toEqual(['bad-message', '"resumeToken" is not a resume token']);
    const signal = protocolErrorOf(() => parseClientMessage({ type: 'signal', to: 'bob/../x', data: offer }));
    expect(signal.message).toBe('"to" is not a participant id');
    const key = protocolErrorOf(() => parseServerMessage({ type: 'moderator-key', key: 'k e y' }));
    expect(key.message).toBe('"key" is not a moderator key');
    expect(parseServerMessage({ type: 'moderator-key', key: 'Zm9v_YmFy-123' })).toEqual({ type: 'moderator-key', key: 'Zm9v_YmFy-123' });
  });

  it('gives ProtocolError a readable message and name', () => {
    const error = protocolErrorOf(() => parseClientMessage({ type: 'hello', version: 'one' }));
    expect(error.name).toBe('ProtocolError');
    expect(error.message).toContain('version');
  });
});

describe('parseSignalData: what simple-peer hands over', () => {
  it('keeps nullable candidate fields as null and leaves absent ones absent', () => {
    expect(parseSignalData({ type: 'candidate', candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null, usernameFragment: 'uf' } })).toEqual({
      type: 'candidate',
      candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null, usernameFragment: 'uf' },
    });
    const bare = parseSignalData({ type: 'candidate', candidate: { candidate: 'c' } });
    expect(bare).toEqual({ type: 'candidate', candidate: { candidate: 'c' } });
    expect(bare.type === 'candidate' && 'sdpMid' in bare.candidate).toBe(false);
  });

  it('keeps only the fields it knows', () => {
    expect(parseSignalData({ type: 'offer', sdp: 'v=0', extra: 'x' })).toEqual({ type: 'offer', sdp: 'v=0' });
    expect(parseSignalData({ type: 'transceiverRequest', transceiverRequest: { kind: 'audio' } })).toEqual({
      type: 'transceiverRequest',
      transceiverRequest: { kind: 'audio' },
    });
  });

  it('accepts an SDP of 48 KiB but not one character more', () => {
    expect(parseSignalData({ type: 'answer', sdp: 'x'.repeat(48 * 1024) })).toMatchObject({ type: 'answer' });
    expectRefused(() => parseSignalData({ type: 'answer', sdp: 'x'.repeat(48 * 1024 + 1) }), 'bad-message');
  });

  it.each([
    ['not an object', 'offer'],
    ['null', null],
    ['an array', [offer]],
    ['an unknown type', { type: 'pranswer', sdp: 'v=0' }],
    ['no type', { sdp: 'v=0' }],
    ['an offer without sdp', { type: 'offer' }],
    ['an offer with numeric sdp', { type: 'offer', sdp: 1 }],
    ['a candidate that is a string', { type: 'candidate', candidate: 'candidate:1 1 udp' }],
    ['a candidate without its candidate line', { type: 'candidate', candidate: { sdpMid: '0' } }],
    ['a candidate line over 1024 characters', { type: 'candidate', candidate: { candidate: 'c'.repeat(1025) } }],
    ['a candidate with a numeric sdpMid', { type: 'candidate', candidate: { candidate: 'c', sdpMid: 0 } }],
    ['a candidate with a negative sdpMLineIndex', { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: -1 } }],
    ['a candidate with a string sdpMLineIndex', { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: '0' } }],
    ['a candidate with a numeric usernameFragment', { type: 'candidate', candidate: { candidate: 'c', usernameFragment: 5 } }],
    ['renegotiate that is not true', { type: 'renegotiate', renegotiate: 'yes' }],
    ['a transceiver request for a data kind', { type: 'transceiverRequest', transceiverRequest: { kind: 'data' } }],
    ['a transceiver request without the request', { type: 'transceiverRequest' }],
  ])('refuses %s', (_, raw) => expectRefused(() => parseSignalData(raw), 'bad-message'));

  // Issue 11, attack 1: an init nested 8,000 deep passed and overflowed JSON.stringify on relay.
  it("drops a transceiver request's init, however deeply it nests, so nothing a client nested is relayed", () => {
    // Written out as text: JSON.stringify itself cannot make it (that is the crash).
    const deep = '['.repeat(8000) + ']'.repeat(8000);
    for (const init of ['{"direction":"recvonly"}', '"sendrecv"', deep, `{"nested":${deep}}`]) {
      const raw = `{"type":"signal","to":"bob","data":{"type":"transceiverRequest","transceiverRequest":{"kind":"audio","init":${init}}}}`;
      const parsed = parseClientMessage(raw);
      expect(parsed).toEqual({ type: 'signal', to: 'bob', data: { type: 'transceiverRequest', transceiverRequest: { kind: 'audio' } } });
      expect(() => JSON.stringify(parsed)).not.toThrow();
    }
  });

  it('hands on only values it rebuilt: a deep value in any field is refused or dropped', () => {
    const deep = '{"a":'.repeat(8000) + '1' + '}'.repeat(8000);
    const raws = [
      `{"type":"signal","to":"bob","data":{"type":"candidate","candidate":{"candidate":"c","sdpMid":${deep}}}}`,
      `{"type":"signal","to":"bob","data":{"type":"offer","sdp":"v=0","extra":${deep}}}`,
      `{"type":"join","room":"team","name":"Ada","rejoin":{"participants":[${deep}]}}`,
      `{"type":"hello","version":1,"extra":${deep}}`,
    ];
    for (const raw of raws) {
      let parsed: unknown;
      try {
        parsed = parseClientMessage(raw);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
        continue;
      }
      expect(JSON.stringify(parsed).length).toBeLessThan(200);
    }
  });

  it('refuses a meeting password shorter than MIN_PASSWORD_LENGTH with invalid-password', () => {
    expectRefused(() => parseClientMessage({ type: 'set-password', password: 'x'.repeat(MIN_PASSWORD_LENGTH - 1) }), 'invalid-password');
    expect(parseClientMessage({ type: 'set-password', password: 'x'.repeat(MIN_PASSWORD_LENGTH) })).toEqual({ type: 'set-password', password: 'x'.repeat(MIN_PASSWORD_LENGTH) });
  });

  it('keeps the moderator told that a knocker\'s password was not checked', () => {
    expect(parseServerMessage({ type: 'knocking', participant: { id: 'p1', name: 'Ada', passwordUnchecked: true } })).toEqual({ type: 'knocking', participant: { id: 'p1', name: 'Ada', passwordUnchecked: true } });
  });
});

describe('parseServerMessage: what the browser accepts from the server', () => {
  const participants = [{ id: 'p1', name: 'Ada' }];

  it.each([
    ['welcome', { type: 'welcome', you: 'p2', resumeToken: 'tok3n', resumed: false }],
    ['joined', { type: 'joined', room: 'team', you: 'p2', participants, moderator: 'p1', iceServers: [{ urls: ['stun:example.org'] }], settings: { locked: false, lobby: true, hasPassword: true } }],
    ['participant-joined', { type: 'participant-joined', participant: { id: 'p3', name: 'Grace' } }],
    ['participant-joined audio-only', { type: 'participant-joined', participant: { id: 'p3', name: 'Grace', audioOnly: true } }],
    [
      'joined with an upload budget',
      { type: 'joined', room: 'team', you: 'p2', participants, moderator: 'p1', iceServers: [], settings: { locked: false, lobby: false, hasPassword: false }, uplinkBudgetKbps: 1500 },
    ],
    ['error room-full-video', { type: 'error', code: 'room-full-video', message: 'full for video' }],
    ['participant-left', { type: 'participant-left', id: 'p3' }],
    ['moderator-changed', { type: 'moderator-changed', moderator: 'p2' }],
    ['signal', { type: 'signal', from: 'p1', data: offer }],
    ['pong', { type: 'pong' }],
    ['ice-servers', { type: 'ice-servers', iceServers: [{ urls: ['turn:example.org:10000?transport=udp'], username: '1790000000:p2', credential: 'c' }] }],
    ['error', { type: 'error', code: 'room-full', message: 'the meeting is full' }],
  ])('accepts %s', (_, message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
  });

  it('keeps TURN credentials of an ice server and drops anything else', () => {
    const joined = parseServerMessage({
      type: 'joined',
      room: 'team',
      you: 'p2',
      participants: [],
      moderator: 'p2',
      iceServers: [{ urls: ['turn:example.org:10000'], username: 'u', credential: 'c', credentialType: 'password' }],
      settings: { locked: false, lobby: false, hasPassword: false },
    });
    expect(joined).toMatchObject({ iceServers: [{ urls: ['turn:example.org:10000'], username: 'u', credential: 'c' }] });
    expect(joined.type === 'joined' && joined.iceServers[0]).not.toHaveProperty('credentialType');
  });

  it('accepts every error code the protocol defines', () => {
    for (const code of ERROR_CODES) {
      expect(parseServerMessage({ type: 'error', code, message: 'm' })).toEqual({ type: 'error', code, message: 'm' });
    }
  });

  it.each([
    ['an unknown error code', { type: 'error', code: 'teapot', message: 'short and stout' }],
    ['an error without message', { type: 'error', code: 'room-full' }],
    ['an unknown type', { type: 'kick' }],
    ['a client-only type', { type: 'hello', version: 1 }],
    ['welcome with a bad id', { type: 'welcome', you: 'not an id', resumeToken: 'tok3n', resumed: false }],
    ['welcome without a resume token', { type: 'welcome', you: 'p2', resumed: false }],
    ['joined with participants not a list', { type: 'joined', room: 'team', you: 'p2', participants: {}, moderator: 'p1', iceServers: [] }],
    ['joined with a participant without name', { type: 'joined', room: 'team', you: 'p2', participants: [{ id: 'p1' }], moderator: 'p1', iceServers: [] }],
    ['joined with ice server urls as a string', { type: 'joined', room: 'team', you: 'p2', participants: [], moderator: 'p1', iceServers: [{ urls: 'stun:x' }] }],
    ['joined with a numeric ice server url', { type: 'joined', room: 'team', you: 'p2', participants: [], moderator: 'p1', iceServers: [{ urls: [1] }] }],
    ['participant-joined without participant', { type: 'participant-joined' }],
    ['participant-left with a spaced id', { type: 'participant-left', id: 'p 3' }],
    ['signal without from', { type: 'signal', data: offer }],
    ['signal with bad data', { type: 'signal', from: 'p1', data: { type: 'offer' } }],
    ['an array', [{ type: 'pong' }]],
    ['not JSON', '<html>502 Bad Gateway</html>'],
  ])('refuses %s with bad-message', (_, raw) => expectRefused(() => parseServerMessage(raw), 'bad-message'));
});
