// The mesh bitrate policy: how a participant spends its upload on the video it sends to each peer.
// Pure: numbers in, numbers out — the caller reads getStats() and applies the result with
// RTCRtpSender.setParameters(), so every rule here is unit-tested without a browser.
//
// In a full mesh I upload one video stream per other participant, so the upload grows with the
// room. The policy, in the order it is applied:
//
// 1. Budget. The uplink budget is the configured cap (default 2.5 Mbit/s), lowered to the measured
//    total upload when one is given; 10 % of it is kept back for packet headers, RTCP and
//    retransmissions, so what the encoders are told never adds up to more than the budget.
// 2. Audio first. Every link gets its audio (default 40 kbit/s, Opus speech at full quality) before
//    any video is planned, and the policy never lowers it: when the budget runs short, video pauses
//    link by link, audio keeps its rate. Audio encodings are marked priority "high", video "low", so
//    the browser's own bandwidth allocator protects audio the same way between two of our updates.
// 3. Steps by room size. The largest picture a camera sends shrinks as the room grows: 720p at
//    30 fps for two people, 540p for three, 360p for four, 270p at 20 fps for five or six, 180p at
//    15 fps from seven on. The active speaker is shown large by everyone, so it sends one step
//    higher. A screen share uses its own ladder (1080p/720p/540p at 15/10/5 fps): text needs
//    pixels more than motion, so it keeps resolution and gives up frame rate, and it is the last
//    video to pause.
// 4. Tile size. Each receiver tells its senders over the data channel how large (in device pixels)
//    it shows their tile. A link never gets a step with more lines than that tile shows, so a
//    thumbnail gets a thumbnail's bitrate. A tile that is not shown at all (height 0) gets no video.
//    Unknown tile size (not reported yet): the room-size step.
// 5. Measured links and loss. Each peer connection has its own bandwidth estimate
//    (availableOutgoingBitrate) and loss (fractionLost from remote-inbound-rtp): a link never gets
//    more video than its estimate minus its audio; above 2 % loss it gets 15 % less, above 10 %
//    half (the thresholds of the Google congestion controller).
// 6. Split. The video budget is shared max-min fairly: links that want little (thumbnails, weak
//    links) get all they want, the rest share what is left equally. Each link then gets the
//    highest step (within its caps) whose minimum bitrate its share covers.
// 7. Audio-only fallback. A link whose share is below the lowest step's minimum (80 kbit/s) cannot
//    carry useful video: its video pauses (the UI shows a notice) and its share goes to the others.
//    Links are paused one at a time, least important first — not shown, then the weakest
//    measured link, then the smallest tile — so a tight budget still serves as many as it can.

export interface VideoStep {
  /** Lines of the encoded picture, e.g. 360 for 640×360. */
  height: number;
  maxFramerate: number;
  /** The most this step can use well. */
  maxBitrateBps: number;
  /** Below this the step looks worse than the next lower one. */
  minBitrateBps: number;
}

/** Camera steps, best first. */
export const CAMERA_STEPS: readonly VideoStep[] = [
  { height: 720, maxFramerate: 30, maxBitrateBps: 1_500_000, minBitrateBps: 600_000 },
  { height: 540, maxFramerate: 30, maxBitrateBps: 1_000_000, minBitrateBps: 400_000 },
  { height: 360, maxFramerate: 30, maxBitrateBps: 600_000, minBitrateBps: 250_000 },
  { height: 270, maxFramerate: 20, maxBitrateBps: 350_000, minBitrateBps: 150_000 },
  { height: 180, maxFramerate: 15, maxBitrateBps: 200_000, minBitrateBps: 80_000 },
];

/** Screen-share steps, best first: resolution is kept, frame rate given up. */
export const SCREEN_STEPS: readonly VideoStep[] = [
  { height: 1080, maxFramerate: 15, maxBitrateBps: 2_000_000, minBitrateBps: 600_000 },
  { height: 720, maxFramerate: 10, maxBitrateBps: 1_000_000, minBitrateBps: 250_000 },
  { height: 540, maxFramerate: 5, maxBitrateBps: 500_000, minBitrateBps: 100_000 },
];

export const DEFAULT_UPLINK_BUDGET_BPS = 2_500_000;
export const DEFAULT_AUDIO_BITRATE_BPS = 40_000;
/** Share of the budget the encoders may use; the rest is packet overhead, RTCP and retransmissions. */
export const HEADROOM = 0.9;

/** One peer I send to. */
export interface BitrateLink {
  id: string;
  /** How large the receiver shows my tile, in device pixels; undefined until reported. */
  tile?: { width: number; height: number } | undefined;
  /** availableOutgoingBitrate of this peer connection's transport, when known. */
  availableOutgoingBitrateBps?: number | undefined;
  /** Fraction of my packets this peer lost recently (0–1), when known. */
  lossFraction?: number | undefined;
}

export interface PolicyInput {
  peers: readonly BitrateLink[];
  /** Configured uplink cap; default DEFAULT_UPLINK_BUDGET_BPS. */
  uplinkBudgetBps?: number | undefined;
  /** Measured total upload, when known: lowers the budget, never raises it. */
  measuredUplinkBps?: number | undefined;
  audioBitrateBps?: number | undefined;
  /** Height of the captured video; scaleResolutionDownBy is relative to it. Default 720. */
  sourceHeight?: number | undefined;
  screenSharing?: boolean | undefined;
  activeSpeaker?: boolean | undefined;
}

