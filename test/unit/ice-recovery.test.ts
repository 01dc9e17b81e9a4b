import { describe, expect, it } from 'vitest';
import { IceRecovery, type IceRecoveryOptions } from '../../client/call/connection/ice-recovery.js';

const options: IceRecoveryOptions = { restartAfterMs: 2000, retryAfterMs: [6000, 10_000], checkingGraceMs: 5000, maxAttempts: 3, relayFromAttempt: 2 };

function connected(): IceRecovery {
  const recovery = new IceRecovery(options);
  expect(recovery.update('checking', 0)).toBeNull();
  expect(recovery.update('connected', 100)).toBeNull();
  return recovery;
}

describe('ICE recovery', () => {
  it('leaves the first connection attempt alone: ICE is still trying its first candidates', () => {
    const recovery = new IceRecovery(options);
    expect(recovery.update('checking', 0)).toBeNull();
    expect(recovery.update('disconnected', 10_000)).toBeNull();
    expect(recovery.update('failed', 60_000)).toBeNull();
    expect(recovery.reconnecting).toBe(false);
    expect(recovery.recovering).toBe(false);
  });

  it('says reconnecting at once, but waits before restarting a disconnected connection (it may come back by itself)', () => {
    const recovery = connected();
    expect(recovery.update('disconnected', 1000)).toBeNull();
    expect(recovery.reconnecting).toBe(true);
    expect(recovery.update('disconnected', 2999)).toBeNull();
    expect(recovery.update('connected', 3500)).toBeNull();
    expect(recovery.reconnecting).toBe(false);
  });

  it('restarts after the wait, and at once when ICE failed', () => {
    const waited = connected();
    waited.update('disconnected', 1000);
    expect(waited.update('disconnected', 3000)).toBe('restart');
    expect(waited.update('checking', 3100)).toBeNull();

    const failed = connected();
    expect(failed.update('failed', 1000)).toBe('restart');
    expect(failed.recovering).toBe(true);
  });

  it('retries on its schedule, through the relay from the second attempt, then gives up once', () => {
    const recovery = connected();
    expect(recovery.update('failed', 0)).toBe('restart');
    expect(recovery.update('disconnected', 5999)).toBeNull();
    expect(recovery.update('disconnected', 6000)).toBe('restart-relay');
    expect(recovery.update('failed', 15_999)).toBeNull();
    expect(recovery.update('failed', 16_000)).toBe('restart-relay');
    expect(recovery.update('failed', 26_000)).toBe('give-up');
    expect(recovery.recovering).toBe(false);
    expect(recovery.update('failed', 60_000)).toBeNull();
  });

  it('starts the ladder afresh once the connection is healthy again', () => {
    const recovery = connected();
    recovery.update('failed', 0);
    recovery.update('failed', 6000);
    expect(recovery.update('completed', 7000)).toBeNull();
    expect(recovery.update('failed', 8000)).toBe('restart');
  });

  it('gives a restart whose candidates are still being checked more time before the next', () => {
    const recovery = connected();
    expect(recovery.update('failed', 0)).toBe('restart');
    expect(recovery.update('checking', 6000)).toBeNull();
    expect(recovery.update('checking', 10_999)).toBeNull();
    expect(recovery.update('checking', 11_000)).toBe('restart-relay');
  });

  it('takes a request from the other side only when no restart is under way, and does not restart again itself', () => {
    const recovery = connected();
    expect(recovery.update('disconnected', 1000)).toBeNull();
    expect(recovery.acceptsRequest(1500)).toBe(true);
    recovery.noteRestart(1500);
    expect(recovery.acceptsRequest(2500)).toBe(false);
    // Its own first restart (due at 3000) was the one made on request: the next waits the retry time.
    expect(recovery.update('disconnected', 3000)).toBeNull();
    expect(recovery.update('disconnected', 7499)).toBeNull();
    expect(recovery.update('disconnected', 7500)).toBe('restart-relay');
    expect(recovery.acceptsRequest(8000)).toBe(false);
  });
});
