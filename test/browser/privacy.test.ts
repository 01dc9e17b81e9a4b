// A full call over HTTPS, as a town would run it: the browser trusts Treff's certificate (and
// nothing was relaxed but that), talks to nobody but Treff, gets no cookies, and Treff's logs
// keep nothing of what was said or who said it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '../../scripts/cert.js';
import { createLogger } from '../../signal/log.js';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

describe('privacy of a call over https', () => {
  let dir: string;
  let spkiSha256: string;
  const pages: Page[] = [];
  /** Every URL any page asked for, WebSockets included. */
  const requested: string[] = [];
  const cookiesSet: string[] = [];
  const logLines: string[] = [];
  const meeting = useBrowserMeeting({
    server: () => {
      dir = mkdtempSync(join(tmpdir(), 'treff-privacy-'));
      const certificate = makeSelfSignedCertificate({ dir, hosts: ['127.0.0.1'] });
      spkiSha256 = certificate.spkiSha256;
      return {
        tls: { certFile: certificate.certFile, keyFile: certificate.keyFile, redirectPort: undefined, hstsMaxAgeSeconds: 31536000 },
        logger: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
      };
    },
  });
  const errors = meeting.errors;

  beforeAll(async () => {
    // Trust exactly this certificate's key, as office.test.ts does for the relay.
    const browser = await meeting.launch('chromium', { args: [`--ignore-certificate-errors-spki-list=${spkiSha256}`] });
    for (let i = 0; i < 2; i++) {
      const page = await meeting.open({ in: browser, record: false });
      page.on('request', (request) => requested.push(request.url()));
      page.on('response', (response) => {
        const cookie = response.headers()['set-cookie'];
        if (cookie) cookiesSet.push(cookie);
      });
      const cdp = await page.createCDPSession();
      await cdp.send('Network.enable');
      cdp.on('Network.webSocketCreated', ({ url }) => requested.push(url));
      pages.push(page);
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets two people meet over https and wss with a certificate the browser was told to trust', async () => {
    const [anna, ben] = pages as [Page, Page];
    await startMeetingFromHome(anna, meeting.baseUrl, 'Datenschutz Sprechstunde');
    await joinAs(anna, 'Annegret Privatname');
    await startMeetingFromHome(ben, meeting.baseUrl, 'Datenschutz Sprechstunde');
    await joinAs(ben, 'Benedikt Privatname');
    await waitForRemoteVideos(anna, 1);
    await waitForRemoteVideos(ben, 1);
    expect(meeting.baseUrl).toMatch(/^https:/);
    expect(await anna.evaluate(() => window.isSecureContext)).toBe(true);
  });

  it('made no request to any origin but its own, and set no cookie', async () => {
    const own = new URL(meeting.baseUrl);
    const foreign = requested.filter((url) => {
      const parsed = new URL(url);
      if (parsed.protocol === 'data:' || parsed.protocol === 'blob:' || url === 'about:blank') return false;
      return parsed.host !== own.host || !['https:', 'wss:'].includes(parsed.protocol);
    });
    expect(requested.length).toBeGreaterThan(4);
    expect(requested.some((url) => url.startsWith(`wss://${own.host}/ws`))).toBe(true);
    expect(foreign).toEqual([]);
    expect(cookiesSet).toEqual([]);
    for (const page of pages) expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('ran with the Content-Security-Policy and HSTS, without a violation or page error', async () => {
    const response = await pages[0]!.goto(`${meeting.baseUrl}/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response?.headers()['strict-transport-security']).toBe('max-age=31536000');
    expect(errors.filter((error) => /Content Security Policy|Refused to/i.test(error))).toEqual([]);
  });

  it('logged nothing of the call: no SDP, no candidate, no meeting or display name', () => {
    const log = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of ['v=0', 'a=fingerprint', 'ice-pwd', 'candidate:', 'Datenschutz', 'datenschutz', 'Sprechstunde', 'sprechstunde', 'Annegret', 'Benedikt', 'Privatname']) {
      expect(log).not.toContain(secret);
    }
  });
});
