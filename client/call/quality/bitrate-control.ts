// The imperative shell around the bitrate policy: on every round of statistics (quality/call-quality.ts)
// it asks planBitrates() what to send, and applies the answer with RTCRtpSender.setParameters(). The decisions live in bitrate-policy.ts; the one judgement made
// here is the weak-connection notice (weakTracker), a small pure state machine.

import type { ParticipantId } from '../../../signal/protocol.js';
import { CAMERA_STEPS, DEFAULT_AUDIO_BITRATE_BPS, DEFAULT_UPLINK_BUDGET_BPS, HEADROOM, SCREEN_STEPS, planBitrates, roomStep, type BitratePlan, type BitrateLink, type LinkPlan } from './bitrate-policy.js';
import { selectedPair, type Stat } from './stats.js';

export interface TileSize {
  width: number;
  height: number;
}

export interface BitrateControlOptions {
  /** How large each receiver says it shows my tile. */
  tileOf(id: ParticipantId): TileSize | undefined;
  screenSharing(): boolean;
  /** Whether someone else holds the active-speaker highlight (then I am not the active speaker). */
  someoneElseSpeaking(): boolean;
  /** The operator's cap; undefined: the policy's default. */
  uplinkBudgetBps: number | undefined;
  onWeak(weak: boolean): void;
}

/** One connected peer's connection and the statistics just read from it. */
export interface LinkSample {
  id: ParticipantId;
  connection: RTCPeerConnection;
  stats: readonly Stat[];
}

/** My own microphone counts as speaking above this level (the same threshold as the highlight). */
const SPEAKING_LEVEL = 0.03;
const SPEAKING_HOLD_MS = 3000;

export class BitrateControl {
  #lastSpoke = -Infinity;
  readonly #weak = weakTracker();

  constructor(private readonly options: BitrateControlOptions) {}

  /** Plans from one round of statistics and applies the plan to every sender. */
  async apply(samples: readonly LinkSample[], now: number): Promise<void> {
    const readings = samples.map((sample) => ({ ...sample, ...readLink(sample.stats) }));
    if (readings.some((reading) => (reading.localAudioLevel ?? 0) >= SPEAKING_LEVEL)) this.#lastSpoke = now;
    const peers: BitrateLink[] = readings.map((reading) => ({
      id: reading.id,
      tile: this.options.tileOf(reading.id),
      availableOutgoingBitrateBps: reading.availableOutgoingBitrateBps,
      lossFraction: reading.videoLoss,
    }));
    const screenSharing = this.options.screenSharing();
    const sourceHeight = readings.map((reading) => videoSender(reading.connection)?.track?.getSettings().height).find((height) => Boolean(height));
    const plan = planBitrates({
      peers,
      uplinkBudgetBps: this.options.uplinkBudgetBps,
      sourceHeight,
      screenSharing,
      activeSpeaker: !this.options.someoneElseSpeaking() && now - this.#lastSpoke < SPEAKING_HOLD_MS,
    });
    await Promise.all(readings.map(({ connection }, i) => applyLink(connection, plan.links[i]!)));
    const estimates = readings.map((reading) => reading.availableOutgoingBitrateBps);
    const totalEstimate = estimates.every((estimate) => estimate !== undefined) ? estimates.reduce((sum: number, estimate) => sum + estimate!, 0) : undefined;
    const weak = this.#weak.update(
      {
        strained: isStrained(plan, { peers: samples.length, screenSharing, uplinkBudgetBps: this.options.uplinkBudgetBps, totalEstimateBps: totalEstimate }),
        roomKey: samples.map((sample) => sample.id).join(','),
      },
      now,
    );
    this.options.onWeak(weak);
  }
}

interface LinkReading {
  availableOutgoingBitrateBps: number | undefined;
  videoLoss: number | undefined;
  localAudioLevel: number | undefined;
}

function readLink(stats: readonly Stat[]): LinkReading {
  const pair = selectedPair(stats);
  const loss = stats.find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video')?.fractionLost;
  const level = stats.find((s) => s.type === 'media-source' && s.kind === 'audio')?.audioLevel;
  return {
    availableOutgoingBitrateBps: typeof pair?.availableOutgoingBitrate === 'number' ? pair.availableOutgoingBitrate : undefined,
    videoLoss: typeof loss === 'number' ? loss : undefined,
    localAudioLevel: typeof level === 'number' ? level : undefined,
  };
}

