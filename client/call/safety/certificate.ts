// This browser's DTLS certificate, kept across reloads (issue 8).
// A safety number vouches for a certificate: a certificate that changed on every reload would make
// "verified" meaningless, so it lives in IndexedDB (RTCCertificate is structured-cloneable).

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
