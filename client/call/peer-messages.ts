// Messages participants send each other over their own encrypted data channel.

import { parseVerifyMessage, type PeerVerifyMessage } from './commit-reveal.js';

export type PeerMessage = { type: 'media'; audio: boolean; video: boolean } | PeerVerifyMessage;

export function parsePeerMessage(raw: string): PeerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const msg = value as Record<string, unknown>;
  if (msg.type === 'media' && typeof msg.audio === 'boolean' && typeof msg.video === 'boolean') {
    return { type: 'media', audio: msg.audio, video: msg.video };
  }
  return parseVerifyMessage(value);
}
