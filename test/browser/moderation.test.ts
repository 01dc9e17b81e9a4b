// Running a meeting through the UI: moderator badge and hand-over, lobby, mute everyone, remove,
// lock, and a password set in the Share dialog.

import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, replaceText, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

describe('running a meeting', () => {
  // Each test's meeting ends with it, so later tests do not share the CPU with earlier calls.
  const meeting = useBrowserMeeting();
  const errors = meeting.errors;
  const person = (): Promise<Page> => meeting.open({ record: false });

  const text = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent ?? '');
  const click = (page: Page, label: string) => page.locator(`::-p-aria(${label})`).click();

  it('shows who moderates, and passes the role on when the moderator leaves', async () => {
    const [anna, ben, carla] = [await person(), await person(), await person()];
    for (const [page, name] of [[anna, 'Anna'], [ben, 'Ben'], [carla, 'Carla']] as const) {
      await startMeetingFromHome(page, meeting.baseUrl, 'handover');
      await joinAs(page, name);
    }
    await waitForRemoteVideos(carla, 2);
    expect(await text(carla, '.tile.remote:has(.badge) .name')).toBe('Anna');
    await anna.locator('.controls .leave').click();
    // Ben was there longest: everyone sees him as moderator now.
    await carla.waitForFunction(() => document.querySelector('.tile.remote .badge')?.closest('.tile')?.querySelector('.name')?.textContent === 'Ben');
    await ben.waitForSelector('.tile.local .badge');
    await ben.waitForSelector('::-p-text(You are now the moderator of this meeting.)');
  });

  it('runs a lobby: the newcomer waits, the moderator admits from the banner', async () => {
    const [anna, dora] = [await person(), await person()];
    await startMeetingFromHome(anna, meeting.baseUrl, 'lobby');
    await joinAs(anna, 'Anna');
    await click(anna, 'Participants (1)');
    await anna.locator('::-p-text(Lobby: let newcomers in one by one)').click();
    await anna.locator('dialog.people form[method=dialog] button').click();

    await startMeetingFromHome(dora, meeting.baseUrl, 'lobby');
    await dora.type('#display-name', 'Dora');
    await dora.click('.join button.primary');
    await dora.waitForSelector('::-p-text(Waiting to be let in)');
    await anna.waitForSelector('::-p-text(Dora is waiting in the lobby)');
    await click(anna, 'Admit Dora');
    await waitForRemoteVideos(dora, 1);
    await waitForRemoteVideos(anna, 1);
  });

  it('lets the moderator mute everyone and remove someone; nobody else may', async () => {
    const [anna, ben] = [await person(), await person()];
    await startMeetingFromHome(anna, meeting.baseUrl, 'discipline');
    await joinAs(anna, 'Anna');
    await startMeetingFromHome(ben, meeting.baseUrl, 'discipline');
    await joinAs(ben, 'Ben');
    await waitForRemoteVideos(ben, 1);

    // Ben is not moderator: his list offers no moderator actions.
    await click(ben, 'Participants (2)');
    expect(await ben.$$('::-p-aria(Remove Anna)')).toHaveLength(0);
    await ben.locator('dialog.people form[method=dialog] button').click();

    await click(anna, 'Participants (2)');
    await click(anna, 'Mute everyone');
    await ben.waitForSelector('::-p-text(The moderator muted everyone.)');
    expect(await ben.$eval('.controls button:nth-child(1)', (button) => button.getAttribute('aria-pressed'))).toBe('true');
    await anna.waitForFunction(() => Boolean(document.querySelector('.tile.remote .muted')));

    await click(anna, 'Remove Ben');
    await ben.waitForSelector('::-p-text(The moderator removed you from the meeting.)');
    await anna.waitForFunction(() => document.querySelectorAll('.tile.remote').length === 0);
  });

  it('keeps newcomers out of a locked meeting', async () => {
    const [anna, erik] = [await person(), await person()];
    await startMeetingFromHome(anna, meeting.baseUrl, 'locked');
    await joinAs(anna, 'Anna');
    await click(anna, 'Participants (1)');
    await anna.locator('::-p-text(Lock the meeting)').click();
    await anna.waitForSelector('.call-header ::-p-text(Locked)');
    await startMeetingFromHome(erik, meeting.baseUrl, 'locked');
    await erik.type('#display-name', 'Erik');
    await erik.click('.join button.primary');
    await erik.waitForSelector('::-p-text(The moderator has locked this meeting)');
  });

  it('protects a meeting with a password set in the Invite dialog: a wrong one is refused, the right one admits', { timeout: 60_000 }, async () => {
    const [anna, fritz] = [await person(), await person()];
    await startMeetingFromHome(anna, meeting.baseUrl, 'board');
    await joinAs(anna, 'Anna');
    await click(anna, 'Invite');
    // Typed once the dialog is open: opening it moves the focus to its first field.
    await replaceText(anna, 'dialog.share[open] #new-password', 'amber-otter');
    await anna.locator('::-p-text(Set password)').click();
    await anna.waitForSelector('dialog.share [data-password-set]');
    await anna.locator('dialog.share form[method=dialog] button').click();

    await startMeetingFromHome(fritz, meeting.baseUrl, 'board');
    await fritz.type('#display-name', 'Fritz');
    await fritz.click('.join button.primary');
    await fritz.waitForSelector('::-p-text(This meeting needs a password.)');
    await fritz.type('#meeting-password', 'otter-amber');
    await fritz.click('.join button.primary');
    await fritz.waitForSelector('::-p-text(Wrong password.)');
    await replaceText(fritz, '#meeting-password', 'amber-otter');
    await fritz.click('.join button.primary');
    await waitForRemoteVideos(fritz, 1);
    await waitForRemoteVideos(anna, 1);
  });

  it('ran without page errors', () => {
    expect(errors).toEqual([]);
  });
});
