// Network faults in a three-person mesh call, made with real namespaces and nftables:
// - Anna's office loses all traffic for 5 s: the others see her tile reconnecting, and once the
//   traffic is back everyone sees everyone's video again within a bound.
// - The path between Anna's and Ben's offices breaks (mid-call, or from the start) while both still
//   reach the server, the relay and Carla: Anna and Ben meet again through the relay, and Carla's
//   connections to them are not touched.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, peerConnections, recordPeerConnections } from '../helpers/browser.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import {
  SERVER_IP,
  blockBetweenOffices,
  clearFault,
  createOfficeNetwork,
  cutOffice,
  destroyOfficeNetwork,
  faultDrops,
  launchChromiumInOffice,
  officeIp,
  type OfficeName,
} from '../helpers/office.js';
import { startOfficeRelay, type OfficeRelay } from '../helpers/office-relay.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DROP_MS = 5000;
const RECOVERY_BOUND_MS = 20_000;
const RELAY_REPAIR_BOUND_MS = 30_000;
/** How long a test keeps watching for a recovery, beyond its bound, so a slow one is measured rather than cut off. */
const WATCH_MS = 45_000;
const DIRECT = ['host', 'srflx', 'prflx'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One RTCPeerConnection of a page, as its getStats() sees it (index: its place in creation order). */
interface Link {
  index: number;
  state: string;
  selectedPairId: string | undefined;
  localCandidateId: string | undefined;
  remoteCandidateId: string | undefined;
  /** Local and remote candidate types of the selected pair. */
  candidateTypes: string[];
  framesDecoded: number;
  /** Addresses of every remote candidate the connection knows: tells whom it connects to. */
  remoteAddresses: string[];
  /** This side's ICE username fragment: a new one means ICE was restarted. */
  iceUfrag: string | undefined;
  /** 'relay' once the app has switched the connection to the relay only (a repair). */
  policy: string;
}

function links(page: Page): Promise<Link[]> {
  return peerConnections(page, (connections) =>
    Promise.all(
      connections.map(async (pc, index) => {
        const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
        const transport = stats.find((s) => s.type === 'transport');
        const selectedPairId = transport?.selectedCandidatePairId as string | undefined;
        const pair = stats.find((s) => s.id === selectedPairId);
        const local = stats.find((s) => s.id === pair?.localCandidateId);
        const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
        return {
          index,
          state: pc.connectionState,
          selectedPairId,
          localCandidateId: pair?.localCandidateId as string | undefined,
          remoteCandidateId: pair?.remoteCandidateId as string | undefined,
          candidateTypes: [local?.candidateType, remote?.candidateType].map(String),
          framesDecoded: stats.filter((s) => s.type === 'inbound-rtp' && s.kind === 'video').reduce((sum, s) => sum + Number(s.framesDecoded ?? 0), 0),
          remoteAddresses: stats.filter((s) => s.type === 'remote-candidate').map((s) => String(s.address ?? s.ip)),
          iceUfrag: /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '')?.[1],
          policy: pc.getConfiguration().iceTransportPolicy ?? 'all',
        };
      }),
    ),
  );
}

const live = (all: Link[]) => all.filter((link) => link.state !== 'closed');

/** The page's live connection to whoever has candidates at `address`. */
function linkTo(all: Link[], address: string): Link | undefined {
  return live(all).find((link) => link.remoteAddresses.includes(address));
}

interface Tile {
  name: string;
  connection: string | null;
  status: string | null;
  playing: boolean;
}

function tiles(page: Page): Promise<Tile[]> {
  return page.$$eval('.tile.remote', (figures) =>
    figures.map((figure) => {
      const video = figure.querySelector('video');
      const status = figure.querySelector('.status');
      return {
        name: figure.querySelector('.name')?.textContent ?? '',
        connection: figure.getAttribute('data-connection'),
        status: status ? `${status.className}: ${status.textContent}` : null,
        playing: Boolean(video && video.videoWidth > 0 && !video.paused),
      };
    }),
  );
}

/**
 * What keeps each page from showing the call as whole: two remote tiles playing video (marked
 * connected when `marked`), two connected peer connections each decoding new frames within 0.5 s.
 * Empty when everything flows.
 */
