// Who hears whom, applied to a call: reads each connection's receive counters, tells each peer
// what of theirs arrives, collects their reports about mine, and repairs a broken pair alone.
//
// A receiver cannot tell a stalled video from one the sender paused on purpose (the bitrate
// control pauses video to a tile nobody shows, or on a starved link), so video is judged by the
// sender from the receiver's report; audio, never paused, is judged on both sides.

import type { ParticipantId } from '../../../signal/protocol.js';
import type { PeerMessage } from '../connection/peer-protocol.js';
import {
  RepairLadder,
  ReceptionMeter,
  brokenPairs,
  inboundCounters,
  receptionReport,
  type MediaFlags,
  type MediaKind,
  type Reception,
  type ReceptionReport,
} from './reception.js';

export interface ReceptionProblem {
  /** "You cannot hear Ben". */
  iCannot: MediaKind[];
  /** "Ben cannot see you". */
  theyCannot: MediaKind[];
}

export interface ReceptionWatchOptions {
  send(to: ParticipantId, message: PeerMessage): void;
  repair(id: ParticipantId, relayOnly: boolean): void;
  /** What I actually send this participant now (microphone on; video on and not paused for them). */
  sendingTo(id: ParticipantId): MediaFlags;
}

export class ReceptionWatch {
  readonly #meter = new ReceptionMeter<ParticipantId>();
  readonly #ladder = new RepairLadder<ParticipantId>();
  readonly #mine = new Map<ParticipantId, Reception>();
  readonly #theirs = new Map<ParticipantId, MediaFlags>();
  readonly #lastSent = new Map<ParticipantId, string>();

  constructor(private readonly options: ReceptionWatchOptions) {}

  /** One reading of a connected participant's stats; `sending` is what they announced. */
  observe(id: ParticipantId, sending: MediaFlags, stats: Iterable<Record<string, unknown>>, now: number): void {
    const counters = inboundCounters(stats);
    const reception = this.#meter.read(id, { sending, ...counters }, now);
    const report = receptionReport(reception);
    const key = `${report.audio}/${report.video}`;
    if (this.#lastSent.get(id) !== key) {
      this.#lastSent.set(id, key);
      this.options.send(id, report);
    }
    this.#mine.set(id, { audio: reception.audio, video: reception.video === 'stalled' ? 'not-expected' : reception.video });
  }

  onReport(from: ParticipantId, report: ReceptionReport): void {
    this.#theirs.set(from, { audio: report.audio, video: report.video });
  }

  /** After a round of observations: the broken pairs for the UI; the repairs due are started. */
  review(now: number): Map<ParticipantId, ReceptionProblem> {
    const pairs = brokenPairs(this.#mine, this.#theirs, (id) => this.options.sendingTo(id));
    this.#ladder.update(
      pairs.map((pair) => pair.id),
      now,
    );
    const problems = new Map<ParticipantId, ReceptionProblem>();
    for (const { id, iCannot, theyCannot } of pairs) {
      problems.set(id, { iCannot, theyCannot });
      const step = this.#ladder.needsRepair(id);
      if (step !== 'none') this.options.repair(id, step === 'relay');
    }
    return problems;
  }

  /** The connection went down or was replaced, or the participant left: start over with them. */
  forget(id: ParticipantId): void {
    this.#meter.forget(id);
    this.#mine.delete(id);
    this.#theirs.delete(id);
    this.#lastSent.delete(id);
  }

  /** The participant left for good. */
  remove(id: ParticipantId): void {
    this.forget(id);
    this.#ladder.forget(id);
  }
}
