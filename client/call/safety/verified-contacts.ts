// The contacts this device has verified (issue 8): which certificate belongs to whom, as a matching
// safety number proved it.
//
// The issue speaks of remembering "the pair of fingerprints". The record is keyed by THEIR fingerprint
// alone, in this device's storage: what a matching safety number proved is "certificate F belongs to the
// person I verified as L", which does not depend on my own certificate. Keying by the pair would silently
// drop every verification when my certificate is renewed (yearly, or each visit in private mode), and the
// device is already implied by where the record lives.
// Names are chosen freely by participants and prove nothing: the "verified" mark comes only from a
// fingerprint match. The label is used the other way round, to warn: someone using the name of a verified
// contact from a certificate verified under no such name is shown "changed since you verified". Someone
// who picks a different name gets no warning, only no "verified" mark; that limit is stated in the help page.

import { persistentStore, type KeyValueStore } from '../../storage.js';
import { normaliseFingerprint } from './safety-number.js';

export interface VerifiedContacts {
  markVerified(theirFingerprint: string, label: string): void;
  isVerified(theirFingerprint: string): boolean;
  /** The name under which this certificate was verified, or null. */
  verifiedAs(theirFingerprint: string): string | null;
  /** True when someone verified under `label` is now seen with a certificate not verified under that label. */
  changedSinceVerified(label: string, theirFingerprint: string): boolean;
}

const STORAGE_KEY = 'treff.verified-contacts.v1';
const MAX_LABEL = 200;

type Records = Record<string, { label: string }>;

/** Compares names the way people read them: case, width and spacing variants count as the same name. */
function sameName(label: string): string {
  return label.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function requireFingerprint(value: string): string {
  const fingerprint = normaliseFingerprint(value);
  if (!fingerprint) throw new TypeError('not a sha-256 fingerprint');
  return fingerprint;
}

function readRecords(storage: KeyValueStore): Records {
  const records: Records = {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(storage.getItem(STORAGE_KEY) ?? '{}');
  } catch {
    return records; // unreadable: start empty rather than trust any part of it
  }
  if (typeof parsed !== 'object' || parsed === null) return records;
  for (const [key, value] of Object.entries(parsed)) {
    const fingerprint = normaliseFingerprint(key);
    const label: unknown = (value as { label?: unknown } | null)?.label;
    if (fingerprint && typeof label === 'string' && label.length <= MAX_LABEL) records[fingerprint] = { label };
  }
  return records;
}

export function verifiedContacts(storage: KeyValueStore = persistentStore(STORAGE_KEY)): VerifiedContacts {
  const write = (records: Records) => storage.setItem(STORAGE_KEY, JSON.stringify(records));
  const verifiedAs = (theirFingerprint: string) =>
    readRecords(storage)[requireFingerprint(theirFingerprint)]?.label ?? null;
  return {
    markVerified(theirFingerprint, label) {
      const records = readRecords(storage);
      records[requireFingerprint(theirFingerprint)] = { label: label.slice(0, MAX_LABEL) };
      write(records);
    },
    isVerified: (theirFingerprint) => verifiedAs(theirFingerprint) !== null,
    verifiedAs,
    changedSinceVerified(label, theirFingerprint) {
      const name = sameName(label);
      const fingerprint = requireFingerprint(theirFingerprint);
      const underName = Object.entries(readRecords(storage)).filter(([, record]) => sameName(record.label) === name);
      return underName.length > 0 && !underName.some(([verified]) => verified === fingerprint);
    },
  };
}
