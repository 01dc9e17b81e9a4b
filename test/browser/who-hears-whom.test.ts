// Who hears whom: each browser measures which of the others' streams actually arrive and tells
// them over the data channel. A stream that is sent but never arrives is shown to both people
// concerned ("You cannot hear Ben" / "Anna cannot hear you"), and the notice goes when it flows again.
// The fault is made for real inside Ben's browser: his connection to Anna stops carrying his
// microphone while his page still says it is on (one-way audio, the classic broken pair).

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { RECEPTION_DEFAULTS } from '../../client/call/quality/reception.js';
import { peerConnections, waitForConnectedFor } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

/** The stats are read every 3 s: a stalled stream is judged within one reading after its stall time. */
const READING_MS = 3000;

/** Keeps every who-hears-whom notice the page ever shows, also one gone again before the test looks. */
async function recordNotices(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const seen: string[] = [];
    (window as unknown as { __notices: string[] }).__notices = seen;
    new MutationObserver(() => {
      for (const notice of document.querySelectorAll('.pair-problem')) if (notice.textContent && !seen.includes(notice.textContent)) seen.push(notice.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

function noticesEverShown(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __notices: string[] }).__notices);
}

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
  const meeting = useBrowserMeeting();
  const errors = meeting.errors;

  it('tells both people when one does not receive the other, and clears it when the streams flow again', async () => {
    const pages: Page[] = [];
    for (const name of ['Anna', 'Ben']) {
      const page = await meeting.open();
      await recordNotices(page);
      pages.push(page);
      await startMeetingFromHome(page, meeting.baseUrl, 'who-hears-whom');
      await joinAs(page, name);
    }
    const [anna, ben] = pages as [Page, Page];
    await waitForRemoteVideos(anna, 1, 30_000);
    await waitForRemoteVideos(ben, 1, 30_000);
    // A healthy call shows no notice, not even for a moment: watched until each side's connection is
    // past the grace of a new connection and a stall would have been judged.
    const judgedAfterMs = RECEPTION_DEFAULTS.graceMs + RECEPTION_DEFAULTS.stallAfterMs + READING_MS;
    for (const page of pages) await waitForConnectedFor(page, judgedAfterMs);
    expect(await noticesEverShown(anna)).toEqual([]);
    expect(await noticesEverShown(ben)).toEqual([]);
    expect(await notice(anna, 'Ben')).toBeNull();

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
