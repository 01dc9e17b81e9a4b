// Meeting and display names: one normalisation for server and client, so a link typed
// as "Team Weekly" and one typed as "team-weekly" lead to the same room.

export type NameResult = { ok: true; value: string } | { ok: false; reason: string };

export const MAX_ROOM_NAME_LENGTH = 64;
export const MAX_DISPLAY_NAME_LENGTH = 40;

/** Lower-case letters (with their combining marks) and digits of any script, joined by single dashes. */
export function normalizeRoomName(input: string): NameResult {
  const value = input
    .normalize('NFKC')
    .toLowerCase()
    .trim()
    .replace(/[\s_.]+/gu, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '');
  if (value.length === 0) return { ok: false, reason: 'the meeting name is empty' };
  if (value.length > MAX_ROOM_NAME_LENGTH) {
    return { ok: false, reason: `the meeting name is longer than ${MAX_ROOM_NAME_LENGTH} characters` };
  }
  if (!/^[\p{L}\p{M}\p{N}-]+$/u.test(value)) {
    return { ok: false, reason: 'the meeting name may only contain letters, digits and dashes' };
  }
  return { ok: true, value };
}

/** Any printable text; whitespace collapsed; control and formatting characters refused. */
export function normalizeDisplayName(input: string): NameResult {
  const value = input.normalize('NFC').replace(/\s+/gu, ' ').trim();
  if (value.length === 0) return { ok: false, reason: 'the name is empty' };
  if ([...value].length > MAX_DISPLAY_NAME_LENGTH) {
    return { ok: false, reason: `the name is longer than ${MAX_DISPLAY_NAME_LENGTH} characters` };
  }
  // Format characters are refused (bidi overrides can disguise a name), except the joiners that
  // emoji sequences and Persian need and the tag characters of flag emoji (England, Scotland, Wales).
  if (/[\p{Cc}\p{Co}\p{Cn}]|(?![\u200c\u200d\u{E0020}-\u{E007F}])\p{Cf}/u.test(value)) {
    return { ok: false, reason: 'the name contains invisible or control characters' };
  }
  return { ok: true, value };
}
