// Renders the app icon (client/icons/icon.svg) into the PNG sizes the web app manifest lists,
// with the headless Chromium the tests use: no image tools needed.
//
//   npx tsx scripts/icons.ts
// The PNGs are committed; run this again only when the SVG changes.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/browser.js';

const icons = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'client/icons');
const svg = readFileSync(join(icons, 'icon.svg'), 'utf8');
const browser = await launchBrowser('chromium');
try {
  const page = await browser.newPage();
  for (const size of [192, 512]) {
    await page.setViewport({ width: size, height: size });
    await page.setContent(`<style>*{margin:0}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`);
    await page.screenshot({ path: join(icons, `icon-${size}.png`) as `${string}.png`, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`client/icons/icon-${size}.png`);
  }
} finally {
  await browser.close();
}
