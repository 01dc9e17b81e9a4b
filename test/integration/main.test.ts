// The command an operator runs: `tsx signal/main.ts`, as `npm start` does after building.

import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMain, waitForOutput, type MainProcess } from '../helpers/processes.js';

describe('the server command', () => {
  let started: MainProcess | undefined;

  afterEach(() => {
    started?.child.kill('SIGKILL');
    started = undefined;
  });

  it('prints the address to open, and on SIGTERM tells clients it is going away and exits cleanly', async () => {
    started = startMain({});
    const [, port] = await waitForOutput(started, /open http:\/\/127\.0\.0\.1:(\d+)\//);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.text()).toBe('ok');
    // The SHA-256 of the app code it serves, for an auditor to compare with a build from source.
    const { script, sha256 } = (await (await fetch(`http://127.0.0.1:${port}/build-info.json`)).json()) as { script: string; sha256: string };
    const served = Buffer.from(await (await fetch(`http://127.0.0.1:${port}${script}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
    expect(createHash('sha256').update(served).digest('hex')).toBe(sha256);
    expect(started.output()).toContain(`has SHA-256 ${sha256}`);

    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

    const signalled = Date.now();
    started.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await started.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
  });

  it('refuses to start on the JavaScript fallback of uWebSockets.js, saying why', async () => {
    started = startMain({ UWS_USE_FALLBACK: '1' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/Treff cannot start: .*native uWebSockets\.js/);
  });

  it('names the setting when the configuration is invalid', async () => {
    started = startMain({ TREFF_ROOM_CAPACITY: 'lots' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('Invalid setting TREFF_ROOM_CAPACITY');
  });
});
