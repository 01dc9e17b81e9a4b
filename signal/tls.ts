// The certificate Treff serves HTTPS with: checked before uWS gets it (uWS reports a bad file
// only as a failed listen), and described for the log and /metrics.

import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type TlsConfig } from './config.js';

export interface CertificateInfo {
  /** SHA-256 of the DER certificate, as browsers show it: "AB:CD:…". */
  fingerprint256: string;
  /** SHA-256 of the public key (SPKI), base64: what Chromium's --ignore-certificate-errors-spki-list takes. */
  spkiSha256: string;
  subject: string;
  validTo: Date;
}

/** Reads and checks the pair; throws a ConfigError naming TREFF_TLS_CERT or TREFF_TLS_KEY. */
export function checkCertificate(tls: Pick<TlsConfig, 'certFile' | 'keyFile'>, now = new Date()): CertificateInfo {
  const certPem = read(tls.certFile, 'TREFF_TLS_CERT');
  const keyPem = read(tls.keyFile, 'TREFF_TLS_KEY');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new ConfigError('TREFF_TLS_CERT', `${tls.certFile} is not a PEM certificate (${(error as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new ConfigError('TREFF_TLS_KEY', `${tls.keyFile} is not an unencrypted PEM private key (${(error as Error).message})`);
  }
  if (!certificate.checkPrivateKey(key)) throw new ConfigError('TREFF_TLS_KEY', `${tls.keyFile} is not the key of the certificate in ${tls.certFile}`);
  const validTo = new Date(certificate.validTo);
  if (validTo.getTime() < now.getTime()) throw new ConfigError('TREFF_TLS_CERT', `the certificate in ${tls.certFile} expired on ${validTo.toISOString()}`);
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return {
    fingerprint256: certificate.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    subject: certificate.subject.replace(/\n/g, ', '),
    validTo,
  };
}

function read(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(setting, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
