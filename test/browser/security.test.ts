// Encryption people can verify: safety numbers that match per pair, survive reloads as
// "verified", and warn when a verified person's key changes.

import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

interface PanelReading {
  digits: string;
  summary: string | null;
  dtls: string;
  srtp: string;
  keyChangedWarning: boolean;
  verified: boolean;
}

/** Opens the security panel of the participant called `name`, as a user would, reads it and closes it. */
async function readSecurityPanel(page: Page, name: string): Promise<PanelReading> {
  await page.locator(`button[aria-label="Security and safety number of ${name}"]`).click();
  await page.waitForSelector('dialog.security [data-safety-digits]', { timeout: 10_000 }).catch(async (error) => {
    console.log('PANEL', await page.evaluate(() => document.querySelector('dialog.security')?.textContent ?? document.body.textContent));
    throw error;
  });
  await page.waitForFunction(() => document.querySelector('dialog.security [data-field="srtp"]')?.textContent !== '?', { timeout: 10_000 });
  const reading = await page.$eval('dialog.security', (dialog) => ({
    digits: dialog.querySelector('[data-safety-digits]')!.getAttribute('data-safety-digits')!,
    summary: dialog.querySelector('[data-summary]')?.getAttribute('data-summary') ?? null,
    dtls: dialog.querySelector('[data-field="dtls"]')?.textContent ?? '',
    srtp: dialog.querySelector('[data-field="srtp"]')?.textContent ?? '',
    keyChangedWarning: Boolean(dialog.querySelector('[data-warning="key-changed"]')),
    verified: Boolean(dialog.querySelector('[data-verified]')),
  }));
  await page.locator('dialog.security form button').click();
  await page.waitForSelector('dialog.security', { hidden: true });
  return reading;
}

describe('safety numbers in a three-person call', () => {
  const meeting = useBrowserMeeting();
  const pages: Record<'anna' | 'ben' | 'carla', Page> = {} as never;
  const errors = meeting.errors;

  beforeAll(async () => {
    for (const who of ['anna', 'ben', 'carla'] as const) pages[who] = await meeting.open();
    for (const [who, name] of [['anna', 'Anna'], ['ben', 'Ben'], ['carla', 'Carla']] as const) {
      await startMeetingFromHome(pages[who], meeting.baseUrl, 'verify-me');
      await joinAs(pages[who], name);
    }
    for (const page of Object.values(pages)) await waitForRemoteVideos(page, 2);
  });

  it('shows the same safety number on both sides of each pair, a different one for each pair, and the encryption in use', async () => {
    const annaSeesBen = await readSecurityPanel(pages.anna, 'Ben');
    const benSeesAnna = await readSecurityPanel(pages.ben, 'Anna');
    const annaSeesCarla = await readSecurityPanel(pages.anna, 'Carla');
    const carlaSeesAnna = await readSecurityPanel(pages.carla, 'Anna');
    const benSeesCarla = await readSecurityPanel(pages.ben, 'Carla');
    const carlaSeesBen = await readSecurityPanel(pages.carla, 'Ben');

    expect(annaSeesBen.digits).toMatch(/^\d{5}( \d{5}){4}$/);
    expect(benSeesAnna.digits).toBe(annaSeesBen.digits);
    expect(carlaSeesAnna.digits).toBe(annaSeesCarla.digits);
    expect(carlaSeesBen.digits).toBe(benSeesCarla.digits);
    expect(new Set([annaSeesBen.digits, annaSeesCarla.digits, benSeesCarla.digits]).size).toBe(3);

    for (const reading of [annaSeesBen, benSeesAnna, annaSeesCarla, carlaSeesAnna, benSeesCarla, carlaSeesBen]) {
      expect(reading.summary).toBe('direct');
      expect(reading.dtls).toMatch(/DTLS 1\.[23] · connected/);
      expect(reading.srtp).toMatch(/AES/);
    }
  });

  it('keeps a verified contact verified across a reload, with a fresh safety number', async () => {
    const before = await readSecurityPanel(pages.anna, 'Ben');
    await pages.anna.locator('button[aria-label="Security and safety number of Ben"]').click();
    await pages.anna.locator('::-p-text(They match: mark Ben as verified)').click();
    await pages.anna.waitForSelector('dialog.security [data-verified]');
    await pages.anna.locator('dialog.security form button').click();
    await pages.anna.waitForSelector('.tile.remote [data-badge="verified"]');

    await pages.ben.reload();
    await joinAs(pages.ben, 'Ben');
    await waitForRemoteVideos(pages.anna, 2);
    const after = await readSecurityPanel(pages.anna, 'Ben');
    expect(after.verified).toBe(true);
    expect(after.keyChangedWarning).toBe(false);
    expect(after.digits).not.toBe(before.digits);
    expect(await readSecurityPanel(pages.ben, 'Anna')).toMatchObject({ digits: after.digits });
  });

  it('warns when a verified contact shows up with a different key', async () => {
    // Ben's browser loses its stored certificate (a new device, or cleared site data).
    await pages.ben.evaluate(() => new Promise((resolve) => (indexedDB.deleteDatabase('treff-certificate').onsuccess = resolve)));
    await pages.ben.reload();
    await joinAs(pages.ben, 'Ben');
    await waitForRemoteVideos(pages.anna, 2);
    await pages.anna.waitForSelector('.tile.remote [data-badge="key-changed"]', { timeout: 10_000 });
    const reading = await readSecurityPanel(pages.anna, 'Ben');
    expect(reading.keyChangedWarning).toBe(true);
    expect(reading.verified).toBe(false);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
