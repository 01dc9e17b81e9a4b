import { describe, expect, it } from 'vitest';
import { moderatorKeys } from '../../signal/moderator-keys.js';

describe('moderator keys', () => {
  const keys = moderatorKeys('secret of this deployment');

  it('recognises its own keys for their meeting, also after a restart with the same secret', () => {
    const key = keys.issue('team-weekly');
    expect(keys.genuine('team-weekly', key)).toBe(true);
    expect(moderatorKeys('secret of this deployment').genuine('team-weekly', key)).toBe(true);
    expect(key).not.toBe(keys.issue('team-weekly'));
    expect(key.length).toBeLessThanOrEqual(64);
  });

  it('refuses keys of another meeting, another secret, tampered or malformed ones', () => {
    const key = keys.issue('team-weekly');
    const [nonce, mac] = [key.slice(0, 22), key.slice(22)];
    expect(keys.genuine('team-weekly-2', key)).toBe(false);
    expect(moderatorKeys('another secret').genuine('team-weekly', key)).toBe(false);
    const flipped = (mac.startsWith('A') ? 'B' : 'A') + mac.slice(1);
    // The last character's unused bits: the same bytes, spelt differently.
    const respelt = mac.slice(0, -1) + String.fromCharCode(mac.charCodeAt(mac.length - 1) ^ 1);
    for (const bad of [nonce + flipped, nonce + respelt, `x${nonce.slice(1)}${mac}`, nonce, `${key}x`, '', mac + nonce, `${nonce}${mac}AA`]) {
      expect(keys.genuine('team-weekly', bad), bad).toBe(false);
    }
  });
});
