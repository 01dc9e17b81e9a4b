// Two relays sharing one secret (issue 15): a call forced through the relay keeps going when the
// relay it uses is killed, by an ICE restart through the other relay the browsers were given.

import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../signal/config.js';
import { startRelay, type Relay } from '../../turn/relay.js';
import { peerConnections } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { startTestCoturn, TURN_HOST, TURN_SECRET, type TestCoturn } from '../helpers/coturn.js';
import { joinAs, setCheckbox, startMeetingFromHome, waitForNewFrames, waitForRemoteVideos } from '../helpers/meeting.js';

/** The port of the relay the page's live connection is relayed through now (its selected local candidate). */
function relayPortInUse(page: Page): Promise<number | undefined> {
  return peerConnections(page, async (connections) => {
    const live = connections.find((pc) => pc.connectionState === 'connected');
    if (!live) return undefined;
    const stats = [...(await live.getStats()).values()] as Array<Record<string, unknown>>;
    const transport = stats.find((s) => s.type === 'transport');
    const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
    const local = stats.find((s) => s.id === pair?.localCandidateId);
    const url = typeof local?.url === 'string' ? local.url : '';
    const port = /:(\d+)(\?|$)/.exec(url)?.[1];
    return local?.candidateType === 'relay' && port ? Number(port) : undefined;
  });
}

describe('a relayed call when its relay dies', () => {
  const relays: TestCoturn[] = [];
  let relay: Relay;
  beforeAll(async () => {
    // The test profile: both ends relay through 127.0.0.1, which production refuses (DESIGN.md, relay notes).
    relays.push(await startTestCoturn({ profile: 'test' }), await startTestCoturn({ profile: 'test' }));
    // What the node hands out with the second relay listed (TREFF_TURN_RELAYS), as an operator sets it.
    const { relay: config } = loadConfig(
      { TREFF_TURN: 'external', TREFF_TURN_HOST: TURN_HOST, TREFF_TURN_PORT: String(relays[0]!.port), TREFF_TURN_SECRET: TURN_SECRET, TREFF_TURN_RELAYS: `${TURN_HOST}:${relays[1]!.port}` },
      { staticDir: '' },
    );
    relay = await startRelay(config, () => undefined);
  }, 30_000);
  afterAll(() => Promise.all(relays.map((relay) => relay.close())), 30_000);

  const meeting = useBrowserMeeting({
    server: () => ({ iceServersFor: (id, host, address) => relay.iceServersFor(id, host, address) }),
  });

  const relayOnly = async (name: string): Promise<Page> => {
    const page = await meeting.open({ collectErrors: false });
    await startMeetingFromHome(page, meeting.baseUrl, 'relayed');
    await setCheckbox(page, '#relay-only', true);
    await joinAs(page, name);
    return page;
  };

  it('recovers through the other relay', { timeout: 120_000 }, async () => {
    const anna = await relayOnly('Anna');
    const ben = await relayOnly('Ben');
    for (const page of [anna, ben]) await waitForRemoteVideos(page, 1, 30_000);
    const port = await relayPortInUse(anna);
    expect(relays.map((r) => r.port)).toContain(port);
    const used = relays.find((r) => r.port === port)!;
    const other = relays.find((r) => r !== used)!;

    const killedAt = Date.now();
    await used.server.stop();
    await expect.poll(() => relayPortInUse(anna), { timeout: 60_000, interval: 250 }).toBe(other.port);
    for (const page of [anna, ben]) await waitForNewFrames(page, { frames: 25, timeout: 30_000 });
    console.log(`the relayed call recovered through the other relay ${Date.now() - killedAt} ms after its relay was killed`);
  });
});
