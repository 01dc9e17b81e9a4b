import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS, chooseEncoding, isMeetingPath, loadStaticFiles, type StaticFile } from '../../signal/static.js';

const BIG_HTML = `<!doctype html><html><head><title>Treff</title></head><body>${'<p>hello</p>'.repeat(100)}</body></html>`;
const BIG_JS = 'console.log("treff");\n'.repeat(200);
const BIG_CSS = 'body { margin: 0; padding: 0; }\n'.repeat(50);

describe('loadStaticFiles: the built client, read once at start', () => {
  let dir: string;
  let files: Map<string, StaticFile>;

  function file(path: string): StaticFile {
    const found = files.get(path);
    if (!found) throw new Error(`${path} was not loaded; loaded: ${[...files.keys()].join(', ')}`);
    return found;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'treff-static-unit-'));
    mkdirSync(join(dir, 'assets', 'fonts'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), BIG_HTML);
    writeFileSync(join(dir, 'assets', 'app-3F2A9C1B.js'), BIG_JS);
    writeFileSync(join(dir, 'assets', 'app-3F2A9C1B.css'), BIG_CSS);
    writeFileSync(join(dir, 'assets', 'app.js'), BIG_JS);
    writeFileSync(join(dir, 'assets', 'fonts', 'icons-0123ABCD.svg'), `<svg xmlns="http://www.w3.org/2000/svg">${'<g/>'.repeat(100)}</svg>`);
    writeFileSync(join(dir, 'favicon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, ...new Array(1000).fill(0)]));
    writeFileSync(join(dir, 'favicon.ico'), Buffer.alloc(10));
    writeFileSync(join(dir, 'manifest.webmanifest'), JSON.stringify({ name: 'Treff', icons: new Array(20).fill({ src: '/favicon.png' }) }));
    writeFileSync(join(dir, 'licenses.json'), '{}');
    writeFileSync(join(dir, 'robots.txt'), 'User-agent: *\nDisallow: /\n');
    writeFileSync(join(dir, 'data.bin'), Buffer.alloc(1000, 7));
    files = loadStaticFiles(dir);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keys every file, including nested ones, by its URL path', () => {
    expect([...files.keys()].sort()).toEqual([
      '/assets/app-3F2A9C1B.css',
      '/assets/app-3F2A9C1B.js',
      '/assets/app.js',
      '/assets/fonts/icons-0123ABCD.svg',
      '/data.bin',
      '/favicon.ico',
      '/favicon.png',
      '/index.html',
      '/licenses.json',
      '/manifest.webmanifest',
      '/robots.txt',
    ]);
  });

  it.each([
    ['/index.html', 'text/html; charset=utf-8'],
    ['/assets/app-3F2A9C1B.js', 'text/javascript; charset=utf-8'],
    ['/assets/app-3F2A9C1B.css', 'text/css; charset=utf-8'],
    ['/assets/fonts/icons-0123ABCD.svg', 'image/svg+xml'],
    ['/favicon.png', 'image/png'],
    ['/favicon.ico', 'image/x-icon'],
    ['/manifest.webmanifest', 'application/manifest+json'],
    ['/licenses.json', 'application/json; charset=utf-8'],
    ['/robots.txt', 'text/plain; charset=utf-8'],
    ['/data.bin', 'application/octet-stream'],
  ])('serves %s as %s', (path, contentType) => {
    expect(file(path).contentType).toBe(contentType);
  });

  it('caches hashed assets for a year as immutable', () => {
    for (const path of ['/assets/app-3F2A9C1B.js', '/assets/app-3F2A9C1B.css', '/assets/fonts/icons-0123ABCD.svg']) {
      expect(file(path).cacheControl, path).toBe('public, max-age=31536000, immutable');
    }
  });

  it('makes browsers revalidate index.html so a new build reaches them', () => {
    expect(file('/index.html').cacheControl).toBe('no-cache');
  });

  it('caches unhashed files only for a while, never as immutable', () => {
    for (const path of ['/assets/app.js', '/favicon.png', '/robots.txt']) {
      expect(file(path).cacheControl, path).toBe('public, max-age=3600');
    }
  });

  it('keeps the bytes of each file as they are on disk', () => {
    expect(file('/index.html').identity.toString()).toBe(BIG_HTML);
    expect(file('/data.bin').identity).toEqual(Buffer.alloc(1000, 7));
  });

  it('keeps gzip and brotli copies of big text files that decompress to the original', () => {
    for (const path of ['/index.html', '/assets/app-3F2A9C1B.js', '/assets/app-3F2A9C1B.css', '/assets/fonts/icons-0123ABCD.svg', '/manifest.webmanifest']) {
      const { identity, gzip, br } = file(path);
      expect(gzip, `${path} gzip`).toBeDefined();
      expect(br, `${path} br`).toBeDefined();
      expect(gunzipSync(gzip!).equals(identity), `${path} gzip round trip`).toBe(true);
      expect(brotliDecompressSync(br!).equals(identity), `${path} br round trip`).toBe(true);
      expect(br!.length, `${path} br is smaller`).toBeLessThan(identity.length);
    }
  });

  it('does not compress small files or binary ones', () => {
    for (const path of ['/robots.txt', '/licenses.json', '/favicon.png', '/data.bin']) {
      expect(file(path).gzip, path).toBeUndefined();
      expect(file(path).br, path).toBeUndefined();
    }
  });
});

describe('chooseEncoding: the smallest encoding the browser accepts', () => {
  const compressed: StaticFile = {
    contentType: 'text/javascript',
    cacheControl: 'no-cache',
    identity: Buffer.from('x'),
    gzip: Buffer.from('g'),
    br: Buffer.from('b'),
  };
  const gzipOnly: StaticFile = { ...compressed, br: undefined };
  const plain: StaticFile = { contentType: 'image/png', cacheControl: 'no-cache', identity: Buffer.from('x') };

  it.each([
    ['gzip, deflate, br, zstd', 'br'],
    ['br', 'br'],
    ['GZIP, BR', 'br'],
    ['gzip, deflate', 'gzip'],
    ['deflate', 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    ['xgzip, brotli', 'identity'],
  ] as const)('Accept-Encoding %j gives %s', (accept, expected) => {
    expect(chooseEncoding(compressed, accept)).toBe(expected);
  });

  it('falls back to gzip when there is no brotli copy', () => {
    expect(chooseEncoding(gzipOnly, 'gzip, br')).toBe('gzip');
  });

  it('sends an uncompressed file as it is', () => {
    expect(chooseEncoding(plain, 'gzip, deflate, br')).toBe('identity');
  });
});

describe('isMeetingPath: which paths open the app', () => {
  it.each(['/team-weekly', '/a', '/Planung_2025', '/%C3%BCbersicht'])('%s is a meeting link', (path) => {
    expect(isMeetingPath(path)).toBe(true);
  });

  it.each(['/', '/nope.txt', '/index.html', '/assets/app.js', '/team/weekly', '/team/', '//', ''])('%j is not', (path) => {
    expect(isMeetingPath(path)).toBe(false);
  });
});

describe('security headers', () => {
  it('restrict scripts and connections to the app itself', () => {
    const headers = new Map(SECURITY_HEADERS);
    const csp = headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('isolate the app from other sites: no opener handle, no cross-origin embedding of its answers', () => {
    const headers = new Map(SECURITY_HEADERS);
    expect(headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
  });
});
