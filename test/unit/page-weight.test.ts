// Size budget: a first visit to the home page must stay light. Bytes, not time, so it is stable on
// a busy CI machine. The client is built into a temporary directory of its own, so this test does
// not depend on (or disturb) the dist/client that other tests are serving.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GZIP_BUDGET_BYTES, firstLoadPaths, weigh, type FileWeight } from '../../scripts/bench-page-weight.js';
import { buildClient } from '../../scripts/build.js';

describe('page weight', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'treff-page-weight-test-'));
  let files: FileWeight[] = [];

  beforeAll(async () => {
    await buildClient({ outDir });
    files = weigh(outDir, firstLoadPaths(outDir));
  }, 60_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('counts the page, its script, its stylesheet and its icon', () => {
    const paths = files.map((f) => f.path);
    expect(paths).toContain('/index.html');
    expect(paths.some((p) => /^\/assets\/.+\.js$/.test(p))).toBe(true);
    expect(paths.some((p) => /^\/assets\/.+\.css$/.test(p))).toBe(true);
    expect(paths).toContain('/favicon.svg');
  });

  it('loads at most 60 KB gzip on a first visit to the home page', () => {
    const gzip = files.reduce((sum, f) => sum + f.gzip, 0);
    const brotli = files.reduce((sum, f) => sum + f.brotli, 0);
    console.log(
      `home page first load: ${gzip} B gzip (${(gzip / 1024).toFixed(1)} KB of ${GZIP_BUDGET_BYTES / 1024} KB), ${brotli} B brotli — ` +
        files.map((f) => `${f.path} ${f.gzip} B`).join(', '),
    );
    expect(gzip).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  });

  it('links its script and stylesheet with Subresource Integrity hashes of their bytes', () => {
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const linked = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))" integrity="([^"]+)"/g)];
    expect(linked.map(([, path]) => path!.split('.').pop())).toEqual(expect.arrayContaining(['js', 'css']));
    for (const [, path, integrity] of linked) {
      const digest = createHash('sha384').update(readFileSync(join(outDir, path!))).digest('base64');
      expect(integrity, path).toBe(`sha384-${digest}`);
    }
  });

  it('builds the same bytes twice (the bundle hash on the help page can be checked against the source)', async () => {
    const again = mkdtempSync(join(tmpdir(), 'treff-page-weight-again-'));
    try {
      await buildClient({ outDir: again });
      const digests = (dir: string) =>
        Object.fromEntries(readdirSync(join(dir, 'assets')).map((name) => [name, createHash('sha256').update(readFileSync(join(dir, 'assets', name))).digest('hex')]));
      expect(digests(again)).toEqual(digests(outDir));
      expect(readFileSync(join(again, 'index.html'), 'utf8')).toBe(readFileSync(join(outDir, 'index.html'), 'utf8'));
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }, 60_000);
});
