// Mesh bitrate control: every participant uploads one video per peer, so what each link may use
// is planned and applied with setParameters — within the uplink budget, smaller as the room grows.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMERA_STEPS, DEFAULT_UPLINK_BUDGET_BPS, HEADROOM, roomStep } from '../../client/call/quality/bitrate-policy.js';
import { launchBrowser, peerConnections, recordPeerConnections, waitForPeerConnections } from '../helpers/browser.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface SenderLimits {
  video: Array<number | undefined>;
  audio: Array<number | undefined>;
}

/** The maxBitrate each live connection's senders were given. */
function senderLimits(page: Page): Promise<SenderLimits> {
  return peerConnections(page, (connections) => {
    const live = connections.filter((pc) => pc.connectionState === 'connected');
    const limit = (pc: RTCPeerConnection, kind: string) => pc.getSenders().find((s) => s.track?.kind === kind)?.getParameters().encodings?.[0]?.maxBitrate;
    return { video: live.map((pc) => limit(pc, 'video')), audio: live.map((pc) => limit(pc, 'audio')) };
  });
}

/** Bits per second this page uploads (all outbound RTP, all connections), measured over `ms`. */
async function uploadRate(page: Page, ms: number): Promise<number> {
  const sent = () =>
    peerConnections(page, async (connections) => {
      let bytes = 0;
      for (const pc of connections) {
        if (pc.connectionState !== 'connected') continue;
        for (const stat of (await pc.getStats()).values()) if (stat.type === 'outbound-rtp') bytes += stat.bytesSent ?? 0;
      }
      return bytes;
    });
  const before = await sent();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((await sent()) - before) * 8 / (ms / 1000);
}

describe('mesh bitrate control', () => {
  let server: TestServer;
  let browser: Browser;
  const pages: Page[] = [];

  async function join(name: string): Promise<Page> {
    const page = await (await browser.createBrowserContext()).newPage();
    await recordPeerConnections(page);
    await startMeetingFromHome(page, server.url, 'bitrate');
    await joinAs(page, name);
    pages.push(page);
    return page;
  }

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    browser = await launchBrowser('chromium');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('keeps a 4-person mesh within the uplink budget, with per-peer limits for four', { timeout: 90_000 }, async () => {
    for (const name of ['Anna', 'Ben', 'Carla', 'Dora']) await join(name);
    for (const page of pages) await waitForRemoteVideos(page, 3);
    const fourStep = CAMERA_STEPS[roomStep(4)]!;
    for (const page of pages) {
      await waitForPeerConnections(
        page,
        (connections, max) => {
          const live = connections.filter((pc) => pc.connectionState === 'connected');
          return live.length === 3 && live.every((pc) => {
            const video = pc.getSenders().find((s) => s.track?.kind === 'video')?.getParameters().encodings?.[0]?.maxBitrate;
            return typeof video === 'number' && video <= max;
          });
        },
        { timeout: 30_000, polling: 250 },
        fourStep.maxBitrateBps,
      );
      const limits = await senderLimits(page);
      // Audio is reserved first, at its full rate on every link.
      expect(limits.audio).toEqual([40_000, 40_000, 40_000]);
      const planned = limits.video.reduce((sum: number, v) => sum + (v ?? 0), 0) + limits.audio.reduce((sum: number, a) => sum + (a ?? 0), 0);
      expect(planned).toBeLessThanOrEqual(DEFAULT_UPLINK_BUDGET_BPS * HEADROOM);
    }
    // What actually goes out stays within the budget (15 % tolerance for RTP/RTCP overhead and bursts).
    const rate = await uploadRate(pages[0]!, 10_000);
    console.log(`4-person mesh: Anna uploads ${Math.round(rate / 1000)} kbit/s; per-peer video limits ${(await senderLimits(pages[0]!)).video.join(', ')}`);
    expect(rate).toBeLessThanOrEqual(DEFAULT_UPLINK_BUDGET_BPS * 1.15);
  });

  it('lowers every per-peer target when a fifth person joins', { timeout: 90_000 }, async () => {
    const before = await senderLimits(pages[0]!);
    const lowestBefore = Math.min(...before.video.map((v) => v ?? Infinity));
    await join('Erik');
    await waitForRemoteVideos(pages[0]!, 4);
    await waitForPeerConnections(
      pages[0]!,
      (connections, lowest) => {
        const live = connections.filter((pc) => pc.connectionState === 'connected');
        return live.length === 4 && live.every((pc) => {
          const video = pc.getSenders().find((s) => s.track?.kind === 'video')?.getParameters().encodings?.[0]?.maxBitrate;
          return typeof video === 'number' && video < lowest;
        });
      },
      { timeout: 60_000, polling: 250 },
      lowestBefore,
    );
    const after = await senderLimits(pages[0]!);
    console.log(`per-peer video limits: 4 people ${before.video.join(', ')}; 5 people ${after.video.join(', ')}`);
    expect(Math.max(...after.video.map((v) => v ?? Infinity))).toBeLessThanOrEqual(CAMERA_STEPS[roomStep(5)]!.maxBitrateBps);
  });
});
