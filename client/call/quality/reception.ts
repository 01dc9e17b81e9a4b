// Who hears whom. Each participant measures from its own receive stats which of the others' streams
// actually arrive, and tells each of them over the data channel ('reception'). So each participant
// knows both directions of each of its pairs: what it misses from someone, and what someone misses
// from it. A broken pair is repaired by that pair alone: an ICE restart, then the relay.
// Pure: counters and times in, states and decisions out.

import type { PeerMessage } from '../connection/peer-protocol.js';
import type { Stat } from './stats.js';

export type MediaKind = 'audio' | 'video';

const KINDS: readonly MediaKind[] = ['audio', 'video'];

/** One flag per kind: what someone sends, or receives. */
export type MediaFlags = Record<MediaKind, boolean>;

/**
 * - flowing: new packets (audio) or decoded frames (video) within the stall time.
 * - starting: expected, nothing new yet, still within the grace time of a (re)connection or a switch-on.
 * - stalled: expected, and nothing new for the stall time once the grace time is over.
 * - not-expected: the sender says it does not send this (microphone muted, camera off).
 */
export type StreamReception = 'flowing' | 'starting' | 'stalled' | 'not-expected';

export type Reception = Record<MediaKind, StreamReception>;

/** Cumulative counters of one kind's inbound-rtp stats; a counter the browser does not report is left out. */
export interface InboundCounters {
  packetsReceived?: number;
  bytesReceived?: number;
  framesDecoded?: number;
}

const COUNTERS = ['packetsReceived', 'bytesReceived', 'framesDecoded'] as const;

export interface ReceptionReading {
  /** What the participant sends me, as far as I know: its announced microphone and camera (or screen). */
  sending: MediaFlags;
  /** Null: no inbound-rtp of this kind (yet). */
  audio: InboundCounters | null;
  video: InboundCounters | null;
}

export interface ReceptionOptions {
  /** How long an expected stream may show nothing new before it counts as stalled. */
  stallAfterMs: number;
  /** How long a stream may take to arrive after a (re)connection, a new connection's counters or a switch-on. */
  graceMs: number;
}

// Opus sends at least one packet per 400 ms even in DTX silence, and a camera (or a screen share's
// repeated idle frame) at least one frame per second: 4 s without any is a real stall, not a pause,
// and with the stats read every 3 s it takes two empty readings in a row. The grace covers a
// connection's first keyframe and a camera opening after it was switched on (each a second or two,
// more on a slow device) plus one reading.
export const RECEPTION_DEFAULTS: ReceptionOptions = { stallAfterMs: 4000, graceMs: 8000 };

/** The inbound-rtp counters per kind from getStats(), summed over the kind's streams. */
export function inboundCounters(stats: Iterable<Stat>): Record<MediaKind, InboundCounters | null> {
  const totals: Record<MediaKind, InboundCounters | null> = { audio: null, video: null };
  for (const stat of stats) {
    if (stat.type !== 'inbound-rtp') continue;
    // Older browsers name the kind mediaType.
    const kind = stat.kind ?? stat.mediaType;
    if (kind !== 'audio' && kind !== 'video') continue;
    const total = (totals[kind] ??= {});
    for (const counter of COUNTERS) {
      const value = stat[counter];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) total[counter] = (total[counter] ?? 0) + value;
    }
  }
  return totals;
}

interface Stream {
  counters: InboundCounters;
  expected: boolean;
  graceFrom: number;
  lastProgress: number | null;
}

/** Keeps, per remote participant and kind, whether what they send me arrives. */
export class ReceptionMeter<Id> {
  private readonly streams = new Map<Id, Record<MediaKind, Stream>>();

  constructor(private readonly options: ReceptionOptions = RECEPTION_DEFAULTS) {}

  /**
   * Feeds one reading of a participant's counters; returns how their streams arrive now. The first
   * reading (and the first after forget) only sets the baseline and starts the grace time.
   */
  read(id: Id, reading: ReceptionReading, now: number): Reception {
    const known = this.streams.get(id);
    const streams =
      known ??
      ({
        audio: { counters: { ...reading.audio }, expected: reading.sending.audio, graceFrom: now, lastProgress: null },
        video: { counters: { ...reading.video }, expected: reading.sending.video, graceFrom: now, lastProgress: null },
      } satisfies Record<MediaKind, Stream>);
    this.streams.set(id, streams);
    if (known) for (const kind of KINDS) advance(kind, streams[kind], reading[kind] ?? {}, reading.sending[kind], now);
    return { audio: this.state(streams.audio, now), video: this.state(streams.video, now) };
  }

  /** The connection to this participant is gone (left, or not connected now): the next reading starts afresh. */
  forget(id: Id): void {
    this.streams.delete(id);
  }

  private state(stream: Stream, now: number): StreamReception {
    if (!stream.expected) return 'not-expected';
    if (stream.lastProgress !== null && now - stream.lastProgress < this.options.stallAfterMs) return 'flowing';
    return now - stream.graceFrom < this.options.graceMs ? 'starting' : 'stalled';
  }
}

function advance(kind: MediaKind, stream: Stream, counters: InboundCounters, expected: boolean, now: number): void {
  if (wentBack(stream.counters, counters)) {
    // A new RTCPeerConnection replaced the old one: its counters start from zero, and its streams get time to arrive.
    stream.lastProgress = null;
    stream.graceFrom = now;
    stream.counters = counters;
  } else {
    // Somewhere since the last reading: with readings seconds apart, now is as good a time as any.
    if (progressed(kind, stream.counters, counters)) stream.lastProgress = now;
    stream.counters = { ...stream.counters, ...counters };
  }
  if (expected && !stream.expected) stream.graceFrom = now;
  stream.expected = expected;
}

