// This browser's DTLS certificate, kept across reloads, and the contacts this device has verified (issue 8).
// A safety number vouches for a certificate: a certificate that changed on every reload would make
// "verified" meaningless, so it lives in IndexedDB (RTCCertificate is structured-cloneable).

import { normaliseFingerprint } from './safety-number.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const LIFETIME_MS = 365 * DAY_MS;
/** Renew a week ahead, so a certificate never expires in the middle of a call. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

const DATABASE = 'treff-certificate'; // its own database: no schema version to coordinate with other stores
const STORE = 'certificates';
const KEY = 'dtls';

export interface CertificateStoreOptions {
  indexedDB?: IDBFactory | undefined;
  generate?: () => Promise<RTCCertificate>;
  now?: () => number;
}

export function needsRenewal(expires: number, now: number): boolean {
  return !Number.isFinite(expires) || expires - now < RENEW_BEFORE_MS;
}

function generateCertificate(): Promise<RTCCertificate> {
  // `expires` is part of the WebRTC keygen dictionary but missing from TypeScript's DOM types.
  const algorithm: EcKeyGenParams & { expires: number } = { name: 'ECDSA', namedCurve: 'P-256', expires: LIFETIME_MS };
  return RTCPeerConnection.generateCertificate(algorithm);
}

/**
 * The stored certificate, or a new one stored for next time. Without IndexedDB (private mode, a browser that
 * cannot clone certificates) a fresh one for this page only: the call works, verification lasts one visit.
 */
export async function loadOrCreateCertificate(options: CertificateStoreOptions = {}): Promise<RTCCertificate> {
  const { generate = generateCertificate, now = Date.now } = options;
  const factory = 'indexedDB' in options ? options.indexedDB : globalThis.indexedDB;
  if (!factory) return generate();
  let database: IDBDatabase | undefined;
  let fresh: RTCCertificate | undefined;
  try {
    database = await openDatabase(factory);
    const stored = await request(database.transaction(STORE).objectStore(STORE).get(KEY));
    if (isCertificate(stored) && !needsRenewal(stored.expires, now())) return stored;
    fresh = await generate();
    return await keepFirst(database, fresh, now());
  } catch (error) {
    console.warn('DTLS certificate not persisted, using one for this page only', error);
    return fresh ?? generate();
  } finally {
    database?.close();
  }
}

/** Stores `fresh` unless another tab stored a valid certificate meanwhile: then every tab uses that one. */
function keepFirst(database: IDBDatabase, fresh: RTCCertificate, now: number): Promise<RTCCertificate> {
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(STORE, 'readwrite');
    const store = transaction.objectStore(STORE);
    let chosen = fresh;
    const read = store.get(KEY);
    read.onsuccess = () => {
      const stored: unknown = read.result;
      if (isCertificate(stored) && !needsRenewal(stored.expires, now)) chosen = stored;
      else store.put(fresh, KEY);
    };
    transaction.oncomplete = () => resolve(chosen);
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function openDatabase(factory: IDBFactory): Promise<IDBDatabase> {
  const opening = factory.open(DATABASE, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return request(opening);
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function isCertificate(value: unknown): value is RTCCertificate {
  return typeof value === 'object' && value !== null && typeof (value as { expires?: unknown }).expires === 'number';
}

// Verified contacts.
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

/** The part of the Web Storage API used here; localStorage in the browser, a Map in tests. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface VerifiedContacts {
  markVerified(theirFingerprint: string, label: string): void;
  isVerified(theirFingerprint: string): boolean;
  /** The name under which this certificate was verified, or null. */
  verifiedAs(theirFingerprint: string): string | null;
  /** True when someone verified under `label` is now seen with a certificate not verified under that label. */
  changedSinceVerified(label: string, theirFingerprint: string): boolean;
  forget(theirFingerprint: string): void;
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

export function verifiedContacts(storage: KeyValueStore = browserStorage()): VerifiedContacts {
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
    forget(theirFingerprint) {
      const records = readRecords(storage);
      delete records[requireFingerprint(theirFingerprint)];
      write(records);
    },
  };
}

/** localStorage when the browser allows it (it throws in some private modes), else memory for this page. */
function browserStorage(): KeyValueStore {
  try {
    const storage = globalThis.localStorage;
    storage.setItem(`${STORAGE_KEY}.probe`, '1');
    storage.removeItem(`${STORAGE_KEY}.probe`);
    return storage;
  } catch {
    const memory = new Map<string, string>();
    return { getItem: (key) => memory.get(key) ?? null, setItem: (key, value) => void memory.set(key, value) };
  }
}
