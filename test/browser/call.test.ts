// Three people meet in headless Chromium through the UI, as users would, and see each other.

import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { connectionReports, joinAs, remoteNames, startMeetingFromHome, waitForNewFrames, waitForRemoteVideos } from '../helpers/meeting.js';

describe('a three-person meeting in Chromium', () => {
  // Seats kept for 20 s as in production: only leaving (not a dropped connection) frees one at once.
  const meeting = useBrowserMeeting({ server: { seatGraceSeconds: 20 } });
  const pages: Record<'anna' | 'ben' | 'carla', Page> = {} as never;
  const errors = meeting.errors;

  beforeAll(async () => {
    // Separate contexts: three people with their own storage, not three tabs of one person.
    for (const who of ['anna', 'ben', 'carla'] as const) pages[who] = await meeting.open();
  });

  it('lets three people join the same meeting by typing its name and see and hear each other', async () => {
    await startMeetingFromHome(pages.anna, meeting.baseUrl, 'Team Weekly');
    expect(new URL(pages.anna.url()).pathname).toBe('/team-weekly');
    await joinAs(pages.anna, 'Anna');

    const pressedGo = Date.now();
    await startMeetingFromHome(pages.ben, meeting.baseUrl, 'team weekly');
    const pressedJoin = Date.now();
    await joinAs(pages.ben, 'Ben');
    await waitForRemoteVideos(pages.ben, 1);
    const now = Date.now();
    console.log(`second participant: first remote frame ${now - pressedGo} ms after Go (typing the name included), ${now - pressedJoin} ms after Join`);

    await startMeetingFromHome(pages.carla, meeting.baseUrl, 'TEAM_WEEKLY');
    await joinAs(pages.carla, 'Carla');

    for (const page of Object.values(pages)) await waitForRemoteVideos(page, 2);
    expect((await remoteNames(pages.anna)).sort()).toEqual(['Ben', 'Carla']);
    expect((await remoteNames(pages.ben)).sort()).toEqual(['Anna', 'Carla']);
    expect((await remoteNames(pages.carla)).sort()).toEqual(['Anna', 'Ben']);
  });

  it('tells each participant that the connections are direct (no relay on loopback)', async () => {
    for (const page of Object.values(pages)) {
      await page.waitForFunction(() => document.querySelectorAll('.tile.remote .path[data-path="direct"]').length === 2, { timeout: 8000 });
    }
  });

  it('carries sound and video encrypted with DTLS and SRTP, and keeps decoding frames', async () => {
    for (const page of Object.values(pages)) {
      const before = await connectionReports(page);
      expect(before).toHaveLength(2);
      for (const report of before) {
        expect(report.connectionState).toBe('connected');
        expect(report.dtlsState).toBe('connected');
        expect(report.srtpCipher).toMatch(/AES|GCM|SRTP/);
        expect(report.audioPacketsReceived).toBeGreaterThan(0);
      }
      await waitForNewFrames(page, { timeout: 15_000 });
    }
  });

  it('shows a participant who turns the camera off (button, then the V key) as an avatar, and back again', async () => {
    const benShownAs = (avatar: boolean) =>
      pages.anna.waitForFunction(
        (avatar) => [...document.querySelectorAll('.tile.remote')].some((tile) => tile.querySelector('.name')?.textContent === 'Ben' && (tile.querySelector('.avatar')?.textContent === 'B') === avatar),
        {},
        avatar,
      );
    await pages.ben.locator('.controls ::-p-aria(Turn camera off)').click();
    await benShownAs(true);
    await pages.ben.locator('.controls ::-p-aria(Turn camera on)').click();
    await benShownAs(false);
    await pages.ben.keyboard.press('v');
    await benShownAs(true);
    expect(await pages.ben.$eval('.controls button:nth-child(2)', (button) => button.getAttribute('aria-pressed'))).toBe('true');
    await pages.ben.keyboard.press('v');
    await benShownAs(false);
  });

  it('mutes with the M key, and the others see the muted microphone', async () => {
    await pages.ben.keyboard.press('m');
    await pages.anna.waitForFunction(() =>
      [...document.querySelectorAll('.tile.remote')].some((tile) => tile.querySelector('.name')?.textContent === 'Ben' && tile.querySelector('.muted')),
    );
    expect(await pages.ben.$eval('.controls button:nth-child(1)', (button) => button.getAttribute('aria-pressed'))).toBe('true');
    await pages.ben.keyboard.press('m');
    await pages.anna.waitForFunction(() =>
      [...document.querySelectorAll('.tile.remote')].some((tile) => tile.querySelector('.name')?.textContent === 'Ben' && !tile.querySelector('.muted')),
    );
  });

  it('removes the tile of someone who leaves from everyone else within 2 seconds', async () => {
    await pages.carla.click('.controls .leave');
    await pages.carla.waitForSelector('.left');
    const left = Date.now();
    await Promise.all([pages.anna, pages.ben].map((page) => page.waitForFunction(() => document.querySelectorAll('.tile.remote').length === 1, { timeout: 2000, polling: 50 })));
    expect(Date.now() - left).toBeLessThan(2000);
    expect(await remoteNames(pages.anna)).toEqual(['Ben']);
    expect(await remoteNames(pages.ben)).toEqual(['Anna']);
    // The two who stayed still see each other.
    await waitForRemoteVideos(pages.anna, 1);
    await waitForRemoteVideos(pages.ben, 1);
  });

  it('removes the tile of someone who closes the tab from the others within 2 seconds, as if they had left', async () => {
    const page = pages.ben;
    await page.close();
    const closed = Date.now();
    await pages.anna.waitForFunction(() => document.querySelectorAll('.tile.remote').length === 0, { timeout: 2000, polling: 50 });
    expect(Date.now() - closed).toBeLessThan(2000);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
