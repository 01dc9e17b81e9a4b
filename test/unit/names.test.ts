import { describe, expect, it } from 'vitest';
import { MAX_DISPLAY_NAME_LENGTH, MAX_ROOM_NAME_LENGTH, normalizeDisplayName, normalizeRoomName } from '../../signal/names.js';

describe('normalizeRoomName: a link typed any way leads to the same meeting', () => {
  it.each([
    ['Team Weekly', 'team-weekly'],
    ['team-weekly', 'team-weekly'],
    ['TEAM_WEEKLY', 'team-weekly'],
    ['team.weekly', 'team-weekly'],
    ['  team   weekly  ', 'team-weekly'],
    ['team -_. weekly', 'team-weekly'],
    ['--team--weekly--', 'team-weekly'],
    ['Planung 2025', 'planung-2025'],
  ])('%j becomes %j', (input, expected) => {
    expect(normalizeRoomName(input)).toEqual({ ok: true, value: expected });
  });

  it('treats upper and lower case as the same room', () => {
    expect(normalizeRoomName('ÜBERSICHT')).toEqual(normalizeRoomName('übersicht'));
  });

  it('accepts letters and digits of other scripts', () => {
    expect(normalizeRoomName('Café Zürich')).toEqual({ ok: true, value: 'café-zürich' });
    expect(normalizeRoomName('Встреча Команды')).toEqual({ ok: true, value: 'встреча-команды' });
    expect(normalizeRoomName('会議室')).toEqual({ ok: true, value: '会議室' });
    expect(normalizeRoomName('٣٤')).toEqual({ ok: true, value: '٣٤' });
  });

  it('composes a decomposed accent so both spellings meet in one room', () => {
    expect(normalizeRoomName('Cafe\u0301')).toEqual(normalizeRoomName('Caf\u00e9'));
  });

  it(`accepts ${MAX_ROOM_NAME_LENGTH} characters and refuses one more`, () => {
    expect(normalizeRoomName('a'.repeat(MAX_ROOM_NAME_LENGTH))).toEqual({ ok: true, value: 'a'.repeat(MAX_ROOM_NAME_LENGTH) });
    expect(normalizeRoomName('a'.repeat(MAX_ROOM_NAME_LENGTH + 1)).ok).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['only separators', '-_.-'],
    ['a slash', 'team/weekly'],
    ['a path', '../etc/passwd'],
    ['markup', '<script>'],
    ['a query', 'team?x=1'],
    ['a percent sign', 'team%20weekly'],
    ['an emoji', 'party🎉'],
  ])('refuses %s', (_, input) => {
    const result = normalizeRoomName(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/meeting name/);
  });
});

describe('normalizeDisplayName: what others see next to a video tile', () => {
  it('collapses runs of whitespace and trims the ends', () => {
    expect(normalizeDisplayName('  Ada \t\n  Lovelace  ')).toEqual({ ok: true, value: 'Ada Lovelace' });
  });

  it('treats a byte order mark pasted along with a name as whitespace', () => {
    expect(normalizeDisplayName('\uFEFFAda\uFEFF Lovelace')).toEqual({ ok: true, value: 'Ada Lovelace' });
  });

  it('keeps case, punctuation and other scripts as typed', () => {
    expect(normalizeDisplayName("Dr. O'Brien-Smith (she/her)")).toEqual({ ok: true, value: "Dr. O'Brien-Smith (she/her)" });
    expect(normalizeDisplayName('Jürgen Müller')).toEqual({ ok: true, value: 'Jürgen Müller' });
    expect(normalizeDisplayName('李小龍')).toEqual({ ok: true, value: '李小龍' });
  });

  it('keeps emoji, including sequences joined by a zero-width joiner', () => {
    const family = '👩\u200d👩\u200d👧';
    const rainbowFlag = '🏳\ufe0f\u200d🌈';
    expect(normalizeDisplayName(`Sam ${family}`)).toEqual({ ok: true, value: `Sam ${family}` });
    expect(normalizeDisplayName(`Kim ${rainbowFlag}`)).toEqual({ ok: true, value: `Kim ${rainbowFlag}` });
  });

  it(`accepts ${MAX_DISPLAY_NAME_LENGTH} characters and refuses one more`, () => {
    expect(normalizeDisplayName('a'.repeat(MAX_DISPLAY_NAME_LENGTH)).ok).toBe(true);
    expect(normalizeDisplayName('a'.repeat(MAX_DISPLAY_NAME_LENGTH + 1)).ok).toBe(false);
  });

  it('counts an astral character (one emoji) as one character, not two', () => {
    expect(normalizeDisplayName('😀'.repeat(MAX_DISPLAY_NAME_LENGTH)).ok).toBe(true);
  });

  it('measures the length after collapsing whitespace', () => {
    expect(normalizeDisplayName(`  ${'a'.repeat(MAX_DISPLAY_NAME_LENGTH)}      `).ok).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['only whitespace', ' \t\n '],
    ['a NUL byte', 'Ada\u0000'],
    ['an escape character', 'Ada\u001b[31m'],
    ['a DEL character', 'Ada\u007f'],
    ['a right-to-left override', 'Ada\u202Egnp.exe'],
    ['a left-to-right embedding', '\u202AAda'],
    ['a zero-width space', 'A\u200Bda'],
    ['a private-use character', 'Ada\uE000'],
    ['an unassigned code point', 'Ada\u{E0FFF}'],
  ])('refuses %s', (_, input) => {
    expect(normalizeDisplayName(input).ok).toBe(false);
  });
});

describe('names in every script', () => {
  // Scripts that write vowels and viramas as combining marks, and "İ".toLowerCase(), which is
  // "i" + U+0307 (a combining mark).
  it.each([
    ['Hindi', 'नमस्ते'],
    ['Thai', 'สวัสดี'],
    ['Turkish capital İ', 'İstanbul'],
  ])('accepts a %s meeting name', (_, input) => {
    expect(normalizeRoomName(input).ok).toBe(true);
  });

  // Emoji tag sequences (the flags of England, Scotland, Wales) are made of Cf tag characters,
  // and Persian needs the zero-width non-joiner U+200C.
  it.each([
    ['the flag of England', '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}'],
    ['a Persian word with a zero-width non-joiner', 'می\u200cخواهم'],
  ])('accepts %s in a display name', (_, input) => {
    expect(normalizeDisplayName(input)).toEqual({ ok: true, value: input });
  });
});
