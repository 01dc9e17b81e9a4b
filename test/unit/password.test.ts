import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../signal/attempts.js';
import { hashPassword, verifyPassword } from '../../signal/password.js';

describe('meeting passwords', () => {
  it('are stored as a salted scrypt hash: never the password, different for the same password', async () => {
    const first = await hashPassword('Rathaus 2026!');
    const second = await hashPassword('Rathaus 2026!');
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(first).not.toContain('Rathaus');
    expect(second).not.toBe(first);
  });

  it('accept the right password only, the same however its letters were composed', async () => {
    const stored = await hashPassword('Café');
    expect(await verifyPassword('Café', stored)).toBe(true);
    expect(await verifyPassword('Cafe\u0301', stored)).toBe(true); // e + combining acute: the same word typed elsewhere
    expect(await verifyPassword('café', stored)).toBe(false);
    expect(await verifyPassword('Café ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('refuse anything against a stored value that is not one of our hashes', async () => {
    for (const stored of ['', 'plain', 'bcrypt$1$2$3$x$y', 'scrypt$16384$8$1$$']) expect(await verifyPassword('plain', stored)).toBe(false);
  });
});

describe('password guessing throttle', () => {
  const WINDOW = 10 * 60_000;

  it('refuses guesses past the limit until the oldest failure ages out, per key', () => {
    const failed = new SlidingWindow({ maxEvents: 3, windowMs: WINDOW });
    for (const at of [0, 1000, 2000]) failed.record('room:team', at);
    expect(failed.retryAfter('room:team', 2000)).toBe(WINDOW - 2000);
    expect(failed.retryAfter('room:other', 2000)).toBe(0);
    expect(failed.retryAfter('room:team', WINDOW - 1)).toBe(1);
    expect(failed.retryAfter('room:team', WINDOW)).toBe(0); // the first failure aged out: one more guess
    failed.record('room:team', WINDOW);
    expect(failed.retryAfter('room:team', WINDOW)).toBe(1000);
  });

  it('keeps at most the newest failures per key and forgets keys whose failures all aged out', () => {
    const failed = new SlidingWindow({ maxEvents: 3, windowMs: WINDOW });
    for (let at = 0; at < 100; at++) failed.record('10.0.0.1', at);
    expect(failed.retryAfter('10.0.0.1', 100)).toBe(97 + WINDOW - 100);
    failed.record('10.0.0.2', 50);
    expect(failed.size).toBe(2);
    failed.prune(WINDOW + 100);
    expect(failed.size).toBe(0);
  });
});
