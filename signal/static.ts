// The built client, held in memory with gzip and brotli copies made once at start.
// Hashed assets are cached for a year; index.html is revalidated so a new build reaches users.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

export interface StaticFile {
  contentType: string;
  cacheControl: string;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

export type Encoding = 'br' | 'gzip' | 'identity';

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.webmanifest', '.txt']);
/** Names the build gives hashed assets: app-3F2A9C1B.js */
const HASHED_NAME = /-[A-Z0-9]{8,}\.[a-z]+$/;

/** Reads every file under dir, keyed by URL path ("/assets/app-XXXX.js"). */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const path of walk(dir)) {
    const urlPath = '/' + relative(dir, path).split(sep).join('/');
    const ext = extname(path);
    const identity = readFileSync(path);
    const file: StaticFile = {
      contentType: MIME_TYPES[ext] ?? 'application/octet-stream',
      cacheControl: HASHED_NAME.test(urlPath)
        ? 'public, max-age=31536000, immutable'
        : ext === '.html'
          ? 'no-cache'
          : 'public, max-age=3600',
      identity,
    };
    if (COMPRESSIBLE.has(ext) && identity.length > 256) {
      file.gzip = gzipSync(identity, { level: 9 });
      file.br = brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } });
    }
    files.set(urlPath, file);
  }
  return files;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Picks the smallest encoding the browser accepts. */
export function chooseEncoding(file: StaticFile, acceptEncoding: string): Encoding {
  const accepted = acceptEncoding.toLowerCase();
  if (file.br && /\bbr\b/.test(accepted)) return 'br';
  if (file.gzip && /\bgzip\b/.test(accepted)) return 'gzip';
  return 'identity';
}

/** A meeting link is one path segment without a dot: /team-weekly. */
export function isMeetingPath(path: string): boolean {
  return /^\/[^/.]+$/.test(path);
}

/** Paths the single-page app answers: the start page, the connection check and meeting links. */
export function isAppPath(path: string): boolean {
  return path === '/' || path === '/-/check' || path === '/-/help' || isMeetingPath(path);
}

/** Sent with every response: the app loads nothing but its own files (no CDNs, no inline script). */
export const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  [
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
      "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  ],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['Permissions-Policy', 'camera=(self), microphone=(self), display-capture=(self)'],
  // A page of another site that opens Treff in a window gets no handle on it (no window.opener
  // games with a running call), and no other site may embed Treff's answers (scripts, JSON) as
  // no-cors subresources, which would put them in that site's process (Spectre).
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

/** The headers for every response: SECURITY_HEADERS, plus HSTS when the response goes out over TLS. */
export function securityHeaders(tls: { hstsMaxAgeSeconds: number } | undefined): ReadonlyArray<[string, string]> {
  if (!tls) return SECURITY_HEADERS;
  // Browsers ignore HSTS over plain HTTP, and max-age=0 is how an operator takes it back.
  return [...SECURITY_HEADERS, ['Strict-Transport-Security', `max-age=${tls.hstsMaxAgeSeconds}`]];
}
