import { describe, expect, it } from 'vitest';
import { ActiveSpeaker } from '../../client/call/quality/active-speaker.js';
import { appendChat, CHAT_HISTORY_LIMIT, unreadCount } from '../../client/call/chat.js';
import { MAX_CHAT_LENGTH, normalizeChatText, parsePeerMessage } from '../../client/call/connection/peer-protocol.js';

describe('peer messages', () => {
  it('accepts chat, screen and hand messages and keeps only their own fields', () => {
    expect(parsePeerMessage(JSON.stringify({ type: 'chat', text: ' hi ', name: 'Anna', from: 'x' }))).toEqual({ type: 'chat', text: 'hi' });
    expect(parsePeerMessage('{"type":"screen","sharing":true}')).toEqual({ type: 'screen', sharing: true });
    expect(parsePeerMessage('{"type":"hand","raised":false}')).toEqual({ type: 'hand', raised: false });
  });

  it('refuses malformed, empty, too long and disguised chat messages', () => {
    for (const raw of [
      '{"type":"chat"}',
      '{"type":"chat","text":42}',
      '{"type":"chat","text":"   "}',
      JSON.stringify({ type: 'chat', text: 'x'.repeat(MAX_CHAT_LENGTH + 1) }),
      JSON.stringify({ type: 'chat', text: 'evil\u202Egnp.exe' }),
      JSON.stringify({ type: 'chat', text: 'bell\u0007' }),
      '{"type":"screen","sharing":"yes"}',
      '{"type":"hand"}',
      'not json',
      'null',
    ]) {
      expect(parsePeerMessage(raw), raw).toBeNull();
    }
  });

  it('accepts a reception report of two booleans and keeps only those', () => {
    expect(parsePeerMessage('{"type":"reception","audio":false,"video":true}')).toEqual({ type: 'reception', audio: false, video: true });
    const withExtras = parsePeerMessage('{"type":"reception","audio":true,"video":false,"from":"p2","__proto__":{"admin":true}}');
    expect(withExtras).toStrictEqual({ type: 'reception', audio: true, video: false });
    expect(withExtras && 'admin' in withExtras).toBe(false);
  });

  it('refuses reception reports that are not exactly two booleans', () => {
    for (const raw of [
      '{"type":"reception"}',
      '{"type":"reception","audio":true}',
      '{"type":"reception","video":false}',
      '{"type":"reception","audio":"false","video":true}',
      '{"type":"reception","audio":0,"video":1}',
      '{"type":"reception","audio":null,"video":true}',
      '{"type":"reception","audio":[true],"video":true}',
      '{"type":"reception","audio":{"valueOf":false},"video":true}',
      '{"type":"Reception","audio":true,"video":true}',
      '[{"type":"reception","audio":true,"video":true}]',
      '"reception"',
    ]) {
      expect(parsePeerMessage(raw), raw).toBeNull();
    }
  });

  it('allows a full-length message with line breaks and emoji, and markup as plain text', () => {
    expect(normalizeChatText('😀'.repeat(MAX_CHAT_LENGTH))).toHaveLength(2 * MAX_CHAT_LENGTH);
    expect(normalizeChatText('line 1\r\nline 2\tend')).toBe('line 1\nline 2\tend');
    expect(normalizeChatText('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
  });
});

describe('chat history', () => {
  it('keeps the latest messages and counts unread ones from others only', () => {
    let history = appendChat([], { from: null, name: 'Me', text: 'mine', at: 0 });
    const seen = history[0]!.id;
    history = appendChat(history, { from: 'p1', name: 'Ben', text: 'one', at: 1 });
    history = appendChat(history, { from: null, name: 'Me', text: 'mine again', at: 2 });
    history = appendChat(history, { from: 'p2', name: 'Carla', text: 'two', at: 3 });
    expect(unreadCount(history, seen)).toBe(2);
    expect(unreadCount(history, history[3]!.id)).toBe(0);
    for (let i = 0; i < CHAT_HISTORY_LIMIT; i++) history = appendChat(history, { from: 'p1', name: 'Ben', text: String(i), at: i });
    expect(history).toHaveLength(CHAT_HISTORY_LIMIT);
    expect(history.at(-1)!.text).toBe(String(CHAT_HISTORY_LIMIT - 1));
  });
});

describe('active speaker', () => {
  const levels = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it('highlights the first speaker at once and moves only after the next one kept talking', () => {
    const speaker = new ActiveSpeaker<string>({ threshold: 0.03, switchAfterMs: 700, holdMs: 1500 });
    expect(speaker.update(levels({ a: 0.001, b: 0.002 }), 0)).toBeNull();
    expect(speaker.update(levels({ a: 0.2, b: 0.002 }), 250)).toBe('a');
    // b gets louder: a keeps the highlight for a while (no flicker on a cough)…
    expect(speaker.update(levels({ a: 0.0, b: 0.5 }), 500)).toBe('a');
    expect(speaker.update(levels({ a: 0.0, b: 0.5 }), 1000)).toBe('a');
    // …and loses it once b kept talking.
    expect(speaker.update(levels({ a: 0.0, b: 0.5 }), 1250)).toBe('b');
  });

  it('keeps the highlight through pauses between words and drops it after a longer silence', () => {
    const speaker = new ActiveSpeaker<string>({ threshold: 0.03, switchAfterMs: 700, holdMs: 1500 });
    // Readings every 250 ms, as the call takes them.
    const seen: Array<string | null> = [];
    for (let now = 0; now <= 3000; now += 250) seen.push(speaker.update(levels({ a: now === 0 || now === 750 ? 0.3 : 0 }), now));
    expect(seen.slice(0, 8)).toEqual(Array(8).fill('a'));
    expect(seen.at(-1)).toBeNull();
  });

  it('forgets someone who left', () => {
    const speaker = new ActiveSpeaker<string>();
    speaker.update(levels({ a: 0.3 }), 0);
    expect(speaker.update(levels({ b: 0 }), 100)).toBeNull();
  });
});
