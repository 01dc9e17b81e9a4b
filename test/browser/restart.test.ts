// The signalling server process is killed (SIGKILL: no goodbye, all state lost) for 10 s and
// started again on the same port. The call never stops: video keeps being decoded on every page,
// the pages rebuild the meeting on the new process without opening new peer connections, and a
// newcomer then meets everyone. Finally a browser that crashes disappears from the others' views.
// Both processes share one data directory, as a real server's restarts do: the meeting comes back
// from its stored record (server-restart.test.ts covers a server that lost even that).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, recordPeerConnections } from '../helpers/browser.js';
import { framesDecoded as frames, joinAs, remoteNames, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { freePort, startMain, waitForOutput, type MainProcess } from '../helpers/processes.js';

const LOST = '::-p-text(Lost the connection to the server)';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the signalling server killed and restarted', () => {
  let port: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'treff-restart-data-'));
  let server: MainProcess;
  const browsers: Browser[] = [];
  const start = async () => {
    server = startMain({ TREFF_PORT: String(port), TREFF_SEAT_GRACE: '20', TREFF_STATIC_DIR: 'dist/client', TREFF_DATA_DIR: dataDir });
    await waitForOutput(server, /signalling server listening/);
  };
  async function person(browser: Browser, name: string): Promise<Page> {
    const page = await (await browser.createBrowserContext()).newPage();
    await recordPeerConnections(page);
    await startMeetingFromHome(page, `http://127.0.0.1:${port}`, 'restart-kill');
    await joinAs(page, name);
    return page;
  }

  beforeAll(async () => {
    port = await freePort();
    await start();
    browsers.push(await launchBrowser('chromium'));
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps video playing through 10 s without a server, rebuilds the meeting, and drops a crashed browser', { timeout: 180_000 }, async () => {
    const [main] = browsers;
    const anna = await person(main!, 'Anna');
    const ben = await person(main!, 'Ben');
    const carla = await person(main!, 'Carla');
    const trio = [anna, ben, carla];
    for (const page of trio) await waitForRemoteVideos(page, 2, 45_000);
    const connectionsBefore = (await Promise.all(trio.map(frames))).map((f) => f.connections);

    server.child.kill('SIGKILL');
    await server.exited;
    const killedAt = Date.now();
    for (const page of trio) await page.waitForSelector(LOST, { timeout: 10_000 });
    // Every 2.5 s for 10 s: each page decoded more video than before.
    let previous = await Promise.all(trio.map(frames));
    while (Date.now() - killedAt < 10_000) {
      await sleep(2500);
      const now = await Promise.all(trio.map(frames));
      now.forEach((f, i) => expect(f.decoded, `page ${i} decodes video while the server is down`).toBeGreaterThan(previous[i]!.decoded));
      previous = now;
    }

    await start();
    const restartedAt = Date.now();
    for (const page of trio) await page.waitForSelector(LOST, { hidden: true, timeout: 30_000 });
    const recoveredMs = Date.now() - restartedAt;
    expect((await remoteNames(anna)).sort()).toEqual(['Ben', 'Carla']);
    expect((await remoteNames(ben)).sort()).toEqual(['Anna', 'Carla']);
    expect((await remoteNames(carla)).sort()).toEqual(['Anna', 'Ben']);
    // Rebuilt without a single new peer connection: nothing was renegotiated.
    expect((await Promise.all(trio.map(frames))).map((f) => f.connections)).toEqual(connectionsBefore);

    // A newcomer (in a browser of its own, so it can crash alone) sees everyone, and everyone sees it.
    const second = await launchBrowser('chromium');
    browsers.push(second);
    const dora = await person(second, 'Dora');
    await waitForRemoteVideos(dora, 3, 45_000);
    expect((await remoteNames(dora)).sort()).toEqual(['Anna', 'Ben', 'Carla']);
    for (const page of trio) await waitForRemoteVideos(page, 3, 45_000);

    // Dora's browser dies without a word: her tile goes from every other page.
    second.process()!.kill('SIGKILL');
    const crashedAt = Date.now();
    for (const page of trio) {
      await page.waitForFunction(() => document.querySelectorAll('.tile.remote').length === 2, { timeout: 30_000, polling: 200 });
    }
    const droppedMs = Date.now() - crashedAt;
    console.log(`restart: meeting rebuilt ${recoveredMs} ms after the new process listened; crashed browser's tile gone after ${droppedMs} ms`);
    expect(droppedMs).toBeLessThan(15_000);
  });
});
