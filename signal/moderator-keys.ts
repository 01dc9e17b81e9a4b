// Moderator keys a restarted server still recognises. A key is a random part and its HMAC, bound
// to the meeting's name, under a secret kept in the data directory: after a restart (all state
// lost) the moderator's browser shows its key and the server can tell it from a made-up one.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ModeratorKeys {
  issue(room: string): string;
  /** Whether this server (or an earlier run with the same secret) issued `key` for `room`. */
  genuine(room: string, key: string): boolean;
}

/** 16 bytes in base64url: the random part, then the tag (the key looks like any other id). */
const PART_LENGTH = 22;

export function moderatorKeys(secret: string): ModeratorKeys {
  const tag = (room: string, nonce: string) => createHmac('sha256', secret).update(`treff moderator key\0${room}\0${nonce}`).digest().subarray(0, 16);
  return {
    issue(room) {
      const nonce = randomBytes(16).toString('base64url');
      return nonce + tag(room, nonce).toString('base64url');
    },
    genuine(room, key) {
      if (key.length !== 2 * PART_LENGTH) return false;
      const [nonce, mac] = [key.slice(0, PART_LENGTH), key.slice(PART_LENGTH)];
      // Compared as text: decoding first would accept other spellings of the same bytes.
      const shown = Buffer.from(mac);
      const expected = Buffer.from(tag(room, nonce).toString('base64url'));
      return shown.length === expected.length && timingSafeEqual(shown, expected);
    },
  };
}
