// Screen sharing: the screen replaces the camera for everyone without renegotiation, is shown large
// on the others' pages, and stopping (button, S key, or the browser's own "stop sharing") brings the
// camera back. Headless Chromium with --use-fake-ui-for-media-stream picks the whole (800 pixels wide)
// screen by itself; the fake camera sends 640×360.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, peerConnections, recordPeerConnections, type BrowserKind, type LaunchOptions } from '../helpers/browser.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Keeps every screen track the page gets, so a test can end one as the browser's own button does. */
async function recordScreens(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const screens: MediaStreamTrack[] = [];
    (window as unknown as { __screens: MediaStreamTrack[] }).__screens = screens;
    const original = MediaDevices.prototype.getDisplayMedia;
    MediaDevices.prototype.getDisplayMedia = async function (this: MediaDevices, options?: DisplayMediaStreamOptions) {
      const stream = await original.call(this, options);
      screens.push(...stream.getVideoTracks());
      return stream;
    };
  });
}

/** The remote tile of `name` on `page`: whether it is in the spotlight, its picture's size and frames shown so far. */
async function tileOf(page: Page, name: string) {
  return page.evaluate((wanted) => {
    const tile = [...document.querySelectorAll<HTMLElement>('.tile.remote')].find((t) => t.querySelector('.name')?.textContent === wanted);
    const video = tile?.querySelector('video');
    return {
      screen: tile?.dataset.screen === 'true',
      spotlight: Boolean(tile?.closest('.grid.spotlight')),
      width: video?.videoWidth ?? 0,
      height: video?.videoHeight ?? 0,
      frames: video?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
      large: (tile?.getBoundingClientRect().width ?? 0) > 0.6 * innerWidth,
      status: tile?.querySelector('.status')?.textContent ?? 'connected',
    };
  }, name);
}

/**
 * Waits until `name`'s tile on `page` shows the screen or the camera again. The camera sends at most
 * 640 pixels wide (less when the encoder adapts); the screen is wider, and its 'detail' content hint
 * keeps the resolution.
 */
async function waitForPicture(page: Page, name: string, what: 'screen' | 'camera'): Promise<void> {
  await page
    .waitForFunction(
    (wanted, screen) => {
      const tile = [...document.querySelectorAll<HTMLElement>('.tile.remote')].find((t) => t.querySelector('.name')?.textContent === wanted);
      const video = tile?.querySelector('video');
      if (!tile || !video || video.classList.contains('hidden')) return false;
      return screen
        ? tile.dataset.screen === 'true' && video.videoWidth > 640
        : tile.dataset.screen === undefined && video.videoWidth > 0 && video.videoWidth <= 640;
    },
    { timeout: 10_000, polling: 100 },
    name,
    what === 'screen',
  )
    .catch(async (error: unknown) => {
      throw new Error(`${name} never showed the ${what}: ${JSON.stringify(await tileOf(page, name))}`, { cause: error });
    });
}

