import { describe, expect, it } from 'vitest';
import { credentialsExpireAt, MIN_REFRESH_MS, refreshDelayMs } from '../../client/call/connection/credential-refresh.js';

const relay = (username: string) => ({ urls: ['turn:meet.example.org:10000?transport=udp'], username, credential: 'c' });
const stun = { urls: ['stun:meet.example.org:10000'] };
const NOW = 1_790_000_000_000; // unix ms

describe('relay credential refresh', () => {
  it('reads the expiry from the REST-style username, the earliest of several', () => {
    expect(credentialsExpireAt([stun, relay('1790014400:pA'), relay('1790003600:pA')])).toBe(1_790_003_600_000);
  });

  it('has nothing to refresh without relay credentials, or with a username that names no expiry', () => {
    expect(credentialsExpireAt([stun])).toBeNull();
    expect(credentialsExpireAt([relay('alice')])).toBeNull();
    expect(refreshDelayMs([], NOW)).toBeNull();
  });

  it('asks again once three quarters of the remaining lifetime are gone: 3 h into a 4 h credential', () => {
    expect(refreshDelayMs([relay('1790014400:pA')], NOW)).toBe(3 * 3600 * 1000);
  });

  it('never asks more often than every 10 s, even for credentials about to expire or already expired', () => {
    expect(refreshDelayMs([relay('1790000005:pA')], NOW)).toBe(MIN_REFRESH_MS);
    expect(refreshDelayMs([relay('1789990000:pA')], NOW)).toBe(MIN_REFRESH_MS);
  });
});
