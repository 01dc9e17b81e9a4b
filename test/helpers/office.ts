// Real firewalled offices on this machine: network namespaces joined by veth links, each with
// its own nftables firewall, and headless Chromium started inside them.
//
//   root namespace: Treff server + coturn on 10.77.0.1 (on free ports the firewalls are told)
//        │ veth
//   treff-isp (router) ── veth ── treff-office-a 10.77.1.2
//                      └─ veth ── treff-office-b 10.77.2.2
//
// Everything stays inside namespaces this helper makes; destroy() removes them.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'puppeteer-core';
import { CHROMIUM_PATH, launchBrowser } from './browser.js';

export const SERVER_IP = '10.77.0.1';
const ISP = 'treff-isp';

export type OfficeName = 'a' | 'b';

/**
 * What an office firewall lets out (towards the internet and the other office):
 * - open: everything, including direct paths to the other office
 * - udp-relay-only: TCP except to the other office and the relay; UDP only to the relay's port
 * - tcp-relay-only: no UDP at all; TCP only to the signalling port and the relay's port
 * - tls-relay-only: no UDP at all; TCP only to the signalling port and the relay's TLS port
 */
export type FirewallPolicy = 'open' | 'udp-relay-only' | 'tcp-relay-only' | 'tls-relay-only';

export interface OfficePorts {
  signalling: number;
  relay: number;
  relayTls: number;
}

const offices: Record<OfficeName, { namespace: string; subnet: number }> = {
  a: { namespace: 'treff-office-a', subnet: 1 },
  b: { namespace: 'treff-office-b', subnet: 2 },
};

