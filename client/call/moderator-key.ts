// The moderator's key, kept for this tab only (sessionStorage survives a reload, not a new tab),
// so a moderator who reloads gets the role back instead of losing it to someone else.
// Without storage a reload loses the role, nothing worse.

import type { KeyValueStore } from '../storage.js';

const keyFor = (room: string) => `treff.moderatorKey.${room}`;

export function rememberedModeratorKey(storage: KeyValueStore, room: string): string | undefined {
  return storage.getItem(keyFor(room)) ?? undefined;
}

export function rememberModeratorKey(storage: KeyValueStore, room: string, key: string): void {
  storage.setItem(keyFor(room), key);
}
