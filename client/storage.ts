// Web Storage that never throws: browsers refuse it in some private modes and when disabled, and
// nothing Treff keeps there (names, language, verified contacts, the moderator's key) is worth
// breaking the page for. Without storage, the page simply forgets.

/** The part of the Web Storage API Treff uses; a Map in tests. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

type Area = 'localStorage' | 'sessionStorage';

function safe(area: Area): KeyValueStore {
  return {
    getItem(key) {
      try {
        return globalThis[area]?.getItem(key) ?? null;
      } catch {
        return null;
      }
    },
    setItem(key, value) {
      try {
        globalThis[area]?.setItem(key, value);
      } catch {
        // not kept: asked again, or forgotten, next time
      }
    },
  };
}

/** Kept on this device. */
export const localStore = safe('localStorage');
/** Kept for this tab: survives a reload, not a new tab. */
export const tabStore = safe('sessionStorage');

export function memoryStore(): KeyValueStore {
  const memory = new Map<string, string>();
  return { getItem: (key) => memory.get(key) ?? null, setItem: (key, value) => void memory.set(key, value) };
}

/** localStorage when the browser allows writing to it, else memory for this page (so a mark lasts the visit). */
export function persistentStore(probeKey: string): KeyValueStore {
  try {
    const storage = globalThis.localStorage;
    storage.setItem(`${probeKey}.probe`, '1');
    storage.removeItem(`${probeKey}.probe`);
    return storage;
  } catch {
    return memoryStore();
  }
}
