import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mintTurnCredentials, relayUser, turnIceServers } from '../../signal/turn-credentials.js';

/** The reference: openssl, not node:crypto, so a shared mistake cannot hide. */
function opensslCredential(secret: string, username: string): string {
  return execFileSync('sh', ['-c', 'openssl dgst -sha1 -hmac "$SECRET" -binary | base64'], { input: username, env: { ...process.env, SECRET: secret } })
    .toString()
    .trim();
}

describe('mintTurnCredentials: relay credentials bound to the address a participant connects from', () => {
  const nowMs = Date.UTC(2026, 0, 15, 9, 30, 0, 750);
  const secret = 'a-shared-secret-of-some-length';
  /** What coturn 4.6.1 counts user-quota by: the part after the all-digit expiry and ':'. */
  const quotaKey = (username: string) => username.replace(/^\d+:/, '');

  it('signs "expiry:user" with the shared secret exactly as coturn checks it', () => {
    for (const [key, address] of [
      [secret, '203.0.113.7'],
      ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '2001:db8:1:2::7'],
    ] as const) {
      const credentials = mintTurnCredentials(key, address, 3600, nowMs);
      expect(credentials.credential).toBe(opensslCredential(key, credentials.username));
    }
  });

  it('expires ttl seconds from now, in whole unix seconds', () => {
    const credentials = mintTurnCredentials(secret, '203.0.113.7', 14_400, nowMs);
    const nowSeconds = Math.floor(nowMs / 1000);
    expect(credentials.username).toBe(`${nowSeconds + 14_400}:${relayUser(secret, '203.0.113.7')}`);
    expect(credentials.expiresAt).toBe((nowSeconds + 14_400) * 1000);
  });

  it('gives one IPv4 address one quota, whatever the time or lifetime', () => {
    const a = mintTurnCredentials(secret, '203.0.113.7', 600, nowMs);
    const later = mintTurnCredentials(secret, '203.0.113.7', 3600, nowMs + 5_000_000);
    expect(a.username).not.toBe(later.username);
    expect(quotaKey(a.username)).toBe(quotaKey(later.username));
    expect(quotaKey(mintTurnCredentials(secret, '::ffff:203.0.113.7', 600, nowMs).username)).toBe(quotaKey(a.username));
    expect(quotaKey(mintTurnCredentials(secret, '203.0.113.8', 600, nowMs).username)).not.toBe(quotaKey(a.username));
  });

  it('gives one IPv6 /64 one quota, in any spelling, and the next /64 another', () => {
    const key = (address: string) => quotaKey(mintTurnCredentials(secret, address, 600, nowMs).username);
    const block = key('2001:db8:1:2::7');
    for (const same of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:1', '[2001:db8:1:2::99]']) expect(key(same), same).toBe(block);
    expect(key('2001:db8:1:3::7')).not.toBe(block);
  });

  it('reveals nothing about the address, and someone without the secret cannot name another address\'s quota', () => {
    const user = relayUser(secret, '203.0.113.7');
    expect(user).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(user).not.toMatch(/203|113/);
    expect(relayUser('another-secret-of-some-length', '203.0.113.7')).not.toBe(user);
    // No ':' in the user part: coturn takes everything after the expiry as the user.
    expect(quotaKey(mintTurnCredentials(secret, '2001:db8::1', 600, nowMs).username)).not.toContain(':');
  });
});

describe('turnIceServers: the ICE servers a participant uses, all on Treff\'s own relay', () => {
  const credentials = { username: '1768470000:p-1', credential: 'c2lnbmVk' };

  it('offers STUN and TURN over UDP and TCP on the relay port', () => {
    expect(turnIceServers({ host: 'meet.example.org', port: 10000, credentials })).toEqual([
      { urls: ['stun:meet.example.org:10000'] },
      { urls: ['turn:meet.example.org:10000?transport=udp', 'turn:meet.example.org:10000?transport=tcp'], ...credentials },
    ]);
  });

  it('adds TURN over TLS when a TLS port is given', () => {
    const [, relay] = turnIceServers({ host: 'meet.example.org', port: 10000, tlsPort: 443, credentials });
    expect(relay?.urls).toContain('turns:meet.example.org:443?transport=tcp');
  });

  it('brackets IPv6 hosts', () => {
    const [stun, relay] = turnIceServers({ host: '2001:db8::7', port: 10000, tlsPort: 443, credentials });
    expect(stun?.urls).toEqual(['stun:[2001:db8::7]:10000']);
    expect(relay?.urls).toEqual(['turn:[2001:db8::7]:10000?transport=udp', 'turn:[2001:db8::7]:10000?transport=tcp', 'turns:[2001:db8::7]:443?transport=tcp']);
    expect(turnIceServers({ host: '[2001:db8::7]', port: 10000, credentials })[0]?.urls).toEqual(['stun:[2001:db8::7]:10000']);
  });

  it('puts no credentials on the STUN entry', () => {
    expect(turnIceServers({ host: '192.0.2.1', port: 10000, credentials })[0]).toEqual({ urls: ['stun:192.0.2.1:10000'] });
  });
});
