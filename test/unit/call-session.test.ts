// The browser's decisions about its connection to the server (client/call/session.ts) and the
// address it connects to.

import { describe, expect, it } from 'vitest';
import { CloseCode, MAX_REJOIN_PARTICIPANTS } from '../../signal/protocol.js';
import { meetingUrl, signallingUrl } from '../../client/call/connection/signalling.js';
import { afterClose, afterWelcome, joinMessage, reconnectDelayMs, rulesToRestore } from '../../client/call/session.js';

describe('what a welcome means', () => {
  const inMeeting = { phase: 'joined' as const, you: 'anna' };

  it('joins when not in the meeting yet', () => {
    expect(afterWelcome({ phase: 'joining', you: null }, false, { you: 'anna' })).toBe('join');
  });

  it('is back on its seat when the server says resumed', () => {
    expect(afterWelcome(inMeeting, true, { you: 'anna', resumed: true })).toBe('resumed');
  });

  it('rejoins with its peers when a restarted server gave back the same id', () => {
    expect(afterWelcome(inMeeting, true, { you: 'anna', resumed: false })).toBe('rejoin');
  });

  it('starts afresh under a new id, or without a call to keep', () => {
    expect(afterWelcome(inMeeting, true, { you: 'anna-2', resumed: false })).toBe('fresh');
    expect(afterWelcome(inMeeting, false, { you: 'anna', resumed: false })).toBe('fresh');
  });
});

describe('what a closed connection means', () => {
  it('ends an attempt to join, saying why', () => {
    expect(afterClose('joining', CloseCode.VersionMismatch, 0, 0)).toEqual({ kind: 'fail', error: 'version-mismatch' });
    expect(afterClose('waiting', 1006, 0, 0)).toEqual({ kind: 'fail', error: 'unreachable' });
  });

  it('keeps a running call and does not come back after a version mismatch or a flood', () => {
    expect(afterClose('joined', CloseCode.VersionMismatch, 0, 0).kind).toBe('offline');
    expect(afterClose('joined', CloseCode.RateLimited, 3, 0).kind).toBe('offline');
  });

  it('backs off on a dropped connection, from the first step after a planned restart', () => {
    expect(afterClose('joined', 1006, 3, 1)).toEqual({ kind: 'reconnect', delayMs: 4000, attempts: 4 });
    expect(afterClose('joined', CloseCode.GoingAway, 3, 1)).toEqual({ kind: 'reconnect', delayMs: 500, attempts: 1 });
  });

  it('reconnects at once when moved to another node, whatever came before', () => {
    expect(afterClose('joined', CloseCode.Moved, 7, 1)).toEqual({ kind: 'reconnect', delayMs: 0, attempts: 0 });
  });

  it('ignores the end of a call already over', () => {
    expect(afterClose('left', 1006, 0, 0)).toEqual({ kind: 'ignore' });
  });

  it('jitters between half and all of 0.5 s doubling to 5 s', () => {
    expect([0, 1, 2, 3, 4, 20].map((attempts) => reconnectDelayMs(attempts, 1))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(reconnectDelayMs(0, 0)).toBe(250);
  });
});

describe('the join message', () => {
  it('carries only what applies', () => {
    expect(joinMessage({ room: 'r', name: 'Anna' })).toEqual({ type: 'join', room: 'r', name: 'Anna' });
    expect(joinMessage({ room: 'r', name: 'Anna', password: 'pw', audioOnly: true, moderatorKey: 'k', rejoinWith: ['ben'] })).toEqual({
      type: 'join',
      room: 'r',
      name: 'Anna',
      password: 'pw',
      moderatorKey: 'k',
      rejoin: { participants: ['ben'] },
      audioOnly: true,
    });
  });

  it('names at most as many peers as the server accepts', () => {
    const many = Array.from({ length: MAX_REJOIN_PARTICIPANTS + 5 }, (_, i) => `p${i}`);
    expect(joinMessage({ room: 'r', name: 'Anna', rejoinWith: many }).rejoin?.participants).toHaveLength(MAX_REJOIN_PARTICIPANTS);
  });
});

describe('rules a restarted server forgot', () => {
  it('brings back what was on and is now off; nothing else', () => {
    const before = { locked: true, lobby: true, hasPassword: true };
    expect(rulesToRestore(before, { locked: false, lobby: false, hasPassword: false }, 'pw')).toEqual([
      { type: 'set-password', password: 'pw' },
      { type: 'lock', locked: true },
      { type: 'lobby', enabled: true },
    ]);
    expect(rulesToRestore(before, before, 'pw')).toEqual([]);
    // A password this browser never knew cannot be brought back.
    expect(rulesToRestore(before, { locked: true, lobby: true, hasPassword: false }, null)).toEqual([]);
  });
});

describe('the signalling address', () => {
  it('carries the meeting, so a load balancer can send it to the node that holds it', () => {
    const endpoint = signallingUrl({ protocol: 'https:', host: 'meet.example.org' });
    expect(endpoint).toBe('wss://meet.example.org/ws');
    expect(meetingUrl(endpoint, 'team weekly/ü&x=1')).toBe('wss://meet.example.org/ws?room=team%20weekly%2F%C3%BC%26x%3D1');
    expect(meetingUrl(signallingUrl({ protocol: 'http:', host: 'localhost:8443' }), 'a')).toBe('ws://localhost:8443/ws?room=a');
  });
});