function wentBack(before: InboundCounters, after: InboundCounters): boolean {
  const reported = COUNTERS.filter((counter) => after[counter] !== undefined);
  // The kind's stats are gone altogether: the old connection's receivers are.
  if (reported.length === 0) return COUNTERS.some((counter) => before[counter] !== undefined);
  return reported.some((counter) => before[counter] !== undefined && after[counter]! < before[counter]);
}

function progressed(kind: MediaKind, before: InboundCounters, after: InboundCounters): boolean {
  // Video packets that never become a picture show nothing: count decoded frames where the browser reports them.
  const counters = kind === 'video' && after.framesDecoded !== undefined ? (['framesDecoded'] as const) : (['packetsReceived', 'bytesReceived'] as const);
  return counters.some((counter) => (after[counter] ?? 0) > (before[counter] ?? 0));
}

export type ReceptionReport = Extract<PeerMessage, { type: 'reception' }>;

/**
 * What I tell a participant about their streams: false only for one they send that does not reach me.
 * Still starting or not sent counts as true, so a report never blames a stream that was never due.
 */
export function receptionReport(reception: Reception): ReceptionReport {
  return { type: 'reception', audio: reception.audio !== 'stalled', video: reception.video !== 'stalled' };
}

export interface BrokenPair<Id> {
  id: Id;
  /** What I do not get from them though they send it: "you cannot hear Ben". */
  iCannot: MediaKind[];
  /** What they do not get from me though I send it: "Ben cannot see you". */
  theyCannot: MediaKind[];
}

/**
 * The pairs I am part of where a stream that is sent does not arrive, in either direction.
 * `mine`: how each participant's streams reach me (ReceptionMeter). `theirs`: the latest report each
 * sent me about my streams (no report: nothing missing). `sendingTo`: what I send each of them now —
 * a report from before I muted must not blame a stream I no longer send.
 */
export function brokenPairs<Id>(
  mine: ReadonlyMap<Id, Reception>,
  theirs: ReadonlyMap<Id, MediaFlags>,
  sendingTo: (id: Id) => MediaFlags,
): BrokenPair<Id>[] {
  const pairs: BrokenPair<Id>[] = [];
  for (const id of new Set([...mine.keys(), ...theirs.keys()])) {
    const reception = mine.get(id);
    const report = theirs.get(id);
    const sending = report ? sendingTo(id) : null;
    const iCannot = KINDS.filter((kind) => reception?.[kind] === 'stalled');
    const theyCannot = KINDS.filter((kind) => report?.[kind] === false && sending?.[kind] === true);
    if (iCannot.length > 0 || theyCannot.length > 0) pairs.push({ id, iCannot, theyCannot });
  }
  return pairs;
}

/** restart-ice: fresh candidates for this pair. relay: restart it through the relay only. */
export type RepairStep = 'restart-ice' | 'relay' | 'none';

const STEPS = ['restart-ice', 'relay'] as const;

export interface RepairOptions {
  /** How long a step may take to show its effect before the next one (or giving up). */
  retryAfterMs: number;
  /** How long a pair must stay unbroken before a new break starts again from the first step. */
  resetAfterMs: number;
}

// A step works within a few seconds (an ICE restart; the relay's allocation), and both sides need one
// stats reading and one report to see it: 10 s. A pair counts as repaired only after 30 s unbroken:
// longer than a step plus the grace of a new connection, during which a pair looks unbroken without
// being so; otherwise a pair that stays broken would run the ladder again and again.
export const REPAIR_DEFAULTS: RepairOptions = { retryAfterMs: 10_000, resetAfterMs: 30_000 };

interface Ladder {
  taken: number;
  lastStepAt: number;
  unbrokenSince: number | null;
  due: RepairStep;
  gaveUp: boolean;
}

/** Per pair, the repairs to try while it stays broken: each step once, then give up. */
export class RepairLadder<Id> {
  private readonly ladders = new Map<Id, Ladder>();

  constructor(private readonly options: RepairOptions = REPAIR_DEFAULTS) {}

  /** Feeds the pairs broken now (every other pair counts as unbroken); decides what needsRepair returns until the next call. */
  update(broken: Iterable<Id>, now: number): void {
    const brokenNow = new Set(broken);
    for (const id of brokenNow) {
      if (!this.ladders.has(id)) this.ladders.set(id, { taken: 0, lastStepAt: -Infinity, unbrokenSince: null, due: 'none', gaveUp: false });
    }
    for (const [id, ladder] of this.ladders) {
      ladder.due = 'none';
      if (!brokenNow.has(id)) {
        ladder.unbrokenSince ??= now;
        if (now - ladder.unbrokenSince >= this.options.resetAfterMs) this.ladders.delete(id);
        continue;
      }
      ladder.unbrokenSince = null;
      if (now - ladder.lastStepAt < this.options.retryAfterMs) continue;
      const step = STEPS[ladder.taken];
      if (step === undefined) {
        ladder.gaveUp = true;
        continue;
      }
      ladder.due = step;
      ladder.taken++;
      ladder.lastStepAt = now;
    }
  }

  /** The step to take for this pair now, as decided by the last update: each step comes once. */
  needsRepair(id: Id): RepairStep {
    return this.ladders.get(id)?.due ?? 'none';
  }

  /** Every step was tried and the pair is still broken: stop trying, keep showing the problem. */
  gaveUp(id: Id): boolean {
    return this.ladders.get(id)?.gaveUp ?? false;
  }

  /** The participant left: nothing to repair. */
  forget(id: Id): void {
    this.ladders.delete(id);
  }
}