async function videoProblems(pages: Record<string, Page>, { marked }: { marked: boolean }): Promise<string[]> {
  const entries = Object.entries(pages);
  const before = await Promise.all(entries.map(([, page]) => links(page)));
  await sleep(500);
  const after = await Promise.all(entries.map(([, page]) => links(page)));
  const shown = await Promise.all(entries.map(([, page]) => tiles(page)));
  const problems: string[] = [];
  entries.forEach(([name], i) => {
    const now = live(after[i]!);
    if (now.length !== 2) problems.push(`${name}: ${now.length} live connections`);
    for (const link of now) {
      const earlier = before[i]!.find((l) => l.index === link.index);
      if (link.state !== 'connected') problems.push(`${name}: connection ${link.index} ${link.state}`);
      if (!earlier || link.framesDecoded <= earlier.framesDecoded) problems.push(`${name}: no new frames on connection ${link.index}`);
    }
    if (shown[i]!.length !== 2) problems.push(`${name}: ${shown[i]!.length} remote tiles`);
    for (const tile of shown[i]!) {
      if (!tile.playing) problems.push(`${name}: ${tile.name}'s video not playing`);
      if (marked && tile.connection !== 'connected') problems.push(`${name}: ${tile.name}'s tile data-connection=${tile.connection}`);
    }
  });
  return problems;
}

/** Polls `problems` until it reports none; returns the ms from `since`, or throws with the last problems after `timeout`. */
async function timeUntilFixed(since: number, timeout: number, problems: () => Promise<string[]>): Promise<number> {
  let last: string[] = [];
  while (Date.now() - since < timeout) {
    last = await problems();
    if (last.length === 0) return Date.now() - since;
  }
  throw new Error(`still broken ${timeout} ms later: ${last.join('; ')}`);
}

/** Records every ICE and connection state change of the page's current peer connections, for the log. */
async function watchStates(page: Page, since: number): Promise<void> {
  await peerConnections(
    page,
    (connections, since) => {
      const w = window as unknown as { __states: string[] };
      w.__states = [];
      connections.forEach((pc, index) => {
        const note = (what: string) => w.__states.push(`${Date.now() - since}ms #${index} ${what}`);
        pc.addEventListener('iceconnectionstatechange', () => note(`ice ${pc.iceConnectionState}`));
        pc.addEventListener('connectionstatechange', () => note(`pc ${pc.connectionState}`));
      });
    },
    since,
  );
}

async function states(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { __states?: string[] }).__states?.join(', ') ?? '');
}

