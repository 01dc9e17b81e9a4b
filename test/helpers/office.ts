// Real firewalled offices on this machine: network namespaces joined by veth links, each with
// its own nftables firewall, and headless Chromium started inside them.
//
//   root namespace: Treff server + coturn on 10.N.0.1 (on free ports the firewalls are told)
//        │ veth
//   ISP (router) ── veth ── office a 10.N.1.2
//                └─ veth ── office b 10.N.2.2
//
// Every name (namespaces, the veth in the root namespace) carries the process id and a counter, and
// N is a 10.N.0.0/16 no interface or route of this machine uses yet: two test runs on one machine
// (two CI jobs, an engineer beside CI) cannot take each other's namespaces or addresses. Everything
// stays inside namespaces this helper makes; destroyOfficeNetwork() removes them, and so does the
// process's exit, and the next run removes what a killed one left.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'puppeteer-core';
import { CHROMIUM_PATH, launchBrowser } from './browser.js';

/**
 * The server's address as the offices reach it. A live binding: createOfficeNetwork() sets it to
 * the network it made (read it after that, as the tests do in and after beforeAll).
 */
export let SERVER_IP = '10.77.0.1';

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

const SUBNET: Record<OfficeName, number> = { a: 1, b: 2 };
const NAME = /^treff-(?:isp|office-[ab])-(\d+)-\d+$/;

interface Network {
  /** 10.<octet>.0.0/16 is this network's. */
  octet: number;
  isp: string;
  offices: Record<OfficeName, string>;
  /** The veth end in the root namespace (at most 15 characters). */
  rootLink: string;
}

let counter = 0;
let current: Network | undefined;

function run(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNamespace(namespace: string, command: string, ...args: string[]): string {
  return run('ip', 'netns', 'exec', namespace, command, ...args);
}

function network(): Network {
  if (!current) throw new Error('no office network: createOfficeNetwork() first');
  return current;
}

function namespaceOf(office: OfficeName): string {
  return network().offices[office];
}

export function officeIp(office: OfficeName): string {
  return `10.${network().octet}.${SUBNET[office]}.2`;
}

function tryRun(command: string, ...args: string[]): void {
  try {
    run(command, ...args);
  } catch {
    // not there (any more)
  }
}

function removeNetwork(net: Network): void {
  for (const namespace of [net.isp, net.offices.a, net.offices.b]) tryRun('ip', 'netns', 'delete', namespace);
  // Deleted with the ISP namespace, its peer; and the routes with the link.
  tryRun('ip', 'link', 'delete', net.rootLink);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces and links a killed or crashed run left behind (its process is gone). */
function removeStale(): void {
  for (const line of run('ip', 'netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = NAME.exec(name);
    if (match && !alive(Number(match[1]))) tryRun('ip', 'netns', 'delete', name);
  }
  for (const line of run('ip', '-o', 'link', 'show').split('\n')) {
    const match = /^\d+: (trf(\d+)r\d+)[@:]/.exec(line);
    if (match && !alive(Number(match[2]))) tryRun('ip', 'link', 'delete', match[1]!);
  }
}

/** A 10.N.0.0/16 that no address or route of this machine touches, starting at a place of our pid's. */
function freeOctet(): number {
  const used = run('ip', '-4', '-o', 'addr', 'show') + run('ip', '-4', 'route', 'show');
  for (let i = 0; i < 128; i++) {
    const octet = 64 + ((process.pid + counter * 7 + i) % 128);
    if (!new RegExp(`\\b10\\.${octet}\\.`).test(used)) return octet;
  }
  throw new Error('no free 10.N.0.0/16 for an office network');
}

let exitHookInstalled = false;

/** Removes this process's office network (harmless when there is none). */
export function destroyOfficeNetwork(): void {
  if (current) removeNetwork(current);
  current = undefined;
}

export function createOfficeNetwork(): void {
  destroyOfficeNetwork();
  removeStale();
  counter += 1;
  const tag = `${process.pid}-${counter}`;
  const net: Network = {
    octet: freeOctet(),
    isp: `treff-isp-${tag}`,
    offices: { a: `treff-office-a-${tag}`, b: `treff-office-b-${tag}` },
    rootLink: `trf${process.pid}r${counter}`.slice(0, 15),
  };
  current = net;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test run that ends without its afterAll (a crash, a failed hook) still leaves nothing behind.
    process.once('exit', destroyOfficeNetwork);
  }
  const base = `10.${net.octet}`;
  SERVER_IP = `${base}.0.1`;
  const isp = net.isp;
  run('ip', 'netns', 'add', isp);
  inNamespace(isp, 'ip', 'link', 'set', 'lo', 'up');
  inNamespace(isp, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');

  // The "internet" side: the root namespace, where the server and the relay run.
  run('ip', 'link', 'add', net.rootLink, 'type', 'veth', 'peer', 'name', 'isp-up', 'netns', isp);
  run('ip', 'addr', 'add', `${SERVER_IP}/24`, 'dev', net.rootLink);
  run('ip', 'link', 'set', net.rootLink, 'up');
  inNamespace(isp, 'ip', 'addr', 'add', `${base}.0.2/24`, 'dev', 'isp-up');
  inNamespace(isp, 'ip', 'link', 'set', 'isp-up', 'up');

  for (const office of ['a', 'b'] as const) {
    const namespace = net.offices[office];
    const subnet = SUBNET[office];
    run('ip', 'netns', 'add', namespace);
    inNamespace(namespace, 'ip', 'link', 'set', 'lo', 'up');
    run('ip', 'link', 'add', `isp-o${subnet}`, 'netns', isp, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', namespace);
    inNamespace(isp, 'ip', 'addr', 'add', `${base}.${subnet}.1/24`, 'dev', `isp-o${subnet}`);
    inNamespace(isp, 'ip', 'link', 'set', `isp-o${subnet}`, 'up');
    inNamespace(namespace, 'ip', 'addr', 'add', `${base}.${subnet}.2/24`, 'dev', 'uplink');
    inNamespace(namespace, 'ip', 'link', 'set', 'uplink', 'up');
    inNamespace(namespace, 'ip', 'route', 'add', 'default', 'via', `${base}.${subnet}.1`);
    run('ip', 'route', 'replace', `${base}.${subnet}.0/24`, 'via', `${base}.0.2`);
  }
}

/** nftables rules for an office's outgoing traffic (the ports matter to every policy but 'open'). */
export function firewallRules(office: OfficeName, policy: FirewallPolicy, ports?: OfficePorts): string {
  if (policy !== 'open' && !ports) throw new Error(`the ${policy} firewall needs the signalling and relay ports`);
  const other = `10.${network().octet}.${SUBNET[office === 'a' ? 'b' : 'a']}`;
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
  const rules = policy === 'open' ? [] : ['oif "lo" accept', `ip daddr ${other}.0/24 drop`, ...allowed[policy]];
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
  const namespace = namespaceOf(office);
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
  return place === 'isp' ? network().isp : namespaceOf(place);
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
    namespaceOf(office),
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
  const a = `10.${network().octet}.${SUBNET.a}.0/24`;
  const b = `10.${network().octet}.${SUBNET.b}.0/24`;
  loadRules(
    network().isp,
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
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${namespaceOf(office)} ${CHROMIUM_PATH} "$@"\n`);
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
  inNamespace(namespaceOf(office), 'tc', 'qdisc', 'replace', 'dev', 'uplink', 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '16kb', 'latency', '300ms');
}
