// The pages around a meeting: help with the app code's hash, and the German interface.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { startTestServer } from '../helpers/server.js';

describe('help and languages', () => {
  const meeting = useBrowserMeeting();

  it('shows on the help page the SHA-256 of the app code the browser actually runs', async () => {
    const page = await meeting.open({ record: false, collectErrors: false });
    await page.goto(meeting.baseUrl + '/');
    await page.locator('a::-p-text(Help)').click();
    await page.waitForSelector('[data-bundle-sha256]');
    const shown = await page.$eval('[data-bundle-sha256]', (element) => element.getAttribute('data-bundle-sha256'));
    const script = await page.$eval('script[type=module]', (element) => (element as HTMLScriptElement).src);
    const served = Buffer.from(await (await fetch(script)).arrayBuffer());
    expect(shown).toBe(createHash('sha256').update(served).digest('hex'));
    expect(await page.$eval('main.help', (main) => main.textContent)).toContain('one blind guess');
  });

  it('speaks German to a German browser, and switches to English on request', async () => {
    const page = await meeting.open({ launch: { args: ['--lang=de-DE', '--accept-lang=de-DE,de'] }, record: false, collectErrors: false });
    await page.goto(meeting.baseUrl + '/');
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
    try {
      const page = await meeting.open({ launch: { args: ['--lang=fr-FR', '--accept-lang=fr-FR,fr'] }, record: false, collectErrors: false });
      await page.goto(town.url + '/');
      await page.waitForSelector('footer.app-footer a');
      expect(await page.$$eval('footer.app-footer a', (links) => links.map((a) => [a.textContent, a.getAttribute('href')]))).toEqual([
        ['Datenschutz', 'https://town.example/privacy'],
        ['Impressum', 'https://town.example/imprint'],
      ]);
      expect(await page.$eval('form.go button[type=submit]', (button) => button.textContent)).toBe('Los');
    } finally {
      await town.close();
    }
  });
});
