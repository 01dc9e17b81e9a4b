// Relay credentials expire (TURN REST scheme): a browser in a long meeting asks for fresh ones in
// good time, so an ICE restart or a newcomer late in the meeting can still use the relay.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { peerConnections, waitForPeerConnections } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { framesDecoded, waitForNewFrames, waitForRemoteVideos } from '../helpers/meeting.js';

/** Credentials that expire this long after they are minted: the browser should ask again after about 10.5 s. */
const LIFETIME_S = 14;

/** The relay usernames each live connection of the page would use for its next gathering. */
function relayUsernames(page: Page): Promise<string[]> {
  return peerConnections(page, (connections) =>
    connections
      .filter((pc) => pc.connectionState !== 'closed')
      .flatMap((pc) => pc.getConfiguration().iceServers?.flatMap((server) => (server.username ? [server.username] : [])) ?? []),
  );
}

describe('relay credentials in a long meeting', () => {
  const minted: string[] = [];
  const meeting = useBrowserMeeting({
    server: {
      iceServersFor: (id) => {
        const username = `${Math.floor(Date.now() / 1000) + LIFETIME_S}:${id}`;
        minted.push(username);
        // Nothing listens there: the call goes direct; only the credentials' lifecycle is under test.
        return [{ urls: ['turn:127.0.0.1:9?transport=udp'], username, credential: 'unused' }];
      },
    },
  });
  const errors = meeting.errors;

  it('are renewed before they expire, on the running connections, while the call goes on', { timeout: 60_000 }, async () => {
    const pages: Page[] = [];
    for (const name of ['Anna', 'Ben']) {
      pages.push(await meeting.join(name, 'long-meeting'));
    }
    for (const page of pages) await waitForRemoteVideos(page, 1);
    const anna = pages[0]!;
    const first = await relayUsernames(anna);
    expect(first).toHaveLength(1);
    expect(minted).toContain(first[0]);

    const asked = Date.now();
    await waitForPeerConnections(
      anna,
      (connections, old) => {
        const live = connections.filter((pc) => pc.connectionState !== 'closed');
        return live.length === 1 && live.every((pc) => pc.getConfiguration().iceServers?.some((server) => server.username && server.username !== old));
      },
      { timeout: 20_000, polling: 200 },
      first[0],
    );
    const renewed = await relayUsernames(anna);
    console.log(`relay credentials with a ${LIFETIME_S} s lifetime renewed ${Date.now() - asked} ms after the call was up: ${first[0]} → ${renewed[0]}`);
    expect(minted).toContain(renewed[0]);
    expect(Number(renewed[0]!.split(':')[0])).toBeGreaterThan(Number(first[0]!.split(':')[0]));

    // The same connection, still decoding video.
    expect((await framesDecoded(anna)).connections, 'peer connections Anna ever made').toBe(1);
    await waitForNewFrames(anna);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
