// Firefox and Chromium in one meeting, and a participant without camera or microphone.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import type { BrowserKind, LaunchOptions } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { connectionReports, joinAs, remoteNames, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

describe('meetings across browsers and devices', () => {
  const meeting = useBrowserMeeting();
  const errors = meeting.errors;
  // Chromium people share the file's browser (each in a context of its own); Firefox and a Chromium without devices get their own.
  const openPage = (kind: BrowserKind, options?: LaunchOptions): Promise<Page> => meeting.open({ kind, ...(options ? { launch: options } : {}) });

  it('connects Chromium and Firefox, encrypted, with video both ways', async () => {
    const chromium = await openPage('chromium');
    const firefox = await openPage('firefox');
    await startMeetingFromHome(chromium, meeting.baseUrl, 'cross-browser');
    await joinAs(chromium, 'Chromium user');
    await startMeetingFromHome(firefox, meeting.baseUrl, 'cross-browser');
    await joinAs(firefox, 'Firefox user');

    await waitForRemoteVideos(chromium, 1);
    await waitForRemoteVideos(firefox, 1);
    expect(await remoteNames(chromium)).toEqual(['Firefox user']);
    expect(await remoteNames(firefox)).toEqual(['Chromium user']);
    for (const page of [chromium, firefox]) {
      const [report] = await connectionReports(page);
      expect(report?.connectionState).toBe('connected');
      expect(report?.framesDecoded).toBeGreaterThan(0);
    }
    // Chromium reports the negotiated DTLS and SRTP parameters of the shared transport.
    const [chromiumReport] = await connectionReports(chromium);
    expect(chromiumReport?.dtlsState).toBe('connected');
    expect(chromiumReport?.srtpCipher).toBeTruthy();
  });

  it('lets someone without camera or microphone join to watch and listen', async () => {
    const first = await openPage('chromium');
    const listener = await openPage('chromium', { noDevices: true });
    const second = await openPage('chromium');
    await startMeetingFromHome(first, meeting.baseUrl, 'listen-only');
    await joinAs(first, 'First speaker');
    // The listener joins second, so it sends the offer: an offer with nothing to send must still ask to receive.
    await startMeetingFromHome(listener, meeting.baseUrl, 'listen-only');
    await listener.waitForSelector('.join .notice');
    await joinAs(listener, 'Listener');
    // The next speaker offers to the listener: the ordinary direction.
    await startMeetingFromHome(second, meeting.baseUrl, 'listen-only');
    await joinAs(second, 'Second speaker');

    await waitForRemoteVideos(listener, 2);
    for (const report of await connectionReports(listener)) {
      expect(report.framesDecoded).toBeGreaterThan(0);
      expect(report.audioPacketsReceived).toBeGreaterThan(0);
    }
    // The speakers see the listener as an avatar with initials, not a black video.
    for (const page of [first, second]) {
      await page.waitForFunction(() =>
        [...document.querySelectorAll('.tile.remote')].some((tile) => tile.querySelector('.name')?.textContent === 'Listener' && tile.querySelector('.avatar')?.textContent === 'L'),
      );
    }
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
