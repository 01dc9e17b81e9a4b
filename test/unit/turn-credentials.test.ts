import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mintTurnCredentials, turnIceServers } from '../../signal/turn-credentials.js';

/** The reference: openssl, not node:crypto, so a shared mistake cannot hide. */
function opensslCredential(secret: string, username: string): string {
  return execFileSync('sh', ['-c', 'openssl dgst -sha1 -hmac "$SECRET" -binary | base64'], { input: username, env: { ...process.env, SECRET: secret } })
    .toString()
    .trim();
}

describe('mintTurnCredentials: a participant who joined gets short-lived relay credentials', () => {
  const nowMs = Date.UTC(2026, 0, 15, 9, 30, 0, 750);

  it('signs "expiry:participant" with the shared secret exactly as coturn checks it', () => {
    for (const [secret, participant] of [
      ['a-shared-secret-of-some-length', 'p-3f9a'],
      ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'Zx_9-long-participant-id'],
    ] as const) {
      const credentials = mintTurnCredentials(secret, participant, 3600, nowMs);
      expect(credentials.credential).toBe(opensslCredential(secret, credentials.username));
    }
  });

  it('expires ttl seconds from now, in whole unix seconds', () => {
    const credentials = mintTurnCredentials('a-shared-secret-of-some-length', 'p-1', 14_400, nowMs);
    const nowSeconds = Math.floor(nowMs / 1000);
    expect(credentials.username).toBe(`${nowSeconds + 14_400}:p-1`);
    expect(credentials.expiresAt).toBe((nowSeconds + 14_400) * 1000);
  });

  it('gives different participants different credentials', () => {
    const a = mintTurnCredentials('a-shared-secret-of-some-length', 'p-a', 60, nowMs);
    const b = mintTurnCredentials('a-shared-secret-of-some-length', 'p-b', 60, nowMs);
    expect(a.credential).not.toBe(b.credential);
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
