import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CAMERA_STEPS,
  DEFAULT_AUDIO_BITRATE_BPS,
  DEFAULT_UPLINK_BUDGET_BPS,
  HEADROOM,
  planBitrates,
  roomStep,
  type BitratePlan,
  type LinkPlan,
  type BitrateLink,
} from '../../client/call/quality/bitrate-policy.js';

const peers = (n: number, extra: Partial<BitrateLink> = {}): BitrateLink[] => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, ...extra }));

function video(link: LinkPlan | undefined) {
  if (!link) throw new Error('no such link');
  if (link.video.paused) throw new Error(`video to ${link.id} is paused (${link.video.reason})`);
  return link.video;
}

function totalBps(plan: BitratePlan): number {
  return plan.links.reduce((sum, link) => sum + link.audio.maxBitrateBps + (link.video.paused ? 0 : link.video.maxBitrateBps), 0);
}

const heights = (plan: BitratePlan) => plan.links.map((link) => (link.video.paused ? 0 : link.video.height));

describe('mesh bitrate policy', () => {
  describe('a room that grows steps its picture down', () => {
    it('sends 720p at 30 fps when two people meet', () => {
      const link = video(planBitrates({ peers: peers(1) }).links[0]);
      expect(link).toMatchObject({ height: 720, maxFramerate: 30, scaleResolutionDownBy: 1 });
      expect(link.maxBitrateBps).toBe(1_500_000);
    });

    it('sends 360p to each of three others in a room of four, 180p at 15 fps in a room of eight', () => {
      expect(heights(planBitrates({ peers: peers(3) }))).toEqual([360, 360, 360]);
      const eight = planBitrates({ peers: peers(7) });
      expect(heights(eight)).toEqual(Array(7).fill(180));
      expect(video(eight.links[0])).toMatchObject({ maxFramerate: 15, scaleResolutionDownBy: 4 });
    });

    it('never steps up as the room grows', () => {
      let previous = Infinity;
      for (let people = 2; people <= 12; people++) {
        const height = Math.max(...heights(planBitrates({ peers: peers(people - 1) })));
        expect(height).toBeLessThanOrEqual(previous);
        previous = height;
      }
    });

    it('scales relative to the captured height', () => {
      expect(video(planBitrates({ peers: peers(3), sourceHeight: 1080 }).links[0]).scaleResolutionDownBy).toBe(3);
      expect(video(planBitrates({ peers: peers(3), sourceHeight: 240 }).links[0]).scaleResolutionDownBy).toBe(1);
    });
  });

  describe('the budget', () => {
    it('is never exceeded: audio plus video of every link stays within the usable budget', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 11 }),
          fc.integer({ min: 200_000, max: 20_000_000 }),
          fc.option(fc.integer({ min: 0, max: 20_000_000 }), { nil: undefined }),
          fc.array(
            fc.record({
              tile: fc.option(fc.record({ width: fc.integer({ min: 0, max: 4000 }), height: fc.integer({ min: 0, max: 2200 }) }), { nil: undefined }),
              availableOutgoingBitrateBps: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
              lossFraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
            }),
            { minLength: 11, maxLength: 11 },
          ),
          fc.boolean(),
          fc.boolean(),
          (n, budget, measured, links, screenSharing, activeSpeaker) => {
            const plan = planBitrates({
              peers: links.slice(0, n).map((link, i) => ({ id: `p${i}`, ...link })),
              uplinkBudgetBps: budget,
              measuredUplinkBps: measured,
              screenSharing,
              activeSpeaker,
            });
            expect(plan.links).toHaveLength(n);
            expect(plan.usableBps).toBeLessThanOrEqual(budget);
            // Audio is never cut; when audio alone exceeds the budget there is simply no video.
            const audioOnly = n * DEFAULT_AUDIO_BITRATE_BPS;
            if (audioOnly <= plan.usableBps) expect(totalBps(plan)).toBeLessThanOrEqual(plan.usableBps);
            else expect(plan.links.every((link) => link.video.paused)).toBe(true);
            for (const link of plan.links) {
              expect(link.audio).toEqual({ maxBitrateBps: DEFAULT_AUDIO_BITRATE_BPS, priority: 'high' });
              if (!link.video.paused) {
                expect(link.video.maxBitrateBps).toBeGreaterThanOrEqual(80_000);
                expect(link.video.scaleResolutionDownBy).toBeGreaterThanOrEqual(1);
              }
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it('defaults to 2.5 Mbit/s with 10 % headroom, lowered by the measured upload', () => {
      expect(planBitrates({ peers: peers(1) }).usableBps).toBe(DEFAULT_UPLINK_BUDGET_BPS * HEADROOM);
      expect(planBitrates({ peers: peers(1), measuredUplinkBps: 1_000_000 }).usableBps).toBe(900_000);
      expect(planBitrates({ peers: peers(1), measuredUplinkBps: 9_000_000 }).usableBps).toBe(DEFAULT_UPLINK_BUDGET_BPS * HEADROOM);
    });

    it('steps down below the room step when the budget is tight: four people on 800 kbit/s get 270p', () => {
      // 720 usable − 120 audio = 200 kbit/s per link: below 360p's minimum of 250.
      const plan = planBitrates({ peers: peers(3), uplinkBudgetBps: 800_000 });
      expect(heights(plan)).toEqual([270, 270, 270]);
      expect(totalBps(plan)).toBeLessThanOrEqual(720_000);
      // 1 Mbit/s leaves 260 kbit/s per link: 360p still fits.
      expect(heights(planBitrates({ peers: peers(3), uplinkBudgetBps: 1_000_000 }))).toEqual([360, 360, 360]);
    });

    it('follows each link’s measured bandwidth and backs off on loss', () => {
      const plan = planBitrates({
        peers: [
          { id: 'good' },
          { id: 'narrow', availableOutgoingBitrateBps: 300_000 },
          { id: 'lossy', lossFraction: 0.05 },
          { id: 'very-lossy', lossFraction: 0.2 },
        ],
        uplinkBudgetBps: 10_000_000,
        activeSpeaker: true,
      });
      const [good, narrow, lossy, veryLossy] = plan.links.map(video);
      expect(good!.maxBitrateBps).toBe(600_000);
      expect(narrow!.maxBitrateBps).toBe(260_000); // its estimate minus its audio
      expect(lossy!.maxBitrateBps).toBe(510_000); // 15 % less
      expect(veryLossy!.maxBitrateBps).toBe(300_000); // half
    });
  });

  describe('audio is protected above all', () => {
    it('pauses video link by link before audio degrades', () => {
      // 4 people on 400 kbit/s: 360 usable, 120 audio, 240 left → three links of 80 kbit/s.
      const three = planBitrates({ peers: peers(3), uplinkBudgetBps: 400_000 });
      expect(three.links.filter((l) => !l.video.paused)).toHaveLength(3);
      // 300 kbit/s: 270 usable, 150 for video: 75 each is too little for three or two links, one gets it all.
      const tight = planBitrates({ peers: peers(3), uplinkBudgetBps: 300_000 });
      expect(tight.links.filter((l) => !l.video.paused)).toHaveLength(1);
      expect(tight.links.filter((l) => l.video.paused).every((l) => l.video.paused && l.video.reason === 'budget')).toBe(true);
      expect(tight.links.every((l) => l.audio.maxBitrateBps === DEFAULT_AUDIO_BITRATE_BPS)).toBe(true);
    });

    it('falls back to audio only when the budget per peer is below the video minimum', () => {
      const plan = planBitrates({ peers: peers(7), uplinkBudgetBps: 330_000 });
      // 297 usable − 280 audio = 17 kbit/s for video: nothing can carry it.
      expect(plan.links.every((l) => l.video.paused)).toBe(true);
      expect(totalBps(plan)).toBe(7 * DEFAULT_AUDIO_BITRATE_BPS);
    });

    it('gives a link that cannot carry video audio only, with the reason', () => {
      const plan = planBitrates({ peers: [{ id: 'a' }, { id: 'weak', availableOutgoingBitrateBps: 100_000 }] });
      expect(plan.links[1]!.video).toEqual({ paused: true, reason: 'weak-link' });
      expect(video(plan.links[0]).height).toBe(540);
    });

    it('keeps audio at its rate even when audio alone exceeds the budget', () => {
      const plan = planBitrates({ peers: peers(7), uplinkBudgetBps: 100_000 });
      expect(plan.links.every((l) => l.video.paused && l.audio.maxBitrateBps === 40_000)).toBe(true);
    });
  });

  describe('priorities', () => {
    it('lets the active speaker send one step higher', () => {
      expect(roomStep(4, true)).toBe(roomStep(3));
      expect(heights(planBitrates({ peers: peers(3), activeSpeaker: true }))).toEqual([540, 540, 540]);
      expect(heights(planBitrates({ peers: peers(1), activeSpeaker: true }))).toEqual([720]);
    });

    it('sends a screen share sharp and slow, whatever the room size', () => {
      const plan = planBitrates({ peers: peers(7), screenSharing: true, uplinkBudgetBps: 10_000_000 });
      for (const link of plan.links) expect(video(link)).toMatchObject({ height: 1080, maxFramerate: 15, priority: 'medium', scaleResolutionDownBy: 1 });
      const tight = planBitrates({ peers: peers(3), screenSharing: true });
      // 2.25 Mbit/s − 120 kbit/s audio = 710 kbit/s per link: 1080p at 15 fps still fits.
      expect(heights(tight)).toEqual([1080, 1080, 1080]);
    });

    it('keeps the screen share going on a budget where a camera would step to thumbnails', () => {
      const plan = planBitrates({ peers: peers(3), screenSharing: true, uplinkBudgetBps: 600_000 });
      expect(plan.links.every((l) => !l.video.paused && l.video.height === 540 && l.video.maxFramerate === 5)).toBe(true);
    });
  });

  describe('split by tile size', () => {
    it('gives a thumbnail a thumbnail’s bitrate and the big tile the rest', () => {
      const plan = planBitrates({
        peers: [
          { id: 'shows-me-large', tile: { width: 1280, height: 720 } },
          { id: 'thumbnail', tile: { width: 240, height: 135 } },
          { id: 'thumbnail-2', tile: { width: 240, height: 135 } },
        ],
        activeSpeaker: true,
      });
      const [large, thumb, thumb2] = plan.links.map(video);
      expect(thumb).toMatchObject({ height: 180, maxBitrateBps: CAMERA_STEPS[4]!.maxBitrateBps, maxFramerate: 15 });
      expect(thumb2!.maxBitrateBps).toBe(thumb!.maxBitrateBps);
      expect(large!.height).toBe(540); // the room step for an active speaker in a room of four
      expect(large!.maxBitrateBps).toBe(1_000_000);
    });

    it('never sends more lines than the tile shows, nor more than the room step allows', () => {
      const plan = planBitrates({ peers: [{ id: 'a', tile: { width: 640, height: 300 } }, { id: 'b', tile: { width: 3840, height: 2160 } }] });
      expect(heights(plan)).toEqual([360, 540]);
    });

    it('sends no video to a receiver that does not show my tile', () => {
      const plan = planBitrates({ peers: [{ id: 'hidden', tile: { width: 0, height: 0 } }, { id: 'shown' }] });
      expect(plan.links[0]!.video).toEqual({ paused: true, reason: 'not-shown' });
      expect(plan.links[0]!.audio.maxBitrateBps).toBe(DEFAULT_AUDIO_BITRATE_BPS);
      expect(video(plan.links[1]).height).toBe(540);
    });

    it('pauses the smallest tile first when the budget is short', () => {
      const plan = planBitrates({
        peers: [
          { id: 'large', tile: { width: 1280, height: 720 } },
          { id: 'small', tile: { width: 160, height: 90 } },
          { id: 'medium', tile: { width: 640, height: 360 } },
        ],
        uplinkBudgetBps: 300_000,
      });
      expect(plan.links.map((l) => l.video.paused)).toEqual([false, true, true]);
    });
  });
});
