// Starts the real signalling server on a free port. The protocol client that talks to it is in
// protocol-client.ts (re-exported here, where the tests have always found it).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../signal/config.js';
import { silentLogger } from '../../signal/log.js';
import { startServer, type RunningServer, type ServerOptions } from '../../signal/server.js';

export const TEST_INDEX_HTML =
  '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Treff test page</title>' +
  '<script type="module" src="/assets/app-ABCDEF12.js"></script></head>\n<body><main id="app"></main></body>\n</html>\n';

/** Large enough (well over 256 bytes) that the server keeps gzip and brotli copies. */
export const TEST_APP_JS = Array.from({ length: 60 }, (_, i) => `export const line${i} = 'a test asset line number ${i}';`).join('\n') + '\n';

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  server: RunningServer;
  close(): Promise<void>;
}

export interface TestServerOverrides extends Partial<Config> {
  iceServersFor?: ServerOptions['iceServersFor'];
  logger?: ServerOptions['logger'];
  readiness?: ServerOptions['readiness'];
  relayStatus?: ServerOptions['relayStatus'];
}

/** Writes a minimal built client to a temp dir, unless staticDir is given. */
export function writeTestStaticDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'treff-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), TEST_INDEX_HTML);
  writeFileSync(join(dir, 'assets', 'app-ABCDEF12.js'), TEST_APP_JS);
  return dir;
}

export async function startTestServer(overrides: TestServerOverrides = {}): Promise<TestServer> {
  const { iceServersFor, logger = silentLogger, readiness, relayStatus, ...configOverrides } = overrides;
  const ownStaticDir = configOverrides.staticDir === undefined ? writeTestStaticDir() : undefined;
  // A fresh data directory unless given: meetings one test stored must not come back in another.
  const ownDataDir = configOverrides.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'treff-data-')) : undefined;
  const removeOwnDirs = () => {
    for (const dir of [ownStaticDir, ownDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const config: Config = {
    ...loadConfig({ TREFF_TURN: 'off' }, { staticDir: '' }),
    host: '127.0.0.1',
    port: 0,
    // Tests about leaving expect the others to learn at once; resume tests set a grace period.
    seatGraceSeconds: 0,
    ...configOverrides,
    staticDir: configOverrides.staticDir ?? ownStaticDir!,
    dataDir: configOverrides.dataDir ?? ownDataDir!,
  };
  let server: RunningServer;
  try {
    server = await startServer({ config, logger, readiness, relayStatus, ...(iceServersFor ? { iceServersFor } : {}) });
  } catch (error) {
    removeOwnDirs();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    url: `${config.tls ? 'https' : 'http'}://127.0.0.1:${server.port}`,
    wsUrl: `${config.tls ? 'wss' : 'ws'}://127.0.0.1:${server.port}/ws`,
    port: server.port,
    server,
    close() {
      closed ??= server.close().finally(removeOwnDirs);
      return closed;
    },
  };
}

export { TestClient, greetedClient, type CloseEvent, type TestClientOptions } from './protocol-client.js';
