// A signalling server that swaps the DTLS fingerprints in the SDP it relays must not get a
// working call: DTLS rejects the mismatch, and the people see that the call could not be secured.

import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionLog } from '../helpers/browser.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { startRewritingProxy, type RewritingProxy } from '../helpers/fingerprint-rewriting-proxy.js';
import { joinAs, startMeetingFromHome } from '../helpers/meeting.js';

describe('a malicious signalling server', () => {
  const meeting = useBrowserMeeting();
  let proxy: RewritingProxy;
  let anna: Page;
  let ben: Page;

  beforeAll(async () => {
    proxy = await startRewritingProxy(meeting.baseUrl);
    anna = await meeting.open({ collectErrors: false });
    ben = await meeting.open({ collectErrors: false });
  });

  afterAll(async () => {
    await proxy?.close();
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
      // Every state change any connection made, from its creation on: none ever reached "connected".
      const log = await connectionLog(page);
      expect(log.some((entry) => / created /.test(entry)), log.join(', ')).toBe(true);
      expect(log.filter((entry) => / pc connected$/.test(entry))).toEqual([]);
    }
  });
});
