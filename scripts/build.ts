// Builds the browser client into dist/client: one hashed JS and CSS bundle and an index.html
// that loads them with Subresource Integrity.

import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildInfo {
  /** URL path of the app bundle. */
  script: string;
  /** Hex SHA-256 of the app bundle's bytes. */
  sha256: string;
}

export interface BuildResult {
  outDir: string;
  /** URL paths of the hashed bundles, e.g. /assets/app-3F2A9C1B.js */
  script: string;
  stylesheet: string;
}

export async function buildClient({ outDir = 'dist/client', minify = true } = {}): Promise<BuildResult> {
  const out = resolve(root, outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'client/main.tsx' },
    bundle: true,
    minify,
    sourcemap: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    inject: ['client/shims/process.ts'],
    // simple-peer's Node-isms, replaced by small shims that keep the first load within its budget.
    alias: {
      debug: './client/shims/debug.cjs',
      'readable-stream': './client/shims/stream.cjs',
      buffer: './client/shims/buffer.cjs',
      randombytes: './client/shims/randombytes.cjs',
    },
    define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });

  const outputs = Object.keys(result.metafile.outputs).map((path) => resolve(root, path));
  const script = outputs.find((path) => path.endsWith('.js'));
  const stylesheet = outputs.find((path) => path.endsWith('.css'));
  if (!script || !stylesheet) throw new Error('build produced no JS or CSS bundle');

  const template = readFileSync(join(root, 'client/index.html'), 'utf8');
  const html = template
    .replace('<!-- stylesheet -->', `<link rel="stylesheet" href="/assets/${basename(stylesheet)}" integrity="${sri(stylesheet)}">`)
    .replace('<!-- script -->', `<script type="module" src="/assets/${basename(script)}" integrity="${sri(script)}"></script>`);
  writeFileSync(join(out, 'index.html'), html);
  // What an auditor compares with a build from source: shown on the help page, printed at start.
  const buildInfo: BuildInfo = { script: `/assets/${basename(script)}`, sha256: sha256(script) };
  writeFileSync(join(out, 'build-info.json'), JSON.stringify(buildInfo) + '\n');
  writeFileSync(join(out, 'favicon.svg'), readFileSync(join(root, 'client/favicon.svg')));
  // The installable web app: manifest and icons (client/icons, PNGs made by scripts/icons.ts).
  writeFileSync(join(out, 'manifest.webmanifest'), readFileSync(join(root, 'client/manifest.webmanifest')));
  cpSync(join(root, 'client/icons'), join(out, 'icons'), { recursive: true });

  return { outDir: out, script: `/assets/${basename(script)}`, stylesheet: `/assets/${basename(stylesheet)}` };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function sri(path: string): string {
  return 'sha384-' + createHash('sha384').update(readFileSync(path)).digest('base64');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, script } = await buildClient();
  console.log(`client built into ${outDir} (${script})`);
}
