// `npm run cert [-- host ...]`: a self-signed certificate for trying Treff over HTTPS on a LAN.
// Browsers will warn about it once per device (it is signed by nobody they know); for a real
// deployment use a certificate from the town's CA or Let's Encrypt instead.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCertificate, type CertificateInfo } from '../signal/tls.js';

export interface SelfSignedCertificate extends CertificateInfo {
  certFile: string;
  keyFile: string;
}

/** subjectAltName for openssl: every name and address the browser may use. */
export function subjectAltName(hosts: readonly string[]): string {
  return [...new Set(hosts)].map((host) => (isIP(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
}

/** The names a LAN trial is reached by: this machine's name, its addresses and localhost. */
export function defaultHosts(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address && !address.internal && address.family === 'IPv4')
    .map((address) => address!.address);
  return ['localhost', '127.0.0.1', '::1', hostname(), ...addresses];
}

export function makeSelfSignedCertificate({ dir, hosts = defaultHosts(), days = 90 }: { dir: string; hosts?: string[]; days?: number }): SelfSignedCertificate {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const commonName = hosts.find((host) => !isIP(host)) ?? hosts[0] ?? 'localhost';
  // Arguments as an array, never a shell line: host names come from the command line.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days), '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${subjectAltName(hosts)}`, '-keyout', keyFile, '-out', certFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, ...checkCertificate({ certFile, keyFile }) };
}

function run(argv: string[]): void {
  const outIndex = argv.indexOf('--out');
  const dir = resolve(outIndex >= 0 ? argv.splice(outIndex, 2)[1]! : join(process.env.TREFF_DATA_DIR || 'data', 'tls'));
  const hosts = argv.length > 0 ? argv : defaultHosts();
  const made = makeSelfSignedCertificate({ dir, hosts });
  process.stdout.write(
    [
      `Self-signed certificate for ${hosts.join(', ')}, valid until ${made.validTo.toISOString().slice(0, 10)}:`,
      `  ${made.certFile}`,
      `  ${made.keyFile}`,
      `SHA-256 fingerprint: ${made.fingerprint256}`,
      '',
      'Start Treff with it:',
      `  TREFF_TLS_CERT=${made.certFile} TREFF_TLS_KEY=${made.keyFile} TREFF_PORT=8443 npm start`,
      '',
      'Browsers will warn once per device ("Your connection is not private" / "Potential Security Risk Ahead"):',
      'compare the fingerprint above with the one the browser shows, then choose Advanced → Proceed / Accept the Risk.',
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) run(process.argv.slice(2));
