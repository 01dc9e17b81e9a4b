import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate, subjectAltName } from '../../scripts/cert.js';

describe('npm run cert: a self-signed certificate for a LAN trial', () => {
  it('names every host and address in subjectAltName', () => {
    expect(subjectAltName(['meet.local', '192.168.1.20', '::1', 'meet.local'])).toBe('DNS:meet.local,IP:192.168.1.20,IP:::1');
  });

  it('writes a certificate valid for those names and a private key only its owner can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'treff-cert-'));
    try {
      const made = makeSelfSignedCertificate({ dir: join(dir, 'tls'), hosts: ['meet.local', '192.168.1.20'], days: 30 });
      const certificate = new X509Certificate(readFileSync(made.certFile));
      expect(certificate.checkHost('meet.local')).toBe('meet.local');
      expect(certificate.checkIP('192.168.1.20')).toBe('192.168.1.20');
      expect(certificate.fingerprint256).toBe(made.fingerprint256);
      expect(made.validTo.getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
      expect(statSync(made.keyFile).mode & 0o077).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
