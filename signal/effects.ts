// Runs a Session event and performs the effects it returns: writes, closes and password hashes.
// Nothing a client sends can end the process: a failure while handling one event closes only that
// connection (1011) and is counted (treff_handler_failures_total).

import type { WebSocket } from 'uWebSockets.js';
import type { Logger } from './log.js';
import type { Counters } from './metrics.js';
import { hashPassword, verifyPassword } from './password.js';
import { CloseCode } from './protocol.js';
import type { ConnectionRef, Effect, Session } from './session.js';
import type { HashJob, HashOutcome } from './session-door.js';
import type { SocketData } from './ws-route.js';

/** uWS `send` result: the message was dropped because the socket is over its backpressure limit (and is being closed). */
const DROPPED = 2;

export type Run = (origin: ConnectionRef | undefined, stage: string, event: () => Effect[]) => void;

export interface EffectRunnerOptions {
  session: () => Session;
  /** Open sockets by connection: only these are ever written to (a closed uWS socket must never be touched). */
  live: Map<ConnectionRef, WebSocket<SocketData>>;
  counters: Counters;
  logger: Logger;
  /** In a cluster: resolves once urgent meeting-record writes are in Redis (undefined when none is in flight). */
  settled?: () => Promise<void> | undefined;
}

export function effectRunner({ session, live, counters, logger, settled = () => undefined }: EffectRunnerOptions): Run {
  /** Effects held back until urgent writes are stored; later effects queue behind, in order. */
  let held: Promise<void> | undefined;

  /** Runs one event; whatever goes wrong, only `origin` (the connection the event came from) is closed. */
  function run(origin: ConnectionRef | undefined, stage: string, event: () => Effect[]): void {
    let effects: Effect[];
    try {
      effects = event();
    } catch (error) {
      return failed(origin, stage, error);
    }
    const urgent = settled();
    if (!urgent && !held) return performAll(origin, effects);
    const next: Promise<void> = Promise.all([held, urgent]).then(() => {
      if (held === next) held = undefined;
      performAll(origin, effects);
    });
    held = next;
  }

  function performAll(origin: ConnectionRef | undefined, effects: Effect[]): void {
    for (const effect of effects) {
      try {
        perform(effect);
      } catch (error) {
        failed(origin ?? (effect.type === 'hash' ? effect.job.connection : effect.to), 'delivery', error);
      }
    }
  }

  function perform(effect: Effect): void {
    switch (effect.type) {
      case 'send': {
        const ws = live.get(effect.to);
        if (ws && ws.send(JSON.stringify(effect.message)) === DROPPED) ws.getUserData().droppedForBackpressure = true;
        return;
      }
      case 'close': {
        const ws = live.get(effect.to);
        live.delete(effect.to); // nothing more is written to it
        ws?.end(effect.code, effect.reason);
        return;
      }
      case 'hash':
        return void hash(effect.job).then((outcome) => run(effect.job.connection, 'password', () => session().hashFinished(effect.job, outcome, Date.now())));
      default:
        return unhandledEffect(effect);
    }
  }

  function failed(ref: ConnectionRef | undefined, stage: string, error: unknown): void {
    counters.inc('handlerFailures', stage);
    logger.error('event handling failed; closing that connection', { stage, error: String(error) });
    const ws = ref === undefined ? undefined : live.get(ref);
    if (!ws || ref === undefined) return;
    live.delete(ref);
    try {
      ws.end(CloseCode.InternalError, 'internal error');
    } catch {
      // Already closing: nothing more to do for it.
    }
  }

  return run;
}

function unhandledEffect(effect: never): never {
  throw new Error(`unknown effect ${JSON.stringify(effect)}`);
}

/** scrypt off the event loop; a failure is an outcome too, so the session decides what it means. */
async function hash(job: HashJob): Promise<HashOutcome> {
  try {
    return job.kind === 'check' ? { matches: await verifyPassword(job.password, job.against) } : { hash: await hashPassword(job.password) };
  } catch (error) {
    return { error: String(error) };
  }
}
