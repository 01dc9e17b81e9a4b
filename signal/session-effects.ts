// What the session core asks its shell to do, collected while it handles one event: send a
// message to a connection, close one, hash a password off the event loop. Effects name
// connections by ref, never by participant: one for a connection closed meanwhile is dropped.

import type { Logger } from './log.js';
import type { Counters } from './metrics.js';
import { CloseCode, type ErrorCode, type ServerMessage } from './protocol.js';
import type { Connection, ConnectionRef } from './session-connections.js';
import type { HashJob } from './session-door.js';

export type Effect =
  | { type: 'send'; to: ConnectionRef; message: ServerMessage }
  | { type: 'close'; to: ConnectionRef; code: CloseCode; reason: string }
  /** Hash `password` (or check it against `job.against`) off the event loop, then call `hashFinished`. */
  | { type: 'hash'; job: HashJob };

export class Effects {
  private effects: Effect[] = [];

  constructor(
    private readonly counters: Counters,
    private readonly logger: Logger,
  ) {}

  /** Runs the handling of one event and returns the effects it asked for. */
  collect(work: () => void): Effect[] {
    this.effects = [];
    work();
    const effects = this.effects;
    this.effects = [];
    return effects;
  }

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  send(connection: Connection, message: ServerMessage): void {
    this.effects.push({ type: 'send', to: connection.ref, message });
  }

  close(ref: ConnectionRef, code: CloseCode, reason: string): void {
    this.effects.push({ type: 'close', to: ref, code, reason });
  }

  /** A request the rules turn down: the client is told why, and the refusal is counted. */
  refuse(connection: Connection, code: ErrorCode, message: string): void {
    this.counters.inc('refusals', code);
    this.send(connection, { type: 'error', code, message });
  }

  /** Something no rule foresaw went wrong for this connection: it alone is closed, and it is counted. */
  fail(connection: Connection, stage: string, error: unknown): void {
    this.counters.inc('handlerFailures', stage);
    this.logger.error('message handling failed; closing that connection', { stage, error: String(error) });
    this.close(connection.ref, CloseCode.InternalError, 'internal error');
  }
}
