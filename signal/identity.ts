// Resume tokens and the participant ids derived from them (see the note on ParticipantId in
// protocol.ts): an id is the first 16 base64url characters (96 bits) of SHA-256(token), so
// showing the token proves the id, even to a restarted server that never issued it.

import { createHash, randomBytes } from 'node:crypto';
import { MIN_RESUME_TOKEN_LENGTH, type ParticipantId } from './protocol.js';

/** 144 random bits. */
export function newResumeToken(): string {
  return randomBytes(18).toString('base64url');
}

export function idForToken(token: string): ParticipantId {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

/** Whether a token a client shows (one we may never have issued) is long enough to adopt. */
export function adoptable(token: string): boolean {
  return token.length >= MIN_RESUME_TOKEN_LENGTH && /^[A-Za-z0-9_-]+$/.test(token);
}