function run(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNamespace(namespace: string, command: string, ...args: string[]): string {
  return run('ip', 'netns', 'exec', namespace, command, ...args);
}

export function officeIp(office: OfficeName): string {
  return `10.77.${offices[office].subnet}.2`;
}

/** Removes namespaces and routes left by an earlier run that did not finish. */
export function destroyOfficeNetwork(): void {
  for (const namespace of [ISP, offices.a.namespace, offices.b.namespace]) {
    try {
      run('ip', 'netns', 'delete', namespace);
    } catch {
      // not there
    }
  }
  try {
    run('ip', 'link', 'delete', 'treff-root');
  } catch {
    // deleted with the namespace
  }
}

export function createOfficeNetwork(): void {
  destroyOfficeNetwork();
  run('ip', 'netns', 'add', ISP);
  inNamespace(ISP, 'ip', 'link', 'set', 'lo', 'up');
  inNamespace(ISP, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');

  // The "internet" side: the root namespace, where the server and the relay run.
  run('ip', 'link', 'add', 'treff-root', 'type', 'veth', 'peer', 'name', 'isp-up', 'netns', ISP);
  run('ip', 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'treff-root');
  run('ip', 'link', 'set', 'treff-root', 'up');
  inNamespace(ISP, 'ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'isp-up');
  inNamespace(ISP, 'ip', 'link', 'set', 'isp-up', 'up');

  for (const { namespace, subnet } of Object.values(offices)) {
    run('ip', 'netns', 'add', namespace);
    inNamespace(namespace, 'ip', 'link', 'set', 'lo', 'up');
    run('ip', 'link', 'add', `isp-o${subnet}`, 'netns', ISP, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', namespace);
    inNamespace(ISP, 'ip', 'addr', 'add', `10.77.${subnet}.1/24`, 'dev', `isp-o${subnet}`);
    inNamespace(ISP, 'ip', 'link', 'set', `isp-o${subnet}`, 'up');
    inNamespace(namespace, 'ip', 'addr', 'add', `10.77.${subnet}.2/24`, 'dev', 'uplink');
    inNamespace(namespace, 'ip', 'link', 'set', 'uplink', 'up');
    inNamespace(namespace, 'ip', 'route', 'add', 'default', 'via', `10.77.${subnet}.1`);
    run('ip', 'route', 'replace', `10.77.${subnet}.0/24`, 'via', '10.77.0.2');
  }
}

/** nftables rules for an office's outgoing traffic (the ports matter to every policy but 'open'). */
export function firewallRules(office: OfficeName, policy: FirewallPolicy, ports?: OfficePorts): string {
  if (policy !== 'open' && !ports) throw new Error(`the ${policy} firewall needs the signalling and relay ports`);
  const other = offices[office === 'a' ? 'b' : 'a'].subnet;
  const allowed: Record<Exclude<FirewallPolicy, 'open'>, string[]> = {
    // The relay's TCP and TLS ports are closed too, so a connection that works went over UDP to the relay
    // (with both open, ICE may settle on whichever relay pair succeeded first).
    'udp-relay-only': [
      `ip daddr ${SERVER_IP} udp dport ${ports?.relay} accept`,
      'meta l4proto udp drop',
      `ip daddr ${SERVER_IP} tcp dport { ${ports?.relay}, ${ports?.relayTls} } drop`,
    ],
    'tcp-relay-only': [`ip daddr ${SERVER_IP} tcp dport { ${ports?.signalling}, ${ports?.relay} } accept`, 'meta l4proto { tcp, udp } drop'],
    'tls-relay-only': [`ip daddr ${SERVER_IP} tcp dport { ${ports?.signalling}, ${ports?.relayTls} } accept`, 'meta l4proto { tcp, udp } drop'],
  };
  const rules = policy === 'open' ? [] : ['oif "lo" accept', `ip daddr 10.77.${other}.0/24 drop`, ...allowed[policy]];
  return [
    'table inet treff_office {',
    '  chain output {',
    '    type filter hook output priority 0; policy accept;',
    ...rules.map((rule) => `    ${rule}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

export function setFirewall(office: OfficeName, policy: 'open'): void;
export function setFirewall(office: OfficeName, policy: FirewallPolicy, ports: OfficePorts): void;
export function setFirewall(office: OfficeName, policy: FirewallPolicy, ports?: OfficePorts): void {
  const namespace = offices[office].namespace;
  try {
    inNamespace(namespace, 'nft', 'delete', 'table', 'inet', 'treff_office');
  } catch {
    // no firewall yet
  }
  loadRules(namespace, firewallRules(office, policy, ports));
}

function loadRules(namespace: string, rules: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'treff-nft-'));
  try {
    const file = join(dir, 'rules.nft');
    writeFileSync(file, rules);
    inNamespace(namespace, 'nft', '-f', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Network faults: a table of their own beside the office firewalls, so clearing a fault leaves the
// firewall as it was. Every drop rule counts, so a test can tell the fault really dropped traffic.
const FAULT_TABLE = 'treff-fault';

/** Where a fault is injected: inside an office, or at the ISP's router between the offices. */
export type FaultPlace = OfficeName | 'isp';

function faultNamespace(place: FaultPlace): string {
  return place === 'isp' ? ISP : offices[place].namespace;
}

function faultTable(chains: Record<string, { hook: string; rules: string[] }>): string {
  return [
    `table inet ${FAULT_TABLE} {`,
    ...Object.entries(chains).flatMap(([name, { hook, rules }]) => [
      `  chain ${name} {`,
      `    type filter hook ${hook} priority -10; policy accept;`,
      ...rules.map((rule) => `    ${rule}`),
      '  }',
    ]),
    '}',
    '',
  ].join('\n');
}

/** The office drops everything it sends and receives (the cable pulled) until clearFault('a'|'b'). */
export function cutOffice(office: OfficeName): void {
  clearFault(office);
  loadRules(
    offices[office].namespace,
    faultTable({
      input: { hook: 'input', rules: ['iif "lo" accept', 'counter drop'] },
      output: { hook: 'output', rules: ['oif "lo" accept', 'counter drop'] },
    }),
  );
}

/**
 * The ISP's router drops UDP and TCP between the two offices, both ways, until clearFault('isp'):
 * each office still reaches the server, the relay and anyone outside the offices.
 */
export function blockBetweenOffices(): void {
  clearFault('isp');
  const a = `10.77.${offices.a.subnet}.0/24`;
  const b = `10.77.${offices.b.subnet}.0/24`;
  loadRules(
    ISP,
    faultTable({
      forward: {
        hook: 'forward',
        rules: [`ip saddr ${a} ip daddr ${b} meta l4proto { udp, tcp } counter drop`, `ip saddr ${b} ip daddr ${a} meta l4proto { udp, tcp } counter drop`],
      },
    }),
  );
}

/** Packets a fault has dropped so far, per chain (empty when there is no fault). */
export function faultDrops(place: FaultPlace): Record<string, number> {
  let listing: { nftables?: Array<{ rule?: { chain: string; expr: Array<{ counter?: { packets: number } }> } }> };
  try {
    listing = JSON.parse(inNamespace(faultNamespace(place), 'nft', '-j', 'list', 'table', 'inet', FAULT_TABLE));
  } catch {
    return {};
  }
  const drops: Record<string, number> = {};
  for (const { rule } of listing.nftables ?? []) {
    for (const expression of rule?.expr ?? []) {
      if (rule && expression.counter) drops[rule.chain] = (drops[rule.chain] ?? 0) + expression.counter.packets;
    }
  }
  return drops;
}

/** Ends a fault; harmless when there is none. */
export function clearFault(place: FaultPlace): void {
  try {
    inNamespace(faultNamespace(place), 'nft', 'delete', 'table', 'inet', FAULT_TABLE);
  } catch {
    // no fault there (or no namespace any more)
  }
}

/** Headless Chromium running inside the office's namespace, talking to puppeteer over a pipe. */
export async function launchChromiumInOffice(office: OfficeName, origin: string, extraArgs: string[] = []): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), 'treff-office-browser-'));
  const wrapper = join(dir, 'chromium-in-office');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${offices[office].namespace} ${CHROMIUM_PATH} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await launchBrowser('chromium', {
    executablePath: wrapper,
    pipe: true,
    // Camera and microphone need a secure origin; the office reaches the server by IP over http.
    args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`, ...extraArgs],
  });
  browser.once('disconnected', () => rmSync(dir, { recursive: true, force: true }));
  return browser;
}

/** Limits what an office can send (its uplink) with a token bucket, like a slow DSL line. */
export function shapeUplink(office: OfficeName, rateKbit: number): void {
  inNamespace(offices[office].namespace, 'tc', 'qdisc', 'replace', 'dev', 'uplink', 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '16kb', 'latency', '300ms');
}