async function framesKeepRising(page: Page, name: string): Promise<void> {
  const before = (await tileOf(page, name)).frames;
  await page.waitForFunction(
    (wanted, frames) => {
      const tile = [...document.querySelectorAll('.tile.remote')].find((t) => t.querySelector('.name')?.textContent === wanted);
      return (tile?.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > frames + 10;
    },
    { timeout: 5000 },
    name,
    before,
  );
}

/** The SDP of every live connection: unchanged means no renegotiation happened. */
async function descriptions(page: Page): Promise<string[]> {
  return peerConnections(page, (connections) =>
    connections
      .filter((pc) => pc.connectionState !== 'closed')
      .map((pc) => `${pc.localDescription?.sdp}|${pc.remoteDescription?.sdp}`),
  );
}

describe('screen sharing', () => {
  let server: TestServer;
  const browsers: Browser[] = [];
  const errors: string[] = [];
  const pages: Record<'anna' | 'ben' | 'carla', Page> = {} as never;

  async function openPage(kind: BrowserKind, options: LaunchOptions = {}): Promise<Page> {
    const browser = await launchBrowser(kind, options);
    browsers.push(browser);
    const page = await browser.newPage();
    await recordPeerConnections(page);
    if (kind === 'chromium') await recordScreens(page);
    errors.push(...collectPageErrors(page));
    return page;
  }

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    const browser = await launchBrowser('chromium');
    browsers.push(browser);
    for (const who of ['anna', 'ben', 'carla'] as const) {
      const page = await (await browser.createBrowserContext()).newPage();
      await recordPeerConnections(page);
      await recordScreens(page);
      errors.push(...collectPageErrors(page));
      pages[who] = page;
    }
    for (const [who, name] of [['anna', 'Anna'], ['ben', 'Ben'], ['carla', 'Carla']] as const) {
      await startMeetingFromHome(pages[who], server.url, 'screen-share');
      await joinAs(pages[who], name);
    }
    for (const page of Object.values(pages)) await waitForRemoteVideos(page, 2);
  });

  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await server?.close();
  });

  it('shows a shared screen large on the other pages, without renegotiating, and the camera again when it stops', async () => {
    await waitForPicture(pages.ben, 'Anna', 'camera');
    const before = await descriptions(pages.anna);
    await pages.anna.click('.controls button[aria-label="Share screen"]');
    await pages.anna.waitForSelector('.controls button[aria-label="Stop sharing"][aria-pressed="true"]');
    for (const page of [pages.ben, pages.carla]) {
      await waitForPicture(page, 'Anna', 'screen');
      const tile = await tileOf(page, 'Anna');
      expect(tile.spotlight).toBe(true);
      expect(tile.large).toBe(true);
      await framesKeepRising(page, 'Anna');
    }
    // replaceTrack: the same negotiated session carries the screen.
    expect(await descriptions(pages.anna)).toEqual(before);

    await pages.anna.click('.controls button[aria-label="Stop sharing"]');
    for (const page of [pages.ben, pages.carla]) {
      await waitForPicture(page, 'Anna', 'camera');
      expect((await tileOf(page, 'Anna')).spotlight).toBe(false);
      await framesKeepRising(page, 'Anna');
    }
    expect(await descriptions(pages.anna)).toEqual(before);
  });

  it('starts and stops with the S key', async () => {
    await pages.ben.keyboard.press('s');
    await waitForPicture(pages.anna, 'Ben', 'screen');
    await pages.ben.keyboard.press('s');
    await waitForPicture(pages.anna, 'Ben', 'camera');
  });

  it('brings the camera back when the browser itself ends the sharing', async () => {
    await pages.carla.click('.controls button[aria-label="Share screen"]');
    await waitForPicture(pages.anna, 'Carla', 'screen');
    // What the browser's "Stop sharing" bar does: the track ends.
    await pages.carla.evaluate(() => {
      const track = (window as unknown as { __screens: MediaStreamTrack[] }).__screens.at(-1)!;
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await waitForPicture(pages.anna, 'Carla', 'camera');
    await pages.carla.waitForSelector('.controls button[aria-label="Share screen"][aria-pressed="false"]');
  });

  it('shows the screen of someone who joins while it is shared, and of someone without a camera', async () => {
    await pages.anna.click('.controls button[aria-label="Share screen"]');
    await waitForPicture(pages.ben, 'Anna', 'screen');
    // Dana has a microphone but no camera: her screen is a new track (one renegotiation). (Headless
    // Chromium without its fake devices cannot capture the screen either, so the camera is hidden.)
    const dana = await openPage('chromium');
    await dana.evaluateOnNewDocument(() => {
      const original = MediaDevices.prototype.getUserMedia;
      MediaDevices.prototype.getUserMedia = function (this: MediaDevices, constraints?: MediaStreamConstraints) {
        if (constraints?.video) return Promise.reject(new DOMException('no camera', 'NotFoundError'));
        return original.call(this, constraints);
      };
    });
    await startMeetingFromHome(dana, server.url, 'screen-share');
    await joinAs(dana, 'Dana');
    await waitForPicture(dana, 'Anna', 'screen');
    await pages.anna.click('.controls button[aria-label="Stop sharing"]');
    await waitForPicture(dana, 'Anna', 'camera');

    await dana.click('.controls button[aria-label="Share screen"]');
    for (const page of Object.values(pages)) await waitForPicture(page, 'Dana', 'screen');
    await dana.click('.controls button[aria-label="Stop sharing"]');
    for (const page of Object.values(pages)) {
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLElement>('.tile.remote')].some((t) => t.querySelector('.name')?.textContent === 'Dana' && !t.dataset.screen && t.querySelector('.avatar')),
      );
    }
    await dana.close();
  });

  it('shows a screen shared from Chromium large in Firefox', async () => {
    const firefox = await openPage('firefox');
    await startMeetingFromHome(firefox, server.url, 'screen-share');
    await joinAs(firefox, 'Firefox user');
    await waitForRemoteVideos(firefox, 3);
    await pages.ben.click('.controls button[aria-label="Share screen"]');
    await waitForPicture(firefox, 'Ben', 'screen');
    expect((await tileOf(firefox, 'Ben')).spotlight).toBe(true);
    await pages.ben.click('.controls button[aria-label="Stop sharing"]');
    await waitForPicture(firefox, 'Ben', 'camera');
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
