// After 5,000 structure-aware fuzz messages (test/helpers/protocol-arbitraries.ts) against the real
// server process, three people still meet through the UI in headless Chromium and see each other.
// The seed is fixed and printed; TREFF_FUZZ_SEED=<n> runs another.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser } from '../helpers/browser.js';
import { joinAs, remoteNames, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';
import { describeReport, fuzzSeed, runFuzz, startFuzzTarget, waitForEmpty, type FuzzTarget } from '../helpers/protocol-arbitraries.js';

const MESSAGES = 5000;
const RERUN = 'npx vitest run test/browser/after-fuzz.test.ts';

describe('a three-person meeting in Chromium after a fuzz', () => {
  let target: FuzzTarget;
  let browser: Browser;
  const pages: Page[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    target = await startFuzzTarget();
  });
  afterAll(async () => {
    await browser?.close();
    await target?.stop();
  });

  it(`lets three people meet through the UI after ${MESSAGES} fuzz messages`, { timeout: 120_000 }, async () => {
    const report = await runFuzz({ wsUrl: target.wsUrl, seed: fuzzSeed(), messages: MESSAGES, lanes: 8, deadline: Date.now() + 40_000, stop: () => target.exit !== undefined });
    const summary = describeReport(report, RERUN);
    console.log(summary);
    expect(target.exit, `${summary}\n--- server output ---\n${target.output().slice(-4000)}`).toBeUndefined();
    expect(report.findings.length, summary).toBe(0);
    expect(report.sent, summary).toBeGreaterThanOrEqual(MESSAGES);
    expect(await waitForEmpty(target), summary).toEqual({ connections: 0, rooms: 0, participants: 0, storedMeetings: 0 });

    browser = await launchBrowser('chromium');
    for (let i = 0; i < 3; i++) {
      const page = await (await browser.createBrowserContext()).newPage();
      errors.push(...collectPageErrors(page));
      pages.push(page);
    }
    const names = ['Anna', 'Ben', 'Carla'];
    for (const [i, page] of pages.entries()) {
      await startMeetingFromHome(page, target.url, 'After the Fuzz');
      await joinAs(page, names[i]!);
    }
    for (const page of pages) await waitForRemoteVideos(page, 2);
    for (const [i, page] of pages.entries()) expect((await remoteNames(page)).sort()).toEqual(names.filter((_, j) => j !== i));
    expect(target.exit).toBeUndefined();
  });
});