function senderOf(connection: RTCPeerConnection, kind: 'audio' | 'video'): RTCRtpSender | undefined {
  return connection.getSenders().find((sender) => sender.track?.kind === kind);
}

function videoSender(connection: RTCPeerConnection): RTCRtpSender | undefined {
  return senderOf(connection, 'video');
}

type Encoding = RTCRtpEncodingParameters & { priority?: RTCPriorityType; networkPriority?: RTCPriorityType };

/** The encoding as the plan wants it; only the fields the plan decides. */
export function encodingFor(kind: 'audio' | 'video', link: LinkPlan): Partial<Encoding> {
  if (kind === 'audio') return { active: true, maxBitrate: link.audio.maxBitrateBps, priority: 'high', networkPriority: 'high' };
  const video = link.video;
  if (video.paused) return { active: false };
  return {
    active: true,
    maxBitrate: video.maxBitrateBps,
    scaleResolutionDownBy: Math.round(video.scaleResolutionDownBy * 1000) / 1000,
    maxFramerate: video.maxFramerate,
    priority: video.priority,
    networkPriority: video.priority,
  };
}

async function applyLink(connection: RTCPeerConnection, link: LinkPlan): Promise<void> {
  for (const kind of ['audio', 'video'] as const) {
    const sender = senderOf(connection, kind);
    if (!sender) continue;
    const parameters = sender.getParameters();
    const current = parameters.encodings?.[0] as Encoding | undefined;
    if (!current) continue; // before negotiation: nothing to set yet
    const wanted = encodingFor(kind, link);
    const changed = (Object.keys(wanted) as Array<keyof Encoding>).some((key) => current[key] !== wanted[key]);
    if (!changed) continue;
    Object.assign(current, wanted);
    try {
      await sender.setParameters(parameters);
    } catch (error) {
      // Mid-renegotiation the parameters go stale (InvalidStateError/InvalidModificationError): next tick.
      console.debug('setParameters', kind, error);
    }
  }
}

export interface StrainInput {
  peers: number;
  screenSharing: boolean;
  uplinkBudgetBps: number | undefined;
  /** Sum of the links' availableOutgoingBitrate (they share one uplink, so each estimates its share). */
  totalEstimateBps: number | undefined;
}

/**
 * Strained: video is paused on some link for want of bandwidth, or the measured upload is below
 * what the room needs for its smallest good picture on every link (audio plus the room step's
 * minimum video), capped by the operator's budget (a low budget is not a weak connection).
 */
export function isStrained(plan: BitratePlan, input: StrainInput): boolean {
  if (plan.links.some((link) => link.video.paused && link.video.reason !== 'not-shown')) return true;
  if (input.peers === 0 || input.totalEstimateBps === undefined) return false;
  const steps = input.screenSharing ? SCREEN_STEPS : CAMERA_STEPS;
  const step = input.screenSharing ? steps[steps.length - 1]! : steps[roomStep(input.peers + 1)]!;
  const need = Math.min(HEADROOM * (input.uplinkBudgetBps ?? DEFAULT_UPLINK_BUDGET_BPS), input.peers * (DEFAULT_AUDIO_BITRATE_BPS + step.minBitrateBps));
  return input.totalEstimateBps < need;
}

/**
 * Hysteresis for the notice. Chromium's bandwidth estimate starts at 300 kbit/s per connection and
 * ramps up over the first seconds (see BENCHMARKS.md), so a strained reading right after a peer
 * connects or leaves says nothing: readings count only GRACE_MS after the room last changed, the
 * notice comes after ON_MS of strain and goes after OFF_MS without.
 */
export const WEAK_TIMING = { graceMs: 10_000, onMs: 6_000, offMs: 6_000 };

export function weakTracker(timing = WEAK_TIMING) {
  let weak = false;
  let room: string | null = null;
  let roomSince = 0;
  let since: number | null = null;
  return {
    update({ strained, roomKey }: { strained: boolean; roomKey: string }, now: number): boolean {
      if (roomKey !== room) {
        room = roomKey;
        roomSince = now;
        since = null;
      }
      if (now - roomSince < timing.graceMs || strained === weak) {
        since = null;
        return weak;
      }
      since ??= now;
      if (now - since >= (weak ? timing.offMs : timing.onMs)) {
        weak = strained;
        since = null;
      }
      return weak;
    },
  };
}
