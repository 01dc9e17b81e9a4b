// Several relays sharing one secret (issue 15): each browser is given at least two, those of its
// node's region first, with one set of credentials that every relay accepts.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../signal/config.js';
import { startRelay } from '../../turn/relay.js';
import { relaysFor } from '../../turn/relays.js';

const SECRET = 'a-secret-shared-by-all-relays-0123';
const listed = [
  { host: 'turn-south.example.org', port: 3478, region: 'south' },
  { host: 'turn-north-1.example.org', port: 3478, region: 'north' },
  { host: 'turn-north-2.example.org', port: 3479, region: 'north' },
];

describe('the relays a browser gets', () => {
  it('are the own relay and those of the region, at least two', () => {
    const own = { host: 'meet.example.org', port: 10000 };
    expect(relaysFor('north', listed, own).map((r) => r.host)).toEqual(['meet.example.org', 'turn-north-1.example.org', 'turn-north-2.example.org']);
    expect(relaysFor('south', listed, own).map((r) => r.host)).toEqual(['meet.example.org', 'turn-south.example.org']);
    // A region without relays of its own still gets a second one.
    expect(relaysFor('west', listed, own).map((r) => r.host)).toEqual(['meet.example.org', 'turn-south.example.org']);
    expect(relaysFor(undefined, [], own)).toEqual([own]);
  });

  it('are read from host:port@region entries, and odd entries are refused', () => {
    const config = loadConfig({ TREFF_TURN_RELAYS: 'turn-north-1.example.org:3478@north, [2001:db8::7]:3478', TREFF_REGION: 'north' }, { staticDir: '' });
    expect(config.relay.relays).toEqual([
      { host: 'turn-north-1.example.org', port: 3478, region: 'north' },
      { host: '2001:db8::7', port: 3478, region: undefined },
    ]);
    expect(config.relay.region).toBe('north');
    expect(() => loadConfig({ TREFF_TURN_RELAYS: 'turn.example.org' }, { staticDir: '' })).toThrow(/TREFF_TURN_RELAYS/);
    expect(() => loadConfig({ TREFF_TURN_RELAYS: 'turn.example.org:99999' }, { staticDir: '' })).toThrow(/TREFF_TURN_RELAYS/);
  });

  it('come with one set of credentials, one STUN server and a TURN entry per relay', async () => {
    const config = loadConfig(
      { TREFF_TURN: 'external', TREFF_TURN_HOST: 'turn-north-1.example.org', TREFF_TURN_PORT: '3478', TREFF_TURN_SECRET: SECRET, TREFF_TURN_RELAYS: 'turn-north-2.example.org:3479@north,turn-south.example.org:3478@south', TREFF_REGION: 'north' },
      { staticDir: '' },
    );
    const relay = await startRelay(config.relay, () => undefined);
    const servers = relay.iceServersFor('participant', 'meet.example.org', '203.0.113.7');
    expect(servers.filter((s) => s.urls.some((u) => u.startsWith('stun:')))).toHaveLength(1);
    const turn = servers.filter((s) => s.username);
    expect(turn.map((s) => s.urls[0])).toEqual(['turn:turn-north-1.example.org:3478?transport=udp', 'turn:turn-north-2.example.org:3479?transport=udp']);
    expect(new Set(turn.map((s) => `${s.username}/${s.credential}`)).size).toBe(1);
    await relay.stop();
  });
});
