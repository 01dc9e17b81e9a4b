// The signalling server goes away and comes back empty: the running call never stops (media is
// browser to browser), and the pages find each other again on the new server by themselves.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, recordPeerConnections } from '../helpers/browser.js';
import { framesDecoded, joinAs, remoteNames, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { freePort } from '../helpers/processes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('a signalling server restart', () => {
  let server: TestServer;
  let browser: Browser;
  const pages: Page[] = [];

  async function person(name: string): Promise<Page> {
    const page = await (await browser.createBrowserContext()).newPage();
    await recordPeerConnections(page);
    await startMeetingFromHome(page, server.url, 'restart');
    await joinAs(page, name);
    pages.push(page);
    return page;
  }

  let port: number;

  beforeAll(async () => {
    // A fixed port (a port first bound as 0 cannot be bound again by a new server).
    port = await freePort();
    server = await startTestServer({ staticDir: 'dist/client', port });
    browser = await launchBrowser('chromium');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('keeps video playing while the server is down, then everyone meets again on the new server', { timeout: 90_000 }, async () => {
    const anna = await person('Anna');
    const ben = await person('Ben');
    await waitForRemoteVideos(anna, 1);
    await waitForRemoteVideos(ben, 1);

    await server.close();
    await anna.waitForSelector('::-p-text(Lost the connection to the server)');
    const before = await Promise.all([anna, ben].map(async (page) => (await framesDecoded(page)).decoded));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const during = await Promise.all([anna, ben].map(async (page) => (await framesDecoded(page)).decoded));
    // Five seconds without a server: at least a few frames a second still arrived on both pages.
    during.forEach((frames, i) => expect(frames - before[i]!).toBeGreaterThan(25));

    // A new, empty server on the same address: the pages come back, find each other and talk again.
    server = await startTestServer({ staticDir: 'dist/client', port });
    for (const page of [anna, ben]) {
      await page.waitForSelector('::-p-text(Lost the connection to the server)', { hidden: true, timeout: 30_000 });
    }
    await waitForRemoteVideos(anna, 1, 30_000);
    await waitForRemoteVideos(ben, 1, 30_000);
    expect(await remoteNames(anna)).toEqual(['Ben']);
    expect(await remoteNames(ben)).toEqual(['Anna']);

    const carla = await person('Carla');
    await waitForRemoteVideos(carla, 2, 30_000);
    expect((await remoteNames(carla)).sort()).toEqual(['Anna', 'Ben']);
  });
});
