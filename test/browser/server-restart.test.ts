// The signalling server goes away and comes back empty: the running call never stops (media is
// browser to browser), and the pages find each other again on the new server by themselves.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { framesDecoded, remoteNames, waitForRemoteVideos } from '../helpers/meeting.js';
import { freePort } from '../helpers/processes.js';
import { startTestServer } from '../helpers/server.js';

describe('a signalling server restart', () => {
  let port: number;
  const meeting = useBrowserMeeting({
    // A port chosen before the server starts (a port first bound as 0 cannot be bound again by a new server).
    server: async () => ({ port: (port = await freePort()) }),
  });
  const person = (name: string): Promise<Page> => meeting.join(name, 'restart', { collectErrors: false });

  it('keeps video playing while the server is down, then everyone meets again on the new server', { timeout: 90_000 }, async () => {
    const anna = await person('Anna');
    const ben = await person('Ben');
    await waitForRemoteVideos(anna, 1);
    await waitForRemoteVideos(ben, 1);

    await meeting.server.close();
    await anna.waitForSelector('::-p-text(Lost the connection to the server)');
    const before = await Promise.all([anna, ben].map(async (page) => (await framesDecoded(page)).decoded));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const during = await Promise.all([anna, ben].map(async (page) => (await framesDecoded(page)).decoded));
    // Five seconds without a server: at least a few frames a second still arrived on both pages.
    during.forEach((frames, i) => expect(frames - before[i]!).toBeGreaterThan(25));

    // A new, empty server on the same address: the pages come back, find each other and talk again.
    meeting.replaceServer(await startTestServer({ staticDir: 'dist/client', port }));
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
