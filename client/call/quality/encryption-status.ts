// How a connection is encrypted, read from getStats() rather than assumed: DTLS state and
// version, SRTP cipher, and the fingerprints of the certificates actually used on the wire.

import { normaliseFingerprint } from '../safety/safety-number.js';
import { statsById, type Stat } from './stats.js';

export interface EncryptionStatus {
  dtlsState: string | null;
  /** "DTLS 1.3", "DTLS 1.2", or the raw version code when unknown. */
  dtlsVersion: string | null;
  srtpCipher: string | null;
  dtlsCipher: string | null;
  localFingerprint: string | null;
  remoteFingerprint: string | null;
}

const DTLS_VERSIONS: Record<string, string> = { FEFC: 'DTLS 1.3', FEFD: 'DTLS 1.2', FEFF: 'DTLS 1.0' };

export function encryptionStatus(stats: Iterable<Stat>): EncryptionStatus {
  const byId = statsById(stats);
  const transport = [...byId.values()].find((stat) => stat.type === 'transport');
  const certificate = (id: unknown) => {
    const stat = id === undefined ? undefined : byId.get(String(id));
    return typeof stat?.fingerprint === 'string' ? normaliseFingerprint(stat.fingerprint) : null;
  };
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const version = text(transport?.tlsVersion);
  return {
    dtlsState: text(transport?.dtlsState),
    dtlsVersion: version ? (DTLS_VERSIONS[version.toUpperCase()] ?? version) : null,
    srtpCipher: text(transport?.srtpCipher),
    dtlsCipher: text(transport?.dtlsCipher),
    localFingerprint: certificate(transport?.localCertificateId),
    remoteFingerprint: certificate(transport?.remoteCertificateId),
  };
}
