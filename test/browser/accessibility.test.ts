// Every control has a name a screen reader can say, on every page a user sees in a meeting.

import type { Page, SerializedAXNode } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

const CONTROLS = new Set(['button', 'textbox', 'checkbox', 'combobox', 'link', 'switch', 'slider', 'menuitem']);

/** Controls in the accessibility tree without an accessible name. */
async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.accessibility.snapshot({ interestingOnly: false });
  const unnamed: string[] = [];
  let controls = 0;
  const walk = (node: SerializedAXNode | null | undefined) => {
    if (!node) return;
    if (CONTROLS.has(node.role)) {
      controls++;
      if (!String(node.name ?? '').trim()) unnamed.push(`${node.role} (${node.description ?? node.value ?? ''})`);
    }
    node.children?.forEach(walk);
  };
  walk(tree);
  // The walk must actually see the page's controls, or an empty list would prove nothing.
  expect(controls).toBeGreaterThan(1);
  return unnamed;
}

describe('accessible names', () => {
  const meeting = useBrowserMeeting();

  it('names every control on the start page, the join screen, in the call and in its dialogs', async () => {
    const anna = await meeting.open({ record: false, collectErrors: false });
    const ben = await meeting.open({ record: false, collectErrors: false });
    await anna.goto(meeting.baseUrl + '/');
    await anna.waitForSelector('#meeting-name');
    expect(await unnamedControls(anna)).toEqual([]);

    await startMeetingFromHome(anna, meeting.baseUrl, 'accessible');
    await anna.waitForSelector('.join button.primary:not([disabled])');
    expect(await unnamedControls(anna)).toEqual([]);
    await joinAs(anna, 'Anna');
    await startMeetingFromHome(ben, meeting.baseUrl, 'accessible');
    await joinAs(ben, 'Ben');
    await waitForRemoteVideos(anna, 1);
    expect(await unnamedControls(anna)).toEqual([]);

    for (const opener of ['Invite', 'Participants (2)', 'Security and safety number of Ben']) {
      await anna.locator(`::-p-aria(${opener})`).click();
      await anna.waitForSelector('dialog[open]');
      expect(await unnamedControls(anna), opener).toEqual([]);
      await anna.keyboard.press('Escape');
      await anna.waitForSelector('dialog[open]', { hidden: true });
    }
  });
});
