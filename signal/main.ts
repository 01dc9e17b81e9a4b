// Command-line entry: `npm start` builds the client, then runs this.

import { fileURLToPath } from 'node:url';
import { startRelay } from '../turn/relay.js';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { staticDir: fileURLToPath(new URL('../dist/client', import.meta.url)) });
  const log = (line: string) => console.log(line);
  const relay = await startRelay(config.relay, log);
  const server = await startServer({ config, iceServersFor: relay.iceServersFor, log });
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  console.log(`Treff is running: open http://${shownHost}:${server.port}/ in your browser`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await Promise.all([server.close(), relay.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `Treff cannot start: ${error.message}` : error);
  process.exit(1);
});
