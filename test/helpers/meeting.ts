// What a user does in Treff, as puppeteer steps, and what their browser can tell about the call.

import type { Page } from 'puppeteer-core';
import { peerConnections, waitForPeerConnections } from './browser.js';

/** On the home page: type a meeting name and press Go. */
export async function startMeetingFromHome(page: Page, baseUrl: string, meetingName: string): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.waitForSelector('#meeting-name');
  await page.type('#meeting-name', meetingName);
  await page.click('form.go button[type=submit]');
  await page.waitForSelector('#display-name');
}

/**
 * Replaces the text of an input as a user would (select, delete, type) once it is visible, and waits
 * until it holds exactly `text`. Setting the value behind the page's back is undone by its next
 * render, which then shows the old text followed by the typed one ("BenBen").
 */
export async function replaceText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForSelector(selector, { visible: true });
  await page.$eval(selector, (input) => {
    (input as HTMLInputElement).focus();
    (input as HTMLInputElement).select();
  });
  await page.keyboard.press('Backspace');
  await page.type(selector, text);
  await page.waitForFunction((selector, text) => document.querySelector<HTMLInputElement>(selector)?.value === text, { timeout: 5000 }, selector, text);
}

/**
 * On the join screen: waits until it has its final layout. Join is enabled once camera, microphone
 * and their pickers are shown; before that the pickers still push everything below them down, and
 * a click aimed at a checkbox or button there lands beside it.
 */
export async function waitForJoinScreen(page: Page): Promise<void> {
  await page.waitForSelector('.join button.primary:not([disabled])');
}

/** On the join screen: ticks or unticks a checkbox (e.g. #relay-only) as a user would, and waits until it took. */
export async function setCheckbox(page: Page, selector: string, checked: boolean): Promise<void> {
  await waitForJoinScreen(page);
  if ((await page.$eval(selector, (box) => (box as HTMLInputElement).checked)) !== checked) await page.click(selector);
  await page.waitForFunction((selector, checked) => document.querySelector<HTMLInputElement>(selector)?.checked === checked, { timeout: 5000 }, selector, checked);
}

/** On the join screen: enter a display name (replacing a remembered one) and join. */
export async function joinAs(page: Page, displayName: string): Promise<void> {
  await replaceText(page, '#display-name', displayName);
  await waitForJoinScreen(page);
  await page.click('.join button.primary');
  await page.waitForSelector('.call').catch(async (error: Error) => {
    // What the page shows instead (an error on the join screen, a waiting room): say it in the failure.
    const shown = await page.evaluate(() => document.querySelector('main')?.textContent?.slice(0, 300) ?? document.body.textContent?.slice(0, 300));
    throw new Error(`${error.message}; the page shows: ${shown}`);
  });
}

export async function remoteNames(page: Page): Promise<string[]> {
  return page.$$eval('.tile.remote .name', (names) => names.map((name) => name.textContent ?? ''));
}

/** Waits until `count` remote tiles show video with real dimensions. */
export async function waitForRemoteVideos(page: Page, count: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const videos = [...document.querySelectorAll<HTMLVideoElement>('.tile.remote video')];
      return videos.length === expected && videos.every((video) => video.videoWidth > 0 && !video.paused);
    },
    { timeout, polling: 50 },
    count,
  );
}

export interface ConnectionReport {
  connectionState: string;
  dtlsState: string | undefined;
  tlsVersion: string | undefined;
  srtpCipher: string | undefined;
  framesDecoded: number;
  audioPacketsReceived: number;
  /** Local and remote candidate types of the selected pair: host, srflx, prflx or relay. */
  candidateTypes: string[];
  /** How this browser reaches the relay (udp, tcp or tls), when its side of the pair is relayed. */
  relayProtocol: string | undefined;
}

/** getStats() of every live peer connection in the page (recorded by recordPeerConnections). */
export async function connectionReports(page: Page): Promise<ConnectionReport[]> {
  return peerConnections(page, async (connections) => {
    const live = connections.filter((pc) => pc.connectionState !== 'closed');
    return Promise.all(
      live.map(async (pc) => {
        const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
        const transport = stats.find((s) => s.type === 'transport');
        const selectedId = transport?.selectedCandidatePairId;
        const pair = selectedId
          ? stats.find((s) => s.id === selectedId)
          : stats.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded' && (s.nominated || s.selected));
        const local = stats.find((s) => s.id === pair?.localCandidateId);
        const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
        const framesDecoded = stats
          .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
          .reduce((sum, s) => sum + Number(s.framesDecoded ?? 0), 0);
        const audioPacketsReceived = stats
          .filter((s) => s.type === 'inbound-rtp' && s.kind === 'audio')
          .reduce((sum, s) => sum + Number(s.packetsReceived ?? 0), 0);
        return {
          connectionState: pc.connectionState,
          dtlsState: transport?.dtlsState as string | undefined,
          tlsVersion: transport?.tlsVersion as string | undefined,
          srtpCipher: transport?.srtpCipher as string | undefined,
          framesDecoded,
          audioPacketsReceived,
          candidateTypes: [local?.candidateType, remote?.candidateType].map(String),
          relayProtocol: local?.relayProtocol as string | undefined,
        };
      }),
    );
  });
}

/** Video frames decoded so far over the page's live connections, and how many connections it ever made. */
export function framesDecoded(page: Page): Promise<{ decoded: number; connections: number }> {
  return peerConnections(page, async (connections) => {
    let decoded = 0;
    for (const pc of connections) {
      if (pc.connectionState === 'closed') continue;
      for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded ?? 0;
    }
    return { decoded, connections: connections.length };
  });
}

/**
 * Waits until every connection live now has decoded at least `frames` more video frames: video is
 * flowing (rather than "some frames arrived in a fixed interval", which a loaded machine can miss).
 */
export async function waitForNewFrames(page: Page, { frames = 1, timeout = 10_000 } = {}): Promise<void> {
  // (The count is written out twice: a function passed to the page cannot call another.)
  const before = await peerConnections(page, async (connections) =>
    Promise.all(
      connections.map(async (pc) =>
        pc.connectionState === 'closed'
          ? null
          : [...(await pc.getStats()).values()].filter((s) => s.type === 'inbound-rtp' && s.kind === 'video').reduce((sum, s) => sum + (s.framesDecoded ?? 0), 0),
      ),
    ),
  );
  await waitForPeerConnections(
    page,
    async (connections, before, frames) => {
      const now = await Promise.all(
        connections.map(async (pc) =>
          pc.connectionState === 'closed'
            ? null
            : [...(await pc.getStats()).values()].filter((s) => s.type === 'inbound-rtp' && s.kind === 'video').reduce((sum, s) => sum + (s.framesDecoded ?? 0), 0),
        ),
      );
      return before.every((was, i) => was === null || (now[i] ?? 0) >= was + frames);
    },
    { timeout, polling: 100 },
    before,
    frames,
  ).catch((error: Error) => {
    throw new Error(`video did not keep flowing on every connection (${frames} new frames within ${timeout} ms; decoded before: ${JSON.stringify(before)}): ${error.message}`);
  });
}
