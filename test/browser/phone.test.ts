// On a phone: a 360 px wide touch screen. The call fits without sideways scrolling, every control
// is on screen and thumb-sized; and on a desktop every control is reachable with Tab, with a
// visible focus ring.

import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBrowserMeeting } from '../helpers/browser-meeting.js';
import { joinAs, startMeetingFromHome, waitForRemoteVideos } from '../helpers/meeting.js';

const PHONE = { width: 360, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
/** The smallest touch target the platform guidelines allow (Apple 44 pt, Android 48 dp ≈ 45 CSS px here). */
const MIN_TARGET_PX = 44;

interface Layout {
  viewport: { width: number; height: number };
  scrollWidth: number;
  controls: Array<{ label: string; left: number; right: number; top: number; bottom: number; width: number; height: number }>;
  tiles: Array<{ left: number; right: number }>;
}

function layout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const box = (element: Element) => element.getBoundingClientRect();
    return {
      viewport: { width: innerWidth, height: innerHeight },
      scrollWidth: document.documentElement.scrollWidth,
      controls: [...document.querySelectorAll('.controls button')].map((button) => {
        const { left, right, top, bottom, width, height } = box(button);
        return { label: button.getAttribute('aria-label') ?? '', left, right, top, bottom, width, height };
      }),
      tiles: [...document.querySelectorAll('.tile')].map((tile) => ({ left: box(tile).left, right: box(tile).right })),
    };
  });
}

describe('a meeting on a phone, and by keyboard', () => {
  const meeting = useBrowserMeeting();
  const pages: Record<'anna' | 'ben' | 'carla', Page> = {} as never;

  beforeAll(async () => {
    for (const who of ['anna', 'ben', 'carla'] as const) pages[who] = await meeting.open({ record: false, collectErrors: false });
    await pages.anna.setViewport(PHONE);
    for (const [who, name] of [['anna', 'Anna'], ['ben', 'Ben'], ['carla', 'Carla']] as const) {
      await startMeetingFromHome(pages[who], meeting.baseUrl, 'on-the-go');
      await joinAs(pages[who], name);
    }
    await waitForRemoteVideos(pages.anna, 2);
  });

  it('fits the call on a 360 px phone: no sideways scrolling, every control on screen and thumb-sized', async () => {
    const { viewport, scrollWidth, controls, tiles } = await layout(pages.anna);
    expect(scrollWidth).toBeLessThanOrEqual(viewport.width);
    expect(controls.map((control) => control.label)).toEqual(expect.arrayContaining(['Mute microphone', 'Turn camera off', 'Leave']));
    for (const control of controls) {
      expect(control.left, control.label).toBeGreaterThanOrEqual(0);
      expect(control.right, control.label).toBeLessThanOrEqual(viewport.width);
      expect(control.bottom, control.label).toBeLessThanOrEqual(viewport.height);
      expect(Math.min(control.width, control.height), control.label).toBeGreaterThanOrEqual(MIN_TARGET_PX);
    }
    expect(tiles).toHaveLength(3);
    for (const tile of tiles) expect(tile.right).toBeLessThanOrEqual(viewport.width);
  });

  it('reaches every call control with Tab on a desktop, each with a visible focus ring', async () => {
    const page = pages.ben;
    const labels = await page.$$eval('.controls button:not([disabled])', (buttons) => buttons.map((button) => button.getAttribute('aria-label')));
    const reached = new Map<string, string>();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let press = 0; press < 40 && reached.size < labels.length; press++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement;
        if (!element?.closest('.controls')) return null;
        return { label: element.getAttribute('aria-label') ?? '', outline: getComputedStyle(element).outlineStyle };
      });
      if (focused) reached.set(focused.label, focused.outline);
    }
    expect([...reached.keys()].sort()).toEqual([...labels].sort());
    for (const [label, outline] of reached) expect(outline, label).not.toBe('none');
  });
});
