import { describe, expect, it } from 'vitest';
import { IceRecovery, type IceRecoveryOptions } from '../../client/call/ice-recovery.js';

const options: IceRecoveryOptions = { restartAfterMs: 2000, retryAfterMs: [6000, 10_000], maxAttempts: 3, relayFromAttempt: 2 };

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
    expect(recovery.update('checking', 5999)).toBeNull();
    expect(recovery.update('checking', 6000)).toBe('restart-relay');
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

  it('takes a request from the other side only when no restart of its own is under way', () => {
    const recovery = connected();
    expect(recovery.acceptsRequest(0)).toBe(true);
    recovery.noteRestart(0);
    expect(recovery.acceptsRequest(1000)).toBe(false);
    expect(recovery.acceptsRequest(2000)).toBe(true);
    recovery.update('failed', 3000);
    expect(recovery.acceptsRequest(4000)).toBe(false);
  });
});
