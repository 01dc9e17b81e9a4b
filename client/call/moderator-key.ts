// The moderator's key, kept for this tab only (sessionStorage survives a reload, not a new tab),
// so a moderator who reloads gets the role back instead of losing it to someone else.

const keyFor = (room: string) => `treff.moderatorKey.${room}`;

export function rememberedModeratorKey(room: string): string | undefined {
  try {
    return sessionStorage.getItem(keyFor(room)) ?? undefined;
  } catch {
    return undefined;
  }
}

export function rememberModeratorKey(room: string, key: string): void {
  try {
    sessionStorage.setItem(keyFor(room), key);
  } catch {
    // storage disabled: a reload loses the role, nothing worse
  }
}
