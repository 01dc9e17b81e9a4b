// Command-line entry: `npm start` builds the client, then runs this.
// Reads the settings (config file, environment, flags), starts the relay, then the server.
// SIGHUP reloads the TLS certificate; SIGTERM and SIGINT shut down (in a cluster SIGTERM drains).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRelay } from '../turn/relay.js';
import { explain, gatherSettings } from './config-sources.js';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';
import { helpText, settingsMarkdown } from './settings.js';
import { checkCertificate } from './tls.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help-markdown')) return void process.stdout.write(settingsMarkdown());
  const sources = gatherSettings(argv, process.env);
  if (sources.help) return void process.stdout.write(helpText());
  let config;
  try {
    config = loadConfig(sources.values, { staticDir: fileURLToPath(new URL('../dist/client', import.meta.url)) });
  } catch (error) {
    throw explain(error, sources.origins);
  }
  // Checked before the relay starts, so a bad certificate stops everything at once.
  if (config.tls) checkCertificate(config.tls);
  const logger = createLogger({ level: config.logLevel, ...(config.cluster ? { base: { node: config.cluster.nodeId } } : {}) });
  const relay = await startRelay(config.relay, (line) => logger.info(line));
  const relayExpected = config.relay.mode === 'internal';
  const server = await startServer({
    config,
    iceServersFor: relay.iceServersFor,
    logger,
    readiness: () => (relayExpected && !relay.running ? { ready: false, reason: 'the relay (coturn) is not running' } : { ready: true }),
    relayStatus: () => ({ up: relay.running, restarts: relay.restarts }),
  });
  const scheme = config.tls ? 'https' : 'http';
  const shownHost = config.publicHost ?? (config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host);
  const shownPort = server.port === (config.tls ? 443 : 80) ? '' : `:${server.port}`;
  const url = `${scheme}://${shownHost}${shownPort}/`;
  logger.info(`Treff is running: open ${url} in your browser`, { url });
  // What an auditor compares with a build from source (also shown on the help page).
  const bundle = readBuildInfo(config.staticDir);
  if (bundle) logger.info(`app code ${bundle.script} has SHA-256 ${bundle.sha256}`, bundle);

  process.on('SIGHUP', () => {
    if (!config.tls) return logger.info('SIGHUP: no TLS certificate configured, nothing to reload');
    // A failed reload is logged by the server, which keeps serving the previous certificate.
    server.reloadCertificate().catch(() => undefined);
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: ${config.cluster && signal === 'SIGTERM' ? 'draining' : 'shutting down'}`);
    // In a cluster SIGTERM drains: the browsers move to another node with their calls kept.
    await Promise.all([signal === 'SIGTERM' ? server.drain() : server.close(), relay.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function readBuildInfo(staticDir: string): { script: string; sha256: string } | null {
  try {
    return JSON.parse(readFileSync(join(staticDir, 'build-info.json'), 'utf8')) as { script: string; sha256: string };
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  const logger = createLogger({ level: 'error', write: (line) => process.stderr.write(line + '\n') });
  logger.error(`Treff cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
