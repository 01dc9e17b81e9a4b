// The TURN relay for the office tests, exactly as `npm start` runs it (production profile) on
// the server's address and free ports, with a TLS certificate the offices' browsers are told to trust.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../signal/config.js';
import { startRelay, type Relay } from '../../turn/relay.js';
import { SERVER_IP } from './office.js';
import { freeTcpAndUdpPort } from './processes.js';

export interface OfficeRelay {
  relay: Relay;
  /**
   * Where it listens (UDP and TCP) and where for TLS: free ports chosen at start, never the
   * production 10000 and 443, so a relay already running on the machine (an operator's, another
   * test run's) cannot answer in its place or make the test fail to start.
   */
  port: number;
  tlsPort: number;
  /** Chromium checks the relay's TLS certificate like any other: pass this flag to trust ours. */
  trustCertificateArg: string;
  stop(): Promise<void>;
}

/** Needs the office network (SERVER_IP) to exist: createOfficeNetwork() first. */
export async function startOfficeRelay(onLog: (line: string) => void = () => undefined): Promise<OfficeRelay> {
  const port = await freeTcpAndUdpPort(SERVER_IP);
  let tlsPort = await freeTcpAndUdpPort(SERVER_IP);
  for (let attempt = 0; tlsPort === port && attempt < 5; attempt++) tlsPort = await freeTcpAndUdpPort(SERVER_IP);
  const dataDir = mkdtempSync(join(tmpdir(), 'treff-office-relay-'));
  const certFile = join(dataDir, 'relay.crt');
  const keyFile = join(dataDir, 'relay.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${SERVER_IP}`, '-addext', `subjectAltName=IP:${SERVER_IP}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const spki = execFileSync('sh', ['-c', `openssl x509 -in ${certFile} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`], { encoding: 'utf8' }).trim();
  const { relay: relayConfig } = loadConfig(
    {
      TREFF_DATA_DIR: dataDir,
      TREFF_TURN_LISTEN_IP: SERVER_IP,
      TREFF_TURN_RELAY_IP: SERVER_IP,
      TREFF_TURN_CERT: certFile,
      TREFF_TURN_KEY: keyFile,
      TREFF_TURN_PORT: String(port),
      TREFF_TURN_TLS_PORT: String(tlsPort),
      TREFF_TURN_MIN_PORT: '49152',
      TREFF_TURN_MAX_PORT: '49400',
    },
    { staticDir: '' },
  );
  let relay: Relay;
  try {
    relay = await startRelay(relayConfig, onLog);
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    relay,
    port,
    tlsPort,
    trustCertificateArg: `--ignore-certificate-errors-spki-list=${spki}`,
    async stop() {
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
