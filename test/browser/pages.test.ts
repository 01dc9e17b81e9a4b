// The pages around a meeting: help with the app code's hash, and the German interface.

import { createHash } from 'node:crypto';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('help and languages', () => {
  let server: TestServer;
  let browser: Browser;
  let germanBrowser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ staticDir: 'dist/client' });
    browser = await launchBrowser('chromium');
    germanBrowser = await launchBrowser('chromium', { args: ['--lang=de-DE', '--accept-lang=de-DE,de'] });
  });

  afterAll(async () => {
    await browser?.close();
    await germanBrowser?.close();
    await server?.close();
  });

  it('shows on the help page the SHA-256 of the app code the browser actually runs', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    await page.locator('a::-p-text(Help)').click();
    await page.waitForSelector('[data-bundle-sha256]');
    const shown = await page.$eval('[data-bundle-sha256]', (element) => element.getAttribute('data-bundle-sha256'));
    const script = await page.$eval('script[type=module]', (element) => (element as HTMLScriptElement).src);
    const served = Buffer.from(await (await fetch(script)).arrayBuffer());
    expect(shown).toBe(createHash('sha256').update(served).digest('hex'));
    expect(await page.$eval('main.help', (main) => main.textContent)).toContain('one blind guess');
  });

  it('speaks German to a German browser, and switches to English on request', async () => {
    const page = await germanBrowser.newPage();
    await page.goto(server.url + '/');
    await page.waitForSelector('#meeting-name');
    expect(await page.$eval('html', (html) => html.lang)).toBe('de');
    expect(await page.$eval('form.go button[type=submit]', (button) => button.textContent)).toBe('Los');
    expect(await page.$eval('label[for=meeting-name]', (label) => label.textContent)).toBe('Name des Treffens');
    await page.locator('button::-p-text(English)').click();
    await page.waitForFunction(() => document.querySelector('form.go button[type=submit]')?.textContent === 'Go');
    await page.reload();
    await page.waitForSelector('#meeting-name');
    expect(await page.$eval('form.go button[type=submit]', (button) => button.textContent)).toBe('Go');
  });

  it("shows the operator's footer links, and the operator's default language to browsers that prefer neither of ours", async () => {
    const town = await startTestServer({
      staticDir: 'dist/client',
      client: { footerLinks: { privacy: 'https://town.example/privacy', imprint: 'https://town.example/imprint' }, defaultLanguage: 'de' },
    });
    const french = await launchBrowser('chromium', { args: ['--lang=fr-FR', '--accept-lang=fr-FR,fr'] });
    try {
      const page = await french.newPage();
      await page.goto(town.url + '/');
      await page.waitForSelector('footer.app-footer a');
      expect(await page.$$eval('footer.app-footer a', (links) => links.map((a) => [a.textContent, a.getAttribute('href')]))).toEqual([
        ['Datenschutz', 'https://town.example/privacy'],
        ['Impressum', 'https://town.example/imprint'],
      ]);
      expect(await page.$eval('form.go button[type=submit]', (button) => button.textContent)).toBe('Los');
    } finally {
      await french.close();
      await town.close();
    }
  });
});
