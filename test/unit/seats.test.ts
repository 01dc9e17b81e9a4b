import { describe, expect, it } from 'vitest';
import { Seats } from '../../signal/seats.js';

describe('seats kept for dropped connections', () => {
  it('gives the seat back to its token within the grace period, and again after a later drop', () => {
    const seats = new Seats(20_000);
    seats.issue('ada', 'token-a');
    seats.hold('ada', 1_000);
    expect(seats.holdReason('ada')).toBe('connection-lost');
    expect(seats.resume('token-a', 15_000)).toBe('ada');
    expect(seats.holdReason('ada')).toBeUndefined();
    seats.hold('ada', 30_000);
    expect(seats.resume('token-a', 49_000)).toBe('ada');
  });

  it('lets the seat go when the grace period ends, and the token is then worthless', () => {
    const seats = new Seats(20_000);
    seats.issue('ada', 'token-a');
    seats.issue('bob', 'token-b');
    seats.hold('ada', 0);
    expect(seats.expired(10_000)).toEqual([]);
    expect(seats.expired(20_001)).toEqual(['ada']);
    expect(seats.resume('token-a', 20_002)).toBeNull();
    expect(seats.size).toBe(1);
  });

  it('knows no token it did not issue', () => {
    const seats = new Seats(20_000);
    seats.issue('ada', 'token-a');
    expect(seats.resume('guessed', 0)).toBeNull();
  });

  it('forgets everything about a participant who left', () => {
    const seats = new Seats(20_000);
    seats.issue('ada', 'token-a');
    seats.forget('ada');
    expect(seats.size).toBe(0);
    expect(seats.resume('token-a', 0)).toBeNull();
  });
});
