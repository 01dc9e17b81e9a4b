// The small judgements of the bitrate control's shell: what an encoding should look like, when the
// uplink counts as strained, and when the weak-connection notice comes and goes.

import { describe, expect, it } from 'vitest';
import { encodingFor, isStrained, weakTracker, WEAK_TIMING } from '../../client/call/quality/bitrate-control.js';
import { planBitrates } from '../../client/call/quality/bitrate-policy.js';

const peers = (n: number, estimate?: number) => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, availableOutgoingBitrateBps: estimate }));

describe('encodings applied to the senders', () => {
  it('keeps audio at full rate and high priority, and pauses video with active: false', () => {
    const [link] = planBitrates({ peers: [{ id: 'a', tile: { width: 0, height: 0 } }] }).links;
    expect(encodingFor('audio', link!)).toEqual({ active: true, maxBitrate: 40_000, priority: 'high', networkPriority: 'high' });
    expect(encodingFor('video', link!)).toEqual({ active: false });
  });

  it('gives video the planned limit, scale, frame rate and low priority', () => {
    const [link] = planBitrates({ peers: peers(3), sourceHeight: 720 }).links;
    expect(encodingFor('video', link!)).toEqual({ active: true, maxBitrate: 600_000, scaleResolutionDownBy: 2, maxFramerate: 30, priority: 'low', networkPriority: 'low' });
  });
});

describe('a strained uplink', () => {
  const strained = (n: number, estimate: number | undefined, budget?: number) =>
    isStrained(planBitrates({ peers: peers(n, estimate === undefined ? undefined : estimate / n), uplinkBudgetBps: budget }), {
      peers: n,
      screenSharing: false,
      uplinkBudgetBps: budget,
      totalEstimateBps: estimate,
    });

  it('is one that cannot carry audio plus the room step’s smallest good picture on every link', () => {
    // Two people: 720p needs at least 600 kbit/s plus 40 kbit/s of audio.
    expect(strained(1, 500_000)).toBe(true);
    expect(strained(1, 1_000_000)).toBe(false);
    // Four people: 360p at 250 kbit/s plus audio, three times.
    expect(strained(3, 800_000)).toBe(true);
    expect(strained(3, 900_000)).toBe(false);
  });

  it('is not blamed for the operator’s low budget, nor judged before any estimate exists', () => {
    expect(strained(3, 500_000, 500_000)).toBe(false);
    expect(strained(3, undefined)).toBe(false);
  });

  it('is one where the plan paused video for want of bandwidth', () => {
    expect(strained(3, 3 * 100_000)).toBe(true);
  });
});

describe('the weak-connection notice', () => {
  const { graceMs, onMs, offMs } = WEAK_TIMING;

  it('ignores the estimate’s ramp-up after a peer connects', () => {
    const tracker = weakTracker();
    for (let t = 0; t < graceMs; t += 2000) expect(tracker.update({ strained: true, roomKey: 'a' }, t)).toBe(false);
  });

  it('comes after sustained strain and goes after sustained recovery', () => {
    const tracker = weakTracker();
    let t = 0;
    const tick = (strained: boolean) => tracker.update({ strained, roomKey: 'a' }, (t += 2000));
    while (t < graceMs) tick(true);
    const start = t;
    while (t - start < onMs) expect(tick(true)).toBe(false);
    expect(tick(true)).toBe(true);
    // One good reading does not clear it, nor does recovery interrupted by strain.
    expect(tick(false)).toBe(true);
    expect(tick(true)).toBe(true);
    const recovered = t;
    while (t - recovered <= offMs) tick(false);
    expect(tick(false)).toBe(false);
  });

  it('starts the grace period again when the room changes', () => {
    const tracker = weakTracker();
    let t = 0;
    while (t < graceMs + onMs + 4000) tracker.update({ strained: true, roomKey: 'a' }, (t += 2000));
    expect(tracker.update({ strained: true, roomKey: 'a' }, (t += 2000))).toBe(true);
    // A newcomer: the notice stays as it was while the new link's estimate ramps up.
    expect(tracker.update({ strained: false, roomKey: 'a,b' }, (t += 2000))).toBe(true);
  });
});
