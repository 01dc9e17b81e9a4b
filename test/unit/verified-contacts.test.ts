import { describe, expect, it, vi } from 'vitest';
import { loadOrCreateCertificate, needsRenewal } from '../../client/call/safety/certificate.js';
import { verifiedContacts } from '../../client/call/safety/verified-contacts.js';
import type { KeyValueStore } from '../../client/storage.js';

const fingerprint = (byte: number) => Array(32).fill(byte.toString(16).padStart(2, '0').toUpperCase()).join(':');
const ANNA_LAPTOP = fingerprint(0xa1);
const ANNA_PHONE = fingerprint(0xa2);
const BEN = fingerprint(0xb1);
const STRANGER = fingerprint(0xee);

function memoryStorage(): KeyValueStore & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return { entries, getItem: (key) => entries.get(key) ?? null, setItem: (key, value) => void entries.set(key, value) };
}

describe('verified contacts on this device', () => {
  it('remembers a verified participant across reloads', () => {
    const storage = memoryStorage();
    verifiedContacts(storage).markVerified(ANNA_LAPTOP, 'Anna');
    const afterReload = verifiedContacts(storage);
    expect(afterReload.isVerified(ANNA_LAPTOP)).toBe(true);
    expect(afterReload.verifiedAs(ANNA_LAPTOP)).toBe('Anna');
    expect(afterReload.isVerified(BEN)).toBe(false);
  });

  it('recognises the certificate however its fingerprint is written', () => {
    const contacts = verifiedContacts(memoryStorage());
    contacts.markVerified(ANNA_LAPTOP.toLowerCase(), 'Anna');
    expect(contacts.isVerified(ANNA_LAPTOP)).toBe(true);
  });

  it('warns when someone verified as Anna shows up with another certificate', () => {
    const contacts = verifiedContacts(memoryStorage());
    contacts.markVerified(ANNA_LAPTOP, 'Anna');
    expect(contacts.changedSinceVerified('Anna', ANNA_LAPTOP)).toBe(false);
    expect(contacts.changedSinceVerified('Anna', STRANGER)).toBe(true);
    expect(contacts.changedSinceVerified('  anna ', STRANGER)).toBe(true); // case and spaces do not dodge it
    expect(contacts.isVerified(STRANGER)).toBe(false);
  });

  it('warns when another verified contact’s certificate uses Anna’s name', () => {
    const contacts = verifiedContacts(memoryStorage());
    contacts.markVerified(ANNA_LAPTOP, 'Anna');
    contacts.markVerified(BEN, 'Ben');
    expect(contacts.changedSinceVerified('Anna', BEN)).toBe(true);
    expect(contacts.verifiedAs(BEN)).toBe('Ben');
  });

  it('does not warn about names never verified, nor about a verified contact who renamed', () => {
    const contacts = verifiedContacts(memoryStorage());
    contacts.markVerified(ANNA_LAPTOP, 'Anna');
    expect(contacts.changedSinceVerified('Ben', STRANGER)).toBe(false);
    expect(contacts.changedSinceVerified('Anna K.', ANNA_LAPTOP)).toBe(false);
    expect(contacts.verifiedAs(ANNA_LAPTOP)).toBe('Anna');
  });

  it('accepts one person verified on two devices', () => {
    const contacts = verifiedContacts(memoryStorage());
    contacts.markVerified(ANNA_LAPTOP, 'Anna');
    contacts.markVerified(ANNA_PHONE, 'Anna');
    expect(contacts.changedSinceVerified('Anna', ANNA_LAPTOP)).toBe(false);
    expect(contacts.changedSinceVerified('Anna', ANNA_PHONE)).toBe(false);
  });

  it('trusts nothing from damaged storage, and starts over', () => {
    const storage = memoryStorage();
    storage.setItem('treff.verified-contacts.v1', '{not json');
    const contacts = verifiedContacts(storage);
    expect(contacts.isVerified(ANNA_LAPTOP)).toBe(false);
    storage.setItem('treff.verified-contacts.v1', JSON.stringify({ 'not-a-fingerprint': { label: 'Anna' }, [BEN]: { label: 7 } }));
    expect(contacts.changedSinceVerified('Anna', STRANGER)).toBe(false);
    expect(contacts.isVerified(BEN)).toBe(false);
    contacts.markVerified(ANNA_LAPTOP, 'Anna');
    expect(JSON.parse(storage.getItem('treff.verified-contacts.v1')!)).toEqual({ [ANNA_LAPTOP]: { label: 'Anna' } });
  });

  it('refuses to record something that is not a sha-256 fingerprint', () => {
    expect(() => verifiedContacts(memoryStorage()).markVerified('AB:CD', 'Anna')).toThrow(TypeError);
  });
});

describe('the DTLS certificate of this browser', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const now = Date.UTC(2026, 0, 1);

  it('is renewed a week before it expires, or when its expiry is unknown', () => {
    expect(needsRenewal(now + 300 * DAY, now)).toBe(false);
    expect(needsRenewal(now + 8 * DAY, now)).toBe(false);
    expect(needsRenewal(now + 6 * DAY, now)).toBe(true);
    expect(needsRenewal(now - DAY, now)).toBe(true);
    expect(needsRenewal(Number.NaN, now)).toBe(true);
  });

  it('is made fresh for this page when there is no IndexedDB (private mode)', async () => {
    const certificate = { expires: now + 365 * DAY } as RTCCertificate;
    const generate = vi.fn(async () => certificate);
    expect(await loadOrCreateCertificate({ indexedDB: undefined, generate })).toBe(certificate);
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it('is made fresh for this page when IndexedDB refuses to open', async () => {
    const certificate = { expires: now + 365 * DAY } as RTCCertificate;
    const generate = vi.fn(async () => certificate);
    const broken = { open: () => { throw new DOMException('denied', 'SecurityError'); } } as unknown as IDBFactory;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await loadOrCreateCertificate({ indexedDB: broken, generate })).toBe(certificate);
    expect(generate).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});
