// A meeting full for video still lets people in audio-only, up to the operator's larger cap; and the
// operator's upload budget is what every participant's bitrate control plans with.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { HEADROOM } from '../../client/call/quality/bitrate-policy.js';
import { peerConnections } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { connectionReports, joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

const UPLINK_BUDGET_KBPS = 300;

/** Everything this page's senders may send on its live connections (maxBitrate of audio and video), in bit/s. */
function plannedUpload(page: Page): Promise<number> {
  return peerConnections(page, (connections) =>
    connections
      .filter((pc) => pc.connectionState === 'connected')
      .flatMap((pc) => pc.getSenders())
      .reduce((sum, sender) => sum + (sender.track ? (sender.getParameters().encodings?.[0]?.maxBitrate ?? Infinity) : 0), 0),
  );
}

/** Tries to join as `name`; returns what the join screen then says, and whether it offers joining audio-only. */
async function refusedJoin(page: Page, name: string): Promise<{ error: string; offersAudioOnly: boolean }> {
  await page.type('#display-name', name);
  await page.click('.join button.primary[type=submit]');
  await page.waitForSelector('.join p.error[role=alert]');
  return page.evaluate(() => ({
    error: document.querySelector('.join p.error')?.textContent ?? '',
    offersAudioOnly: Boolean(document.querySelector('.join button.audio-only')),
  }));
}

describe('a meeting full for video', () => {
  // The second test reads the plans of the call the first one made.
  const meeting = useBrowserMeeting({ server: { roomCapacity: 2, audioOnlyCapacity: 3, uplinkBudgetKbps: UPLINK_BUDGET_KBPS }, keepPagesBetweenTests: true });
  const errors = meeting.errors;
  const inCall: Page[] = [];

  async function person(): Promise<Page> {
    const page = await meeting.open();
    await startMeetingFromHome(page, meeting.baseUrl, 'full-house');
    return page;
  }

  it('offers the third person to join audio-only; she sees and hears both, they hear her, and nobody can be a fourth', { timeout: 120_000 }, async () => {
    const anna = await person();
    await joinAs(anna, 'Anna');
    const ben = await person();
    await joinAs(ben, 'Ben');
    await waitForRemoteVideos(anna, 1);

    const carla = await person();
    expect(await refusedJoin(carla, 'Carla')).toEqual({
      error: 'This meeting is full for video. You can still join audio-only: you see and hear everyone, they hear you.',
      offersAudioOnly: true,
    });
    await carla.click('.join button.audio-only');
    await carla.waitForSelector('.call');
    await waitForRemoteVideos(carla, 2);
    inCall.push(anna, ben, carla);

    for (const page of [anna, ben]) {
      await page.waitForFunction(
        () => {
          const tile = [...document.querySelectorAll('.tile.remote')].find((figure) => figure.querySelector('.name')?.textContent === 'Carla');
          return tile?.querySelector('[data-badge="audio-only"]')?.textContent === 'Audio only' && tile.querySelector('.avatar') !== null;
        },
        { timeout: 10_000 },
      );
    }
    // Carla's browser sends sound and no video at all, and cannot start either camera or screen.
    const carlaSends = await peerConnections(carla, (connections) =>
      connections.flatMap((pc) => pc.getSenders().flatMap((sender) => (sender.track ? [sender.track.kind] : []))),
    );
    expect(carlaSends.sort()).toEqual(['audio', 'audio']);
    expect(await carla.$$eval('.controls button.round[disabled]', (buttons) => buttons.map((button) => button.getAttribute('aria-label')))).toEqual([
      'Turn camera on',
      'Share screen',
    ]);
    // Anna hears Carla: audio packets keep arriving on her connection to Carla, with no video frames.
    const fromCarla = async () => (await connectionReports(anna)).find((report) => report.framesDecoded === 0 && report.audioPacketsReceived > 0)?.audioPacketsReceived ?? 0;
    const before = await fromCarla();
    let after = before;
    for (const deadline = Date.now() + 10_000; after <= before && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) after = await fromCarla();
    expect(after, "audio packets from Carla on Anna's connection keep arriving").toBeGreaterThan(before);

    expect(await refusedJoin(await person(), 'Dora')).toEqual({
      error: 'This meeting is full. A Treff meeting holds a small group (8 people by default).',
      offersAudioOnly: false,
    });
  });

  it("plans every participant's upload within the operator's budget", async () => {
    const pages = inCall;
    expect(pages).toHaveLength(3);
    // Each page re-plans when someone joins (Carla was last): read once that has settled, bounded.
    const limit = UPLINK_BUDGET_KBPS * 1000 * HEADROOM;
    let plans: number[] = [];
    for (const started = Date.now(); Date.now() - started < 15_000; await new Promise((resolve) => setTimeout(resolve, 250))) {
      plans = await Promise.all(pages.map(plannedUpload));
      if (plans.every((planned) => planned <= limit)) break;
    }
    console.log(`planned uploads with a ${UPLINK_BUDGET_KBPS} kbit/s budget: ${plans.map((bps) => Math.round(bps / 1000)).join(', ')} kbit/s`);
    for (const planned of plans) expect(planned).toBeLessThanOrEqual(limit);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
