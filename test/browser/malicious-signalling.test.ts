// A signalling server that swaps the DTLS fingerprints in the SDP it relays must not get a
// working call: DTLS rejects the mismatch, and the people see that the call could not be secured.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, recordPeerConnections } from '../helpers/browser.js';
import { startRewritingProxy, type RewritingProxy } from '../helpers/fingerprint-rewriting-proxy.js';
import { joinAs, startMeetingFromHome } from '../helpers/meeting.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('a malicious signalling server', () => {
  let server: TestServer;
  let proxy: RewritingProxy;
  let browser: Browser;
  let anna: Page;
  let ben: Page;

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    proxy = await startRewritingProxy(server.url);
    browser = await launchBrowser('chromium');
    anna = await (await browser.createBrowserContext()).newPage();
    ben = await (await browser.createBrowserContext()).newPage();
    for (const page of [anna, ben]) {
      await recordPeerConnections(page);
      // Every state any connection ever reached, not just the last one.
      await page.evaluateOnNewDocument(() => {
        const states: string[] = [];
        (window as unknown as { __states: string[] }).__states = states;
        const Recorded = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Recorded {
          constructor(config?: RTCConfiguration) {
            super(config);
            this.addEventListener('connectionstatechange', () => states.push(this.connectionState));
          }
        } as typeof RTCPeerConnection;
      });
    }
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  it('cannot get a call to connect by swapping fingerprints, and the UI says it could not be secured', async () => {
    await startMeetingFromHome(anna, proxy.url, 'tampered');
    await joinAs(anna, 'Anna');
    await startMeetingFromHome(ben, proxy.url, 'tampered');
    await joinAs(ben, 'Ben');

    for (const page of [anna, ben]) {
      await page.waitForSelector('.tile.remote .status.insecure', { timeout: 20_000 });
      expect(await page.$eval('.banner.danger', (banner) => banner.textContent)).toContain('could not be secured');
    }
    expect(proxy.rewritten()).toBeGreaterThanOrEqual(2);
    for (const page of [anna, ben]) {
      const reports = await page.evaluate(() => (window as unknown as { __states: string[] }).__states);
      // Recorded from the first state change on: the connection never reached "connected".
      expect(reports).not.toContain('connected');
    }
  });
});
