// Messages participants send each other over their own encrypted data channel. Everything that
// arrives is checked here; whom a message is from is decided by the connection it came on, so no
// message carries a sender name.

import { parseSignalData, type SignalData } from '../../../signal/protocol.js';

/** Longest chat message, in characters (code points). */
export const MAX_CHAT_LENGTH = 2000;

export type PeerMessage =
  | { type: 'media'; audio: boolean; video: boolean }
  | { type: 'chat'; text: string }
  | { type: 'screen'; sharing: boolean }
  | { type: 'hand'; raised: boolean }
  /** How large (device pixels) the receiver shows the sender's tile: a thumbnail gets a thumbnail's bitrate. */
  | { type: 'view'; width: number; height: number }
  /** Whether the sender's streams reach the receiver: false only for one the sender sends that does not arrive. */
  | { type: 'reception'; audio: boolean; video: boolean }
  /** Renegotiation of this very connection (a screen track, an ICE restart), without the server. */
  | { type: 'signal'; data: SignalData }
  | PeerVerifyMessage;

/** The safety-number exchange (commit-then-reveal, see safety/commit-reveal.ts). */
export type PeerVerifyMessage =
  | { type: 'verify-commit'; commitment: string /* 64 lower-case hex digits: SHA-256 */ }
  | { type: 'verify-reveal'; nonce: string /* 64 lower-case hex digits: 32 bytes */ };

const HEX_256 = /^[0-9a-f]{64}$/;
const MAX_PEER_MESSAGE_LENGTH = 64 * 1024;

export function parsePeerMessage(raw: string): PeerMessage | null {
  // Cheap guard before parsing: a session description (at most 48 KiB) or a full-length chat message is well under this.
  if (raw.length > MAX_PEER_MESSAGE_LENGTH) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const msg = value as Record<string, unknown>;
  switch (msg.type) {
    case 'media':
      return typeof msg.audio === 'boolean' && typeof msg.video === 'boolean' ? { type: 'media', audio: msg.audio, video: msg.video } : null;
    case 'chat': {
      const text = typeof msg.text === 'string' ? normalizeChatText(msg.text) : null;
      return text === null ? null : { type: 'chat', text };
    }
    case 'screen':
      return typeof msg.sharing === 'boolean' ? { type: 'screen', sharing: msg.sharing } : null;
    case 'hand':
      return typeof msg.raised === 'boolean' ? { type: 'hand', raised: msg.raised } : null;
    case 'view':
      return isPixels(msg.width) && isPixels(msg.height) ? { type: 'view', width: msg.width, height: msg.height } : null;
    case 'reception':
      return typeof msg.audio === 'boolean' && typeof msg.video === 'boolean' ? { type: 'reception', audio: msg.audio, video: msg.video } : null;
    case 'signal':
      try {
        return { type: 'signal', data: parseSignalData(msg.data) };
      } catch {
        return null;
      }
  }
  return parseVerifyMessage(value);
}

/** Validates a decoded JSON value from the data channel; null for anything that is not exactly a verify message. */
export function parseVerifyMessage(raw: unknown): PeerVerifyMessage | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const msg = raw as Record<string, unknown>;
  const keys = Object.keys(msg).length;
  if (msg.type === 'verify-commit' && keys === 2 && typeof msg.commitment === 'string' && HEX_256.test(msg.commitment)) {
    return { type: 'verify-commit', commitment: msg.commitment };
  }
  if (msg.type === 'verify-reveal' && keys === 2 && typeof msg.nonce === 'string' && HEX_256.test(msg.nonce)) {
    return { type: 'verify-reveal', nonce: msg.nonce };
  }
  return null;
}

function isPixels(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 16384;
}

/**
 * A chat text as it may be sent and shown: trimmed, at most MAX_CHAT_LENGTH characters, line breaks
 * and tabs allowed, other control and bidi-override characters refused (they can disguise text).
 * Null when nothing is left or the text is not acceptable.
 */
export function normalizeChatText(input: string): string | null {
  const text = input.normalize('NFC').replace(/\r\n?/g, '\n').trim();
  if (text.length === 0 || [...text].length > MAX_CHAT_LENGTH) return null;
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u.test(text)) return null;
  return text;
}
