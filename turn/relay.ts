// The relay as the signalling server sees it: which ICE servers to hand a participant, and, in
// internal mode, the coturn child process started from Treff's own configuration.

import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { RelayConfig } from '../signal/config.js';
import type { IceServer, ParticipantId } from '../signal/protocol.js';
import { mintTurnCredentials, turnIceServers } from '../signal/turn-credentials.js';
import { generateTurnConfig, relayQuotas, writeTurnConfig } from './config.js';
import { relaysFor } from './relays.js';
import { resolveSecret } from './secret.js';
import { findTurnServer, startTurnServer } from './supervisor.js';

export interface Relay {
  /**
   * ICE servers with credentials for a participant; empty when there is no relay. The credentials
   * are bound to the client's address (IPv4, IPv6 /64), so coturn's per-user quota binds per address.
   */
  iceServersFor(participantId: ParticipantId, requestHost: string, clientAddress: string): IceServer[];
  /** Whether coturn is up (always true for an external relay, false when off). */
  readonly running: boolean;
  readonly restarts: number;
  stop(): Promise<void>;
}

const NO_RELAY: Relay = { iceServersFor: () => [], running: false, restarts: 0, stop: async () => undefined };

export async function startRelay(config: RelayConfig, log: (line: string) => void): Promise<Relay> {
  if (config.mode === 'off') {
    log('relay: off (TREFF_TURN=off); participants behind strict firewalls will not connect');
    return NO_RELAY;
  }
  const secret = resolveSecret({ secret: config.secret, dataDir: config.dataDir });
  const iceServersFor = (_participantId: ParticipantId, requestHost: string, clientAddress: string) => {
    const credentials = mintTurnCredentials(secret, clientAddress, config.credentialTtlSeconds, Date.now());
    const [own, ...others] = relaysFor(config.region, config.relays, { host: config.publicHost ?? requestHost, port: config.port });
    // One STUN server is enough; every relay takes the same credentials (one shared secret).
    return [
      ...turnIceServers({ ...own!, tlsPort: config.tls?.port, credentials }),
      ...others.map((relay) => turnIceServers({ ...relay, credentials })[1]!),
    ];
  };

  if (config.mode === 'external') {
    log(`relay: external coturn at ${config.publicHost}:${config.port}, sharing the secret`);
    return { iceServersFor, running: true, restarts: 0, stop: async () => undefined };
  }

  const binary = findTurnServer();
  if (!binary) {
    log(
      'relay: WARNING coturn (turnserver) is not installed, so calls cannot fall back to the relay on port ' +
        `${config.port}. Calls still work where direct connections do. Install it with "npm run setup" or "sudo apt install coturn".`,
    );
    return NO_RELAY;
  }

  const relayIp = config.relayIp ?? firstPublicIPv4();
  const configPath = join(config.dataDir, 'turnserver.conf');
  writeTurnConfig(
    configPath,
    generateTurnConfig({
      profile: 'production',
      realm: config.publicHost ?? 'treff',
      port: config.port,
      listeningIps: config.listenIp ? [config.listenIp] : undefined,
      relayIp,
      externalIp: config.externalIp,
      minPort: config.minPort,
      maxPort: config.maxPort,
      secret,
      tls: config.tls,
      // Two relayed participants reach each other through the relay's own address: allow exactly that.
      allowedPeerIps: unique([...config.allowedPeerIps, relayIp, config.externalIp]),
      ...relayQuotas(config.minPort, config.maxPort),
    }),
  );
  const turn = startTurnServer({ binary, configPath, log });
  await turn.ready;
  log(`relay: coturn listening on ${config.port} (UDP and TCP)${config.tls ? `, TLS on ${config.tls.port}` : ''}, relaying from ${relayIp ?? 'all addresses'}`);
  return {
    iceServersFor,
    get running() {
      return !turn.stopped;
    },
    get restarts() {
      return turn.restarts;
    },
    stop: () => turn.stop(),
  };
}

/** The address coturn relays from when the operator names none: the machine's first non-loopback IPv4. */
function firstPublicIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

function unique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((value): value is string => Boolean(value)))];
}
