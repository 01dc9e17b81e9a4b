// Which node takes a WebSocket for a meeting (issue 15), and the guard against a socket being
// turned to another meeting than HAProxy routed it for.

import { describe, expect, it } from 'vitest';
import { admit, meetingKey } from '../../signal/cluster/lease.js';
import { loadConfig } from '../../signal/config.js';
import { joinsAnotherMeeting } from '../../signal/ws-route.js';

describe('admitting a socket for a meeting', () => {
  it('lets it in when this node holds or just took the meeting', () => {
    expect(admit('node1', false, 'node1', true)).toEqual({ kind: 'owned', takenOver: false });
    expect(admit('node1', false, 'node1', false)).toEqual({ kind: 'owned', takenOver: true });
  });
  it('sends it on when another live node holds it, and refuses new meetings while draining', () => {
    expect(admit('node1', false, 'node2', false)).toEqual({ kind: 'moved', holder: 'node2' });
    expect(admit('node1', true, 'node1', true)).toEqual({ kind: 'draining' });
  });
  it('lets it in unchecked when Redis does not answer (the lease is best effort)', () => {
    expect(admit('node1', false, undefined, false)).toEqual({ kind: 'unchecked' });
  });
  it('keys Redis by a hash: no meeting name in Redis', () => {
    expect(meetingKey('lease', 'council')).toMatch(/^treff:lease:[0-9a-f]{64}$/);
    expect(meetingKey('lease', 'council')).not.toContain('council');
    expect(meetingKey('meeting', 'council').slice(-64)).toBe(meetingKey('lease', 'council').slice(-64));
  });
});

describe('a join on a socket routed for one meeting', () => {
  it('is for another meeting when its room differs once normalised, however the JSON spells it', () => {
    expect(joinsAnotherMeeting(JSON.stringify({ type: 'join', room: 'other', name: 'A' }), 'council')).toBe(true);
    expect(joinsAnotherMeeting('{"type":"\\u006aoin","room":"other","name":"A"}', 'council')).toBe(true);
    expect(joinsAnotherMeeting(JSON.stringify({ type: 'join', room: ' Council ', name: 'A' }), 'council')).toBe(false);
  });
  it('leaves everything else to the session (which answers bad messages itself)', () => {
    expect(joinsAnotherMeeting('not json', 'council')).toBe(false);
    expect(joinsAnotherMeeting(JSON.stringify({ type: 'signal', to: 'x', data: {} }), 'council')).toBe(false);
    expect(joinsAnotherMeeting(JSON.stringify({ type: 'join', room: 5 }), 'council')).toBe(false);
  });
});

describe('the cluster settings', () => {
  it('are off without a Redis URL, and need one for a node id', () => {
    expect(loadConfig({}, { staticDir: '' }).cluster).toBeUndefined();
    expect(() => loadConfig({ TREFF_NODE_ID: 'node1' }, { staticDir: '' })).toThrow(/TREFF_NODE_ID.*TREFF_REDIS_URL/);
  });
  it('take the node id and drain delay, and refuse odd ones', () => {
    expect(loadConfig({ TREFF_REDIS_URL: 'redis://127.0.0.1:6379', TREFF_NODE_ID: 'node-1' }, { staticDir: '' }).cluster).toEqual({ redisUrl: 'redis://127.0.0.1:6379', nodeId: 'node-1', drainDelaySeconds: 3 });
    expect(() => loadConfig({ TREFF_REDIS_URL: 'redis://x:1', TREFF_NODE_ID: 'node 1' }, { staticDir: '' })).toThrow(/TREFF_NODE_ID/);
    expect(() => loadConfig({ TREFF_REDIS_URL: 'http://x' }, { staticDir: '' })).toThrow(/TREFF_REDIS_URL/);
  });
});