describe('network faults in a three-person call', { timeout: 180_000 }, () => {
  let server: TestServer;
  let relay: OfficeRelay;
  let origin: string;
  let browsers: Browser[] = [];

  beforeAll(async () => {
    createOfficeNetwork();
    relay = await startOfficeRelay();
    // Seats kept for 20 s as in production: a participant cut off for a few seconds keeps her place.
    server = await startTestServer({ staticDir: 'dist/client', host: '0.0.0.0', iceServersFor: relay.relay.iceServersFor, seatGraceSeconds: 20 });
    origin = `http://${SERVER_IP}:${server.port}`;
  });

  afterEach(async () => {
    clearFault('a');
    clearFault('b');
    clearFault('isp');
    await Promise.all(browsers.map((browser) => browser.close().catch(() => undefined)));
    browsers = [];
  });

  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close().catch(() => undefined)));
    await server?.close();
    await relay?.stop();
    destroyOfficeNetwork();
  });

  /** A browser in an office, or (no office) one on the server's side of the ISP that both offices reach directly. */
  async function browserIn(office?: OfficeName): Promise<Browser> {
    const browser = office
      ? await launchChromiumInOffice(office, origin, [relay.trustCertificateArg])
      : await launchBrowser('chromium', { args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`, relay.trustCertificateArg] });
    browsers.push(browser);
    return browser;
  }

  /** A person in a browser context of their own, joined to the meeting. */
  async function person(browser: Browser, name: string, meeting: string): Promise<Page> {
    const page = await (await browser.createBrowserContext()).newPage();
    await recordPeerConnections(page);
    await startMeetingFromHome(page, origin, meeting);
    await joinAs(page, name);
    return page;
  }

  it("shows Anna reconnecting while her office's traffic is dropped for 5 s, and the call recovers once it is back", async () => {
    const officeB = await browserIn('b');
    const anna = await person(await browserIn('a'), 'Anna', 'fault-drop');
    const ben = await person(officeB, 'Ben', 'fault-drop');
    const carla = await person(officeB, 'Carla', 'fault-drop');
    const trio = { Anna: anna, Ben: ben, Carla: carla };
    for (const page of Object.values(trio)) await waitForRemoteVideos(page, 2, 45_000);
    await timeUntilFixed(Date.now(), 20_000, () => videoProblems(trio, { marked: false }));

    const cutAt = Date.now();
    await Promise.all(Object.values(trio).map((page) => watchStates(page, cutAt)));
    cutOffice('a');
    let duringCut: { shownAfterMs: number | null; anna: Tile | undefined; carla: Tile | undefined } | undefined;
    const annaFrames: number[] = [];
    let drops: Record<string, number> = {};
    try {
      // Ben's tiles once Anna's shows "Reconnecting…", or at the end of the cut if it never does.
      const shown = ben
        .waitForFunction(
          () => {
            const tile = [...document.querySelectorAll('.tile.remote')].find((figure) => figure.querySelector('.name')?.textContent === 'Anna');
            return tile?.getAttribute('data-connection') === 'reconnecting' && tile.querySelector('.status.reconnecting')?.textContent === 'Reconnecting…';
          },
          { timeout: Math.max(1, cutAt + DROP_MS - Date.now()), polling: 100 },
        )
        .then(
          () => Date.now() - cutAt,
          () => null,
        )
        .then(async (shownAfterMs) => {
          const now = await tiles(ben);
          return { shownAfterMs, anna: now.find((t) => t.name === 'Anna'), carla: now.find((t) => t.name === 'Carla') };
        });
      // Proof the cut is real: Anna decodes nothing new between 1.5 s and 4.5 s into it.
      const frozen = (async () => {
        for (const at of [1500, 4500]) {
          await sleep(cutAt + at - Date.now());
          annaFrames.push(live(await links(anna)).reduce((sum, link) => sum + link.framesDecoded, 0));
        }
      })();
      [duringCut] = await Promise.all([shown, frozen]);
      await sleep(cutAt + DROP_MS - Date.now());
      drops = faultDrops('a');
    } finally {
      clearFault('a');
    }
    const restoredAt = Date.now();
    const seenDuringCut = await states(ben);
    console.log(`network fault: Anna's tile on Ben's page ${duringCut?.shownAfterMs == null ? `not shown reconnecting within the ${DROP_MS} ms cut` : `reconnecting ${duringCut.shownAfterMs} ms into the cut`}; Ben's connection states during the cut: ${seenDuringCut || 'no change'}`);

    expect(drops.input, 'packets dropped coming into office A').toBeGreaterThan(0);
    expect(drops.output, 'packets dropped leaving office A').toBeGreaterThan(0);
    expect(annaFrames[1], 'Anna decodes no new video while cut off').toBeLessThanOrEqual(annaFrames[0]!);
    // Soft: the recovery below is measured (and reported) even when the tile said nothing.
    expect.soft(duringCut?.shownAfterMs, "Ben sees Anna's tile reconnecting (data-connection and the status text) within the 5 s cut").not.toBeNull();
    expect.soft(duringCut?.anna, "Anna's tile on Ben's page").toMatchObject({ connection: 'reconnecting', status: 'status reconnecting: Reconnecting…' });
    expect.soft(duringCut?.carla?.connection, "Carla's tile on Ben's page, whose path works, stays connected").toBe('connected');

    const recoveredMs = await timeUntilFixed(restoredAt, WATCH_MS, () => videoProblems(trio, { marked: true }));
    console.log(`network fault: recovered ${recoveredMs} ms after the traffic came back (cut ${DROP_MS} ms; Ben's connection states: ${await states(ben)})`);
    expect(recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it('repairs Anna and Ben through the relay when the path between their offices breaks mid-call, and leaves Carla alone', async () => {
    const anna = await person(await browserIn('a'), 'Anna', 'fault-pair');
    const ben = await person(await browserIn('b'), 'Ben', 'fault-pair');
    const carla = await person(await browserIn(), 'Carla', 'fault-pair');
    const trio = { Anna: anna, Ben: ben, Carla: carla };
    for (const page of Object.values(trio)) await waitForRemoteVideos(page, 2, 45_000);

    // The premise: video flows everywhere, and Anna and Ben reach each other directly (the path
    // about to break). Which pairs Carla's connections select is ICE's business (under load it may
    // keep a relayed pair that answered first): her guarantee is checked below, whatever they are.
    await timeUntilFixed(Date.now(), 30_000, async () => {
      const problems = await videoProblems(trio, { marked: false });
      for (const [name, page, address] of [['Anna', anna, officeIp('b')], ['Ben', ben, officeIp('a')]] as const) {
        const link = linkTo(await links(page), address);
        if (!link) problems.push(`${name}: no connection to the other office`);
        else if (!link.candidateTypes.every((type) => DIRECT.includes(type))) problems.push(`${name}: connection to the other office goes ${link.candidateTypes.join('-')}`);
      }
      return problems;
    });
    const carlaBefore = await links(carla);
    console.log(`pair blocked mid-call: before the block Carla's connections go ${live(carlaBefore).map((link) => link.candidateTypes.join('-')).join(', ')}`);

    const blockedAt = Date.now();
    await Promise.all(Object.values(trio).map((page) => watchStates(page, blockedAt)));
    const carlaWatch = watchCarla(carla);
    blockBetweenOffices();
    let repairedMs: number | undefined;
    let repairError: unknown;
    let drops: Record<string, number> = {};
    try {
      repairedMs = await timeUntilFixed(blockedAt, WATCH_MS, () => pairProblems(anna, ben));
      // Carla keeps being watched a little after the repair.
      await sleep(2000);
    } catch (error) {
      repairError = error;
    } finally {
      drops = faultDrops('isp');
    }
    const carlaSamples = await carlaWatch.stop();
    const carlaAfter = await links(carla);
    console.log(
      `pair blocked mid-call: Anna and Ben ${repairedMs === undefined ? 'not repaired' : `repaired through the relay ${repairedMs} ms after the block`}; ` +
        `states Anna: ${await states(anna)}; Ben: ${await states(ben)}; Carla: ${await states(carla)}`,
    );

    expect(drops.forward ?? 0, 'packets dropped between the offices').toBeGreaterThan(0);
    // Carla's connections are the same objects (no new one made, the same ones live), never
    // restarted (same ICE credentials) nor switched to the relay, connected, and decoding throughout.
    expect.soft(carlaAfter.length, 'peer connections Carla ever made').toBe(carlaBefore.length);
    expect.soft(untouched(live(carlaAfter))).toEqual(untouched(live(carlaBefore)));
    expect.soft(live(carlaAfter).map((link) => link.state)).toEqual(['connected', 'connected']);
    expect.soft(carlaSamples.problems, "Carla's video and tiles throughout").toEqual([]);
    expect.soft(carlaSamples.count, "Carla's samples taken").toBeGreaterThan(3);
    if (repairError) throw repairError;
    expect(repairedMs).toBeLessThan(RELAY_REPAIR_BOUND_MS);
  });

  it('connects Anna and Ben through the relay when the path between their offices is blocked from the start, and Carla to both without any repair', async () => {
    blockBetweenOffices();
    const anna = await person(await browserIn('a'), 'Anna', 'fault-pair-start');
    const ben = await person(await browserIn('b'), 'Ben', 'fault-pair-start');
    const joinedAt = Date.now();
    const carla = await person(await browserIn(), 'Carla', 'fault-pair-start');
    const trio = { Anna: anna, Ben: ben, Carla: carla };
    for (const page of Object.values(trio)) await waitForRemoteVideos(page, 2, 45_000);
    const carlaFirst = await links(carla);
    const flowingMs = await timeUntilFixed(joinedAt, WATCH_MS, () => videoProblems(trio, { marked: false }));

    const annaToBen = linkTo(await links(anna), officeIp('b'));
    const benToAnna = linkTo(await links(ben), officeIp('a'));
    const carlaAll = await links(carla);
    const carlaLinks = live(carlaAll);
    // Which pairs Carla's connections select is ICE's business (logged, not asserted): she may use
    // direct paths or the relay; what is Treff's is that she needed no repair to get there.
    console.log(
      `pair blocked from the start: all video flowing ${flowingMs} ms after Ben joined; ` +
        `Anna-Ben ${annaToBen?.candidateTypes.join('-')}, Carla ${carlaLinks.map((link) => link.candidateTypes.join('-')).join(', ')}`,
    );
    expect(faultDrops('isp').forward ?? 0, 'packets dropped between the offices').toBeGreaterThan(0);
    expect(annaToBen?.candidateTypes).toContain('relay');
    expect(benToAnna?.candidateTypes).toContain('relay');
    expect(carlaAll, 'peer connections Carla ever made').toHaveLength(2);
    expect(carlaLinks.map((link) => link.state)).toEqual(['connected', 'connected']);
    // Never restarted (the ICE credentials she first connected with) and never switched to the relay only.
    expect(untouched(carlaLinks)).toEqual(untouched(live(carlaFirst)));
    expect(carlaLinks.map((link) => link.policy)).toEqual(['all', 'all']);
  });
});

/** What the app must leave alone on a connection whose path works: which connection it is, its ICE credentials, its transport policy. */
function untouched(all: Link[]) {
  return all.map(({ index, iceUfrag, policy }) => ({ index, iceUfrag, policy }));
}

/** What keeps Anna and Ben from seeing each other again through the relay. */
async function pairProblems(anna: Page, ben: Page): Promise<string[]> {
  const sides = [
    { name: 'Anna', page: anna, other: 'Ben', address: officeIp('b') },
    { name: 'Ben', page: ben, other: 'Anna', address: officeIp('a') },
  ];
  const before = await Promise.all(sides.map(({ page, address }) => links(page).then((all) => linkTo(all, address))));
  await sleep(500);
  const problems: string[] = [];
  for (const [i, { name, page, other, address }] of sides.entries()) {
    const link = linkTo(await links(page), address);
    if (!link) {
      problems.push(`${name}: no connection to ${other}`);
      continue;
    }
    if (link.state !== 'connected') problems.push(`${name}: connection to ${other} ${link.state}`);
    if (!link.candidateTypes.includes('relay')) problems.push(`${name}: connection to ${other} goes ${link.candidateTypes.join('-')}`);
    const earlier = before[i];
    if (!earlier || earlier.index !== link.index || link.framesDecoded <= earlier.framesDecoded) problems.push(`${name}: no new frames from ${other}`);
    const tile = (await tiles(page)).find((t) => t.name === other);
    if (!tile?.playing) problems.push(`${name}: ${other}'s video not playing`);
    if (tile?.connection !== 'connected') problems.push(`${name}: ${other}'s tile data-connection=${tile?.connection}`);
  }
  return problems;
}

/**
 * Samples Carla's page every second until stopped: each of her two connections decodes new frames
 * in every interval, and both remote tiles stay marked connected.
 */
function watchCarla(carla: Page): { stop(): Promise<{ count: number; problems: string[] }> } {
  let running = true;
  const problems: string[] = [];
  let count = 0;
  const done = (async () => {
    let previous = live(await links(carla));
    const started = Date.now();
    while (running) {
      await sleep(1000);
      const now = live(await links(carla));
      const shown = await tiles(carla);
      count += 1;
      const at = `${Date.now() - started} ms`;
      if (now.length !== 2) problems.push(`${at}: ${now.length} live connections`);
      for (const link of now) {
        const earlier = previous.find((l) => l.index === link.index);
        if (!earlier || link.framesDecoded <= earlier.framesDecoded) problems.push(`${at}: no new frames on connection ${link.index}`);
      }
      for (const tile of shown) if (tile.connection !== 'connected') problems.push(`${at}: ${tile.name}'s tile data-connection=${tile.connection}`);
      previous = now;
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { count, problems };
    },
  };
}
