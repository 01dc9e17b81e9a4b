// A participant on a slow line (uplink shaped to 250 kbit/s with tc in a network namespace):
// video adapts down, the voice keeps getting through, and the UI says the connection is weak.

import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerConnections } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { SERVER_IP, createOfficeNetwork, destroyOfficeNetwork, launchChromiumInOffice, setFirewall, shapeUplink } from '../helpers/office.js';

// Below what the policy would send a 2-person call's tile (350 kbit/s video + 40 kbit/s audio).
const UPLINK_KBIT = 250;

/** One kind of RTP stat summed over the page's live connections. */
function rtp(page: Page, type: 'outbound-rtp' | 'inbound-rtp', kind: 'audio' | 'video') {
  return peerConnections(
    page,
    async (connections, type, kind) => {
      const total = { bytes: 0, packets: 0, lost: 0, targetBitrate: 0, frameHeight: 0 };
      for (const pc of connections) {
        if (pc.connectionState !== 'connected') continue;
        for (const s of (await pc.getStats()).values()) {
          if (s.type !== type || s.kind !== kind) continue;
          total.bytes += s.bytesSent ?? s.bytesReceived ?? 0;
          total.packets += s.packetsSent ?? s.packetsReceived ?? 0;
          total.lost += s.packetsLost ?? 0;
          total.targetBitrate += s.targetBitrate ?? 0;
          total.frameHeight = Math.max(total.frameHeight, s.frameHeight ?? 0);
        }
      }
      return total;
    },
    type,
    kind,
  );
}

describe('a participant on a slow uplink', () => {
  beforeAll(() => {
    createOfficeNetwork();
    // No relay in this call: the offices are open, so the slow line is the only obstacle.
    setFirewall('a', 'open');
    setFirewall('b', 'open');
    shapeUplink('a', UPLINK_KBIT);
  });

  afterAll(() => {
    destroyOfficeNetwork();
  });

  const meeting = useBrowserMeeting({ server: { host: '0.0.0.0' } });

  it('sends less video, keeps the voice flowing, and says the connection is weak', { timeout: 120_000 }, async () => {
    const origin = `http://${SERVER_IP}:${meeting.server.port}`;
    const [anna, ben] = await Promise.all(
      (['a', 'b'] as const).map(async (office) => {
        const browser = meeting.adopt(await launchChromiumInOffice(office, origin));
        return meeting.open({ in: browser, defaultContext: true, collectErrors: false });
      }),
    );
    await startMeetingFromHome(anna!, origin, 'slow-line');
    await joinAs(anna!, 'Anna on DSL');
    await startMeetingFromHome(ben!, origin, 'slow-line');
    await joinAs(ben!, 'Ben');
    await waitForRemoteVideos(ben!, 1, 30_000);

    await anna!.waitForSelector('[data-weak-uplink]', { timeout: 60_000 }).catch(async (error) => {
      console.log('DIAG', await peerConnections(anna!, async (connections) => {
        const out: unknown[] = [];
        for (const pc of connections) {
          for (const s of (await pc.getStats()).values()) {
            if (s.type === 'candidate-pair' && s.nominated) out.push(['pair', s.availableOutgoingBitrate]);
            if (s.type === 'outbound-rtp' && s.kind === 'video') out.push(['video', s.targetBitrate, s.qualityLimitationReason, s.frameHeight]);
          }
        }
        return JSON.stringify(out);
      }));
      throw error;
    });
    const audioBefore = await rtp(ben!, 'inbound-rtp', 'audio');
    const videoBefore = await rtp(anna!, 'outbound-rtp', 'video');
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const audioAfter = await rtp(ben!, 'inbound-rtp', 'audio');
    const videoAfter = await rtp(anna!, 'outbound-rtp', 'video');

    const videoKbit = ((videoAfter.bytes - videoBefore.bytes) * 8) / 8 / 1000;
    const audioPackets = audioAfter.packets - audioBefore.packets;
    const audioLoss = (audioAfter.lost - audioBefore.lost) / Math.max(1, audioPackets);
    console.log(`shaped to ${UPLINK_KBIT} kbit/s: video ${Math.round(videoKbit)} kbit/s (target ${Math.round(videoAfter.targetBitrate / 1000)}, ${videoAfter.frameHeight}p), audio ${audioPackets} packets in 8 s, loss ${(audioLoss * 100).toFixed(1)} %`);
    // Video adapted below the line's rate (unshaped, this call sends 350 kbit/s of video)...
    expect(videoKbit).toBeLessThan(UPLINK_KBIT);
    // ...and the voice keeps flowing: Opus sends 50 packets a second.
    expect(audioPackets).toBeGreaterThan(8 * 40);
    expect(audioLoss).toBeLessThan(0.05);
  });
});
