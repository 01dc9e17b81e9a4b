// A call through HAProxy on a two-node cluster (issue 15): the node holding the meeting is killed
// (SIGKILL). Media is browser to browser, so video keeps decoding; the pages reconnect through
// HAProxy to the other node, which takes the meeting from Redis, and a newcomer meets everyone.

import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { framesDecoded, remoteNames, waitForNewFrames, waitForRemoteVideos } from '../helpers/meeting.js';

const ROOM = 'cluster-call';
const LOST = '::-p-text(Lost the connection to the server)';

describe('a call on a cluster when its node dies', () => {
  let cluster: TestCluster;
  const meeting = useBrowserMeeting({ server: false });

  beforeAll(async () => {
    cluster = await startCluster({ staticDir: 'dist/client', nodeEnv: { TREFF_SEAT_GRACE: '20' } });
  }, 60_000);
  afterAll(() => cluster?.stop(), 30_000);

  const person = (name: string): Promise<Page> => meeting.join(name, ROOM, { baseUrl: cluster.url, collectErrors: false });

  it('keeps video playing, resumes on the other node within 10 s, and a fourth person meets everyone', { timeout: 180_000 }, async () => {
    const pages = [await person('Anna'), await person('Ben'), await person('Carla')];
    for (const page of pages) await waitForRemoteVideos(page, 2, 30_000);
    const holder = await cluster.leaseHolder(ROOM);
    expect(holder).toMatch(/^node[12]$/);
    const connectionsBefore = await Promise.all(pages.map(async (page) => (await framesDecoded(page)).connections));

    const killedAt = Date.now();
    await cluster.killNode(Number(holder!.slice(4)) - 1);
    // Video goes on while no server is there: the frames are browser to browser.
    await Promise.all(pages.map((page) => waitForNewFrames(page, { frames: 25, timeout: 15_000 })));
    // The pages are back on the other node (the banner is gone) within the bound.
    await Promise.all(pages.map((page) => page.waitForSelector(LOST, { hidden: true, timeout: 10_000 })));
    await expect.poll(() => cluster.leaseHolder(ROOM), { timeout: 10_000, interval: 100 }).not.toBe(holder);
    const resumedMs = Date.now() - killedAt;
    console.log(`three pages resumed on the other node ${resumedMs} ms after the kill`);
    expect(resumedMs).toBeLessThan(10_000);
    expect(await Promise.all(pages.map(async (page) => (await framesDecoded(page)).connections))).toEqual(connectionsBefore);

    const dora = await person('Dora');
    await waitForRemoteVideos(dora, 3, 30_000);
    expect((await remoteNames(dora)).sort()).toEqual(['Anna', 'Ben', 'Carla']);
    for (const page of pages) await waitForRemoteVideos(page, 3, 30_000);
  });
});
