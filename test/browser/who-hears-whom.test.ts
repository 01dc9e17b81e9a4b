// Who hears whom: each browser measures which of the others' streams actually arrive and tells
// them over the data channel. A stream that is sent but never arrives is shown to both people
// concerned ("You cannot hear Ben" / "Anna cannot hear you"), and the notice goes when it flows again.
// The fault is made for real inside Ben's browser: his connection to Anna stops carrying his
// microphone while his page still says it is on (one-way audio, the classic broken pair).

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, peerConnections, recordPeerConnections } from '../helpers/browser.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The text of the who-hears-whom notice on the remote tile named `name`, or null when there is none. */
function notice(page: Page, name: string): Promise<string | null> {
  return page.evaluate((wanted) => {
    const tile = [...document.querySelectorAll('.tile.remote')].find((t) => t.querySelector('.name')?.textContent === wanted);
    return tile?.querySelector('.pair-problem')?.textContent ?? null;
  }, name);
}

async function waitForNotice(page: Page, name: string, expected: string | null, timeout: number): Promise<number> {
  const started = Date.now();
  await page.waitForFunction(
    (wanted, text) => {
      const tile = [...document.querySelectorAll('.tile.remote')].find((t) => t.querySelector('.name')?.textContent === wanted);
      const shown = tile?.querySelector('.pair-problem')?.textContent ?? null;
      return text === null ? tile !== undefined && shown === null : shown === text && tile?.getAttribute('data-reception') === 'broken';
    },
    { timeout, polling: 200 },
    name,
    expected,
  );
  return Date.now() - started;
}

describe('who hears whom', () => {
  let server: TestServer;
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    browser = await launchBrowser('chromium');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('tells both people when one does not receive the other, and clears it when the streams flow again', async () => {
    const pages: Page[] = [];
    for (const name of ['Anna', 'Ben']) {
      const page = await (await browser.createBrowserContext()).newPage();
      errors.push(...collectPageErrors(page));
      await recordPeerConnections(page);
      await startMeetingFromHome(page, server.url, 'who-hears-whom');
      await joinAs(page, name);
      pages.push(page);
    }
    const [anna, ben] = pages as [Page, Page];
    await waitForRemoteVideos(anna, 1, 30_000);
    await waitForRemoteVideos(ben, 1, 30_000);
    // A healthy call shows no notice (past the grace of a new connection).
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(await notice(anna, 'Ben')).toBeNull();
    expect(await notice(ben, 'Anna')).toBeNull();

    // Ben's audio sender loses its track: his voice no longer reaches Anna, though his page says the microphone is on.
    await peerConnections(ben, async (connections) => {
      const w = window as unknown as { __kept: Array<[RTCRtpSender, MediaStreamTrack | null]> };
      const [pc] = connections.filter((c) => c.connectionState !== 'closed');
      w.__kept = pc!.getSenders().filter((sender) => sender.track?.kind === 'audio').map((sender) => [sender, sender.track]);
      for (const [sender] of w.__kept) await sender.replaceTrack(null);
    });
    const annaSawMs = await waitForNotice(anna, 'Ben', 'You cannot hear Ben.', 30_000);
    const benSawMs = await waitForNotice(ben, 'Anna', 'Anna cannot hear you.', 30_000);
    console.log(`who hears whom: Anna told ${annaSawMs} ms after the streams stopped, Ben ${annaSawMs + benSawMs} ms`);

    // The streams come back: the notices go on both sides.
    await ben.evaluate(async () => {
      const w = window as unknown as { __kept: Array<[RTCRtpSender, MediaStreamTrack | null]> };
      for (const [sender, track] of w.__kept) await sender.replaceTrack(track);
    });
    await waitForNotice(anna, 'Ben', null, 30_000);
    await waitForNotice(ben, 'Anna', null, 30_000);
    await waitForRemoteVideos(anna, 1, 10_000);
    // Video kept flowing throughout: this was never a reconnect.
    expect(await anna.$eval('.tile.remote', (tile) => tile.getAttribute('data-connection'))).toBe('connected');
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
