// The call's life with the signalling server, as decisions: what a welcome means (back on our
// seat, back on a restarted server, or a fresh start), what a closed socket means, how long to
// wait before trying again, and what to tell a server that forgot the meeting. Pure.

import { CloseCode, MAX_REJOIN_PARTICIPANTS, type ClientMessage, type ParticipantId, type RoomSettings } from '../../signal/protocol.js';
import type { CallState } from './state.js';

/**
 * - join: not in the meeting yet: join it.
 * - resumed: back within the grace period: same seat, same peers, nothing to redo.
 * - rejoin: the server restarted and took our token (same id): join again keeping every peer connection.
 * - fresh: the seat is gone with a new id (we were away too long): drop the call and join afresh.
 */
export type WelcomeStep = 'join' | 'resumed' | 'rejoin' | 'fresh';

export function afterWelcome(state: Pick<CallState, 'phase' | 'you'>, inCall: boolean, welcome: { you: ParticipantId; resumed?: boolean }): WelcomeStep {
  if (state.phase !== 'joined') return 'join';
  if (welcome.resumed) return 'resumed';
  if (welcome.you === state.you && inCall) return 'rejoin';
  return 'fresh';
}

/**
 * - fail: the attempt to join ends (the server was never reached, or speaks another version).
 * - offline: the call goes on without the server, which told us not to come back.
 * - reconnect: the call goes on; try again after `delayMs`.
 */
export type CloseStep = { kind: 'ignore' } | { kind: 'fail'; error: 'version-mismatch' | 'unreachable' } | { kind: 'offline' } | { kind: 'reconnect'; delayMs: number; attempts: number };

const BACKOFF = { firstMs: 500, maxMs: 5_000 };

/** `attempts`: reconnects since the last welcome. */
export function afterClose(phase: CallState['phase'], code: number, attempts: number, random: number): CloseStep {
  if (phase === 'joining' || phase === 'waiting') return { kind: 'fail', error: code === CloseCode.VersionMismatch ? 'version-mismatch' : 'unreachable' };
  if (phase !== 'joined') return { kind: 'ignore' };
  if (code === CloseCode.VersionMismatch || code === CloseCode.RateLimited) return { kind: 'offline' };
  // Another node holds the meeting (or this one drains): the load balancer sends us there, now.
  if (code === CloseCode.Moved) return { kind: 'reconnect', delayMs: 0, attempts: 0 };
  // The server is shutting down on purpose (a restart): come back soon, from the first step.
  const step = code === CloseCode.GoingAway ? 0 : attempts;
  return { kind: 'reconnect', delayMs: reconnectDelayMs(step, random), attempts: step + 1 };
}

/**
 * Jittered exponential backoff, 0.5 s doubling to at most 5 s (then 2.5–5 s apart, so a restarted
 * server is not stampeded and a call is back in the meeting within ~5 s of it).
 */
export function reconnectDelayMs(attempts: number, random: number): number {
  return Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** Math.min(attempts, 10)) * (0.5 + random / 2);
}

export interface JoinRequest {
  room: string;
  name: string;
  password?: string | undefined;
  audioOnly?: boolean | undefined;
  moderatorKey?: string | undefined;
  /** Back on a restarted server, still connected to these participants. */
  rejoinWith?: readonly ParticipantId[];
}

export function joinMessage({ room, name, password, audioOnly, moderatorKey, rejoinWith }: JoinRequest): Extract<ClientMessage, { type: 'join' }> {
  return {
    type: 'join',
    room,
    name,
    ...(password ? { password } : {}),
    ...(moderatorKey ? { moderatorKey } : {}),
    ...(rejoinWith ? { rejoin: { participants: rejoinWith.slice(0, MAX_REJOIN_PARTICIPANTS) } } : {}),
    ...(audioOnly ? { audioOnly: true as const } : {}),
  };
}

/** The server forgot the meeting's rules; only the moderator's browser brings them back. */
export function rulesToRestore(before: RoomSettings, now: RoomSettings, password: string | null | undefined): ClientMessage[] {
  const messages: ClientMessage[] = [];
  if (before.hasPassword && !now.hasPassword && password) messages.push({ type: 'set-password', password });
  if (before.locked && !now.locked) messages.push({ type: 'lock', locked: true });
  if (before.lobby && !now.lobby) messages.push({ type: 'lobby', enabled: true });
  return messages;
}
