// The join screen: choosing devices, joining with microphone or camera off, the password field only
// when asked for; the highlight of whoever speaks; and the installable web app.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { connectionLog } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, setCheckbox, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

describe('the join screen', () => {
  const meeting = useBrowserMeeting();
  const errors = meeting.errors;
  const newPage = (): Promise<Page> => meeting.open();

  it('offers the microphones and cameras by name and switches the preview to the one chosen', async () => {
    const page = await newPage();
    await startMeetingFromHome(page, meeting.baseUrl, 'devices');
    await page.waitForSelector('select[aria-label="Microphone"] option');
    const options = await page.$$eval('select[aria-label="Microphone"] option', (items) => items.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent })));
    expect(options.map((o) => o.label)).toContain('Fake Audio Input 1');
    expect(await page.$('#meeting-password')).toBeNull();
    await page.select('select[aria-label="Microphone"]', options.find((o) => o.label === 'Fake Audio Input 1')!.value);
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('.join video')?.srcObject as MediaStream | null)?.getAudioTracks()[0]?.label === 'Fake Audio Input 1');
    await page.close();
  });

  it('joins with microphone and camera off, and the others see it', async () => {
    const anna = await newPage();
    const ben = await newPage();
    await startMeetingFromHome(anna, meeting.baseUrl, 'quiet start');
    await setCheckbox(anna, '#join-microphone', false);
    await setCheckbox(anna, '#join-camera', false);
    expect(await anna.$('.join .tile .avatar')).not.toBeNull();
    await joinAs(anna, 'Anna');
    expect(await anna.$eval('.controls button[aria-label="Unmute microphone"]', (b) => b.getAttribute('aria-pressed'))).toBe('true');
    expect(await anna.$('.controls button[aria-label="Turn camera on"]')).not.toBeNull();

    await startMeetingFromHome(ben, meeting.baseUrl, 'quiet start');
    await joinAs(ben, 'Ben');
    // Muted and camera off reach Ben over the data channel once the two are connected.
    await ben
      .waitForFunction(() =>
        [...document.querySelectorAll('.tile.remote')].some((t) => t.querySelector('.name')?.textContent === 'Anna' && t.querySelector('.muted') && t.querySelector('.avatar')?.textContent === 'A'),
      )
      .catch(async (error: Error) => {
        // Seen once in a full CI run (not in 21 runs of this test alone under stress): say what Ben saw.
        const tiles = await ben.$$eval('.tile', (all) => all.map((t) => `${t.className} [${t.getAttribute('data-connection') ?? ''}] ${t.textContent}`));
        throw new Error(`${error.message}\nBen's tiles: ${JSON.stringify(tiles)}\nBen's connections: ${(await connectionLog(ben)).join('; ')}\nAnna's connections: ${(await connectionLog(anna)).join('; ')}`);
      });
    // Ben's (fake, beeping) microphone is on: Anna sees him highlighted as the speaker; Ben sees nobody, Anna is muted.
    await anna.waitForSelector('.tile.remote.speaking[data-speaking="true"]', { timeout: 30_000 });
    expect(await ben.$('.tile.remote.speaking')).toBeNull();
    // Ben mutes: the highlight goes.
    await ben.click('.controls button[aria-label="Mute microphone"]');
    await anna.waitForFunction(() => !document.querySelector('.tile.remote.speaking'), { timeout: 30_000 });

    // Anna unmutes in the call: Ben sees the microphone on.
    await anna.click('.controls button[aria-label="Unmute microphone"]');
    await ben.waitForFunction(() => [...document.querySelectorAll('.tile.remote')].some((t) => t.querySelector('.name')?.textContent === 'Anna' && !t.querySelector('.muted')));
    await waitForRemoteVideos(anna, 1);
  });

  it('is installable as a web app (manifest, icons, theme colour)', async () => {
    // The default (non-incognito) profile: browsers do not install apps from incognito windows.
    const page = await meeting.open({ defaultContext: true, record: false });
    await page.goto(meeting.baseUrl + '/');
    expect(await page.$eval('meta[name="theme-color"]', (m) => m.getAttribute('content'))).toBe('#101614');
    const session = await page.createCDPSession();
    const manifest = (await session.send('Page.getAppManifest')) as { url: string; errors: unknown[]; data?: string };
    expect(manifest.errors).toEqual([]);
    const data = JSON.parse(manifest.data ?? '{}') as { icons: Array<{ src: string; sizes: string }>; display: string };
    expect(data.display).toBe('standalone');
    for (const icon of data.icons) {
      const response = await fetch(new URL(icon.src, meeting.baseUrl));
      expect(response.status, icon.src).toBe(200);
    }
    const { installabilityErrors } = (await session.send('Page.getInstallabilityErrors')) as { installabilityErrors: Array<{ errorId: string }> };
    expect(installabilityErrors.map((e) => e.errorId)).toEqual([]);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