export type PauseReason = 'not-shown' | 'weak-link' | 'budget';

export interface LinkPlan {
  id: string;
  audio: { maxBitrateBps: number; priority: 'high' };
  /** paused: send no video on this link (audio-only), and tell the user why. */
  video:
    | { paused: false; maxBitrateBps: number; height: number; scaleResolutionDownBy: number; maxFramerate: number; priority: 'low' | 'medium' }
    | { paused: true; reason: PauseReason };
}

export interface BitratePlan {
  /** The budget after measurement and headroom: audio + video of all links stays within it (unless audio alone exceeds it). */
  usableBps: number;
  links: LinkPlan[];
}

/** The camera step for a room of `participants` people (me included), before tile size and budget. */
export function roomStep(participants: number, activeSpeaker = false): number {
  const step = participants <= 2 ? 0 : participants === 3 ? 1 : participants === 4 ? 2 : participants <= 6 ? 3 : 4;
  return Math.max(0, activeSpeaker ? step - 1 : step);
}

/** Index of the smallest step that still fills a tile of this height (device pixels). */
function tileStep(steps: readonly VideoStep[], tileHeight: number): number {
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.height >= tileHeight) return i;
  return 0;
}

function lossFactor(loss: number | undefined): number {
  if (loss === undefined || !(loss > 0.02)) return 1;
  return loss > 0.1 ? 0.5 : 0.85;
}

/** Max-min fair split of `budget` among wants; returns the allocation per index. */
function maxMinSplit(wants: readonly number[], budget: number): number[] {
  const alloc = wants.map(() => 0);
  const order = wants.map((_, i) => i).sort((a, b) => wants[a]! - wants[b]!);
  let remaining = Math.max(0, budget);
  order.forEach((index, position) => {
    const share = remaining / (order.length - position);
    const given = Math.min(wants[index]!, share);
    alloc[index] = given;
    remaining -= given;
  });
  return alloc;
}

export function planBitrates(input: PolicyInput): BitratePlan {
  const screen = Boolean(input.screenSharing);
  const steps = screen ? SCREEN_STEPS : CAMERA_STEPS;
  const videoMinimum = steps[steps.length - 1]!.minBitrateBps;
  const audioBps = input.audioBitrateBps ?? DEFAULT_AUDIO_BITRATE_BPS;
  const sourceHeight = input.sourceHeight ?? (screen ? 1080 : 720);
  const configured = input.uplinkBudgetBps ?? DEFAULT_UPLINK_BUDGET_BPS;
  const measured = input.measuredUplinkBps;
  const usableBps = Math.floor(HEADROOM * (measured !== undefined && measured >= 0 ? Math.min(configured, measured) : configured));
  const peers = input.peers;
  const videoBudget = usableBps - audioBps * peers.length;

  // Per link: the best step allowed by room size and tile, and the most the link can carry.
  const ceilingStep = screen ? 0 : roomStep(peers.length + 1, Boolean(input.activeSpeaker));
  const links = peers.map((peer): { peer: BitrateLink; best: number; want: number; pause: PauseReason | undefined; tileHeight: number } => {
    const tileHeight = peer.tile?.height;
    const best = tileHeight === undefined ? ceilingStep : Math.max(ceilingStep, tileStep(steps, tileHeight));
    const measuredCap = peer.availableOutgoingBitrateBps === undefined ? Infinity : Math.max(0, peer.availableOutgoingBitrateBps - audioBps);
    const want = Math.min(steps[best]!.maxBitrateBps, measuredCap) * lossFactor(peer.lossFraction);
    const pause: PauseReason | undefined = tileHeight !== undefined && tileHeight <= 0 ? 'not-shown' : want < videoMinimum ? 'weak-link' : undefined;
    return { peer, best, want, pause, tileHeight: tileHeight ?? Infinity };
  });

  // Pause links one at a time, least important first, until every remaining share carries video.
  for (let guard = 0; guard <= links.length; guard++) {
    const active = links.filter((link) => !link.pause);
    const shares = maxMinSplit(
      active.map((link) => link.want),
      videoBudget,
    );
    const starved = active.filter((_, i) => shares[i]! < videoMinimum);
    if (starved.length === 0) break;
    starved.sort((a, b) => a.want - b.want || a.tileHeight - b.tileHeight || (a.peer.id < b.peer.id ? -1 : 1));
    starved[0]!.pause = 'budget';
  }

  const active = links.filter((link) => !link.pause);
  const shares = maxMinSplit(
    active.map((link) => link.want),
    videoBudget,
  );
  const shareOf = new Map(active.map((link, i) => [link, shares[i]!]));

  return {
    usableBps,
    links: links.map((link): LinkPlan => {
      const audio = { maxBitrateBps: audioBps, priority: 'high' as const };
      const share = shareOf.get(link);
      if (link.pause || share === undefined) return { id: link.peer.id, audio, video: { paused: true, reason: link.pause ?? 'budget' } };
      let index = link.best;
      while (index < steps.length - 1 && steps[index]!.minBitrateBps > share) index++;
      const step = steps[index]!;
      return {
        id: link.peer.id,
        audio,
        video: {
          paused: false,
          maxBitrateBps: Math.floor(Math.min(share, step.maxBitrateBps)),
          height: step.height,
          scaleResolutionDownBy: Math.max(1, sourceHeight / step.height),
          maxFramerate: step.maxFramerate,
          priority: screen ? 'medium' : 'low',
        },
      };
    }),
  };
}
