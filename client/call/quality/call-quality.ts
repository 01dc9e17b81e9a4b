// How each connection of a call is doing, from one round of statistics per tick: the path and the
// encryption shown on the tile, who hears whom (and its repairs), the bitrate plan, and, from the
// cheaper audio levels, the active speaker. The judgements live in the pure modules beside this.

import type { ParticipantId } from '../../../signal/protocol.js';
import type { TimerId } from '../clock.js';
import type { CallContext, CallFeature } from '../context.js';
import { participantOf } from '../state.js';
import { ActiveSpeaker } from './active-speaker.js';
import { BitrateControl, type LinkSample, type TileSize } from './bitrate-control.js';
import { connectionPath } from './connection-path.js';
import { encryptionStatus } from './encryption-status.js';
import type { ReceptionReport } from './reception.js';
import { ReceptionWatch } from './reception-watch.js';
import { readStats } from './stats.js';

/** How often statistics are read: ICE may move a pair from direct to relayed, the uplink changes. */
const TICK_MS = 2000;
/** After a peer connects or the room size changes: soon, but after the first statistics exist. */
const SOON_MS = 300;
/**
 * Audio levels are cheap to read (no getStats): often enough for the highlight to follow a conversation.
 * Each reading is the level of the last packet only, so the gaps vary (60–140 ms): a fixed period would
 * lock onto a periodic sound (a beep every 500 ms) and could miss every one of its peaks.
 */
const SPEAKER_POLL_MS = { min: 60, max: 140 };

export interface CallQualityOptions {
  /** The operator's cap, told at join; the policy's default when the server names none. */
  uplinkBudgetBps: number | undefined;
  /** Called for every connected participant on each round (the safety number's retries). */
  onConnectedSample(id: ParticipantId): void;
}

export class CallQuality implements CallFeature {
  /** How large each participant shows my tile, from their 'view' messages. */
  readonly #theirViewOfMe = new Map<ParticipantId, TileSize>();
  /** How large I show each participant's tile, as last told to them. */
  readonly #myViewOf = new Map<ParticipantId, TileSize>();
  readonly #reception: ReceptionWatch;
  readonly #bitrate: BitrateControl;
  readonly #speakers = new ActiveSpeaker<ParticipantId>();
  readonly #tick: TimerId;
  #soon: TimerId | undefined;
  #speakerTimer: TimerId | undefined;
  #sampling = false;
  #stopped = false;

  readonly #call: CallContext;
  readonly #options: CallQualityOptions;
  constructor(
    call: CallContext,
    options: CallQualityOptions,
  ) {
    this.#call = call;
    this.#options = options;
    this.#reception = new ReceptionWatch({
      send: (to, message) => call.mesh()?.send(to, message),
      repair: (id, relayOnly) => call.mesh()?.restartIce(id, relayOnly),
      sendingTo: (id) => this.#sendingTo(id),
    });
    this.#bitrate = new BitrateControl({
      tileOf: (id) => this.#theirViewOfMe.get(id),
      screenSharing: () => call.store.state.local.screen !== null,
      someoneElseSpeaking: () => call.store.state.activeSpeaker !== null,
      uplinkBudgetBps: options.uplinkBudgetBps,
      onWeak: (weak) => weak !== call.store.state.weakUplink && call.store.update({ weakUplink: weak }),
    });
    this.#tick = call.clock.setInterval(() => void this.#sample(), TICK_MS);
    this.#scheduleSpeakerReading();
  }

  /** Read again soon: a peer connected or left, a tile or a screen share changed. */
  nudge(): void {
    if (this.#stopped) return;
    this.#call.clock.clearTimeout(this.#soon);
    this.#soon = this.#call.clock.setTimeout(() => void this.#sample(), SOON_MS);
  }

  peerConnected(id: ParticipantId): void {
    const view = this.#myViewOf.get(id);
    if (view) this.#call.mesh()?.send(id, { type: 'view', ...view });
    this.nudge();
  }

  peerLost(id: ParticipantId): void {
    this.#reception.forget(id);
    this.nudge();
  }

  /** An ICE restart keeps the DTLS session, the data channel and what each side knows. */
  peerReconnecting(id: ParticipantId, reconnecting: boolean): void {
    if (reconnecting) this.#reception.forget(id);
    this.nudge();
  }

  forget(id: ParticipantId): void {
    this.#reception.remove(id);
    this.#theirViewOfMe.delete(id);
    this.#myViewOf.delete(id);
    this.nudge();
  }

  /** A participant told how large they show my tile. */
  theyShowMe(from: ParticipantId, size: TileSize): void {
    this.#theirViewOfMe.set(from, size);
    this.nudge();
  }

  /** The UI shows a participant's tile at this size; they adapt what they send me. */
  iShow(id: ParticipantId, width: number, height: number): void {
    const size = { width: Math.round(width), height: Math.round(height) };
    const known = this.#myViewOf.get(id);
    if (known?.width === size.width && known.height === size.height) return;
    this.#myViewOf.set(id, size);
    this.#call.mesh()?.send(id, { type: 'view', ...size });
  }

  onReceptionReport(from: ParticipantId, report: ReceptionReport): void {
    this.#reception.onReport(from, report);
  }

  stop(): void {
    this.#stopped = true;
    this.#call.clock.clearInterval(this.#tick);
    this.#call.clock.clearTimeout(this.#soon);
    this.#call.clock.clearTimeout(this.#speakerTimer);
  }

  async #sample(): Promise<void> {
    if (this.#sampling || this.#stopped) return;
    this.#sampling = true;
    try {
      const links = this.#call.store.state.participants.flatMap((p) => {
        const connection = p.connection === 'connected' ? this.#call.mesh()?.connectionTo(p.id) : undefined;
        return connection ? [{ id: p.id, connection }] : [];
      });
      const samples = await Promise.all(links.map(async (link) => ({ ...link, stats: await readStats(link.connection) })));
      if (this.#stopped) return;
      const now = this.#call.clock.now();
      samples.forEach((sample) => this.#judge(sample, now));
      this.#showProblems(now);
      await this.#bitrate.apply(samples, now);
    } catch (error) {
      // Never out of the loop: the next tick tries again.
      console.warn('call quality', error);
    } finally {
      this.#sampling = false;
    }
  }

  #judge({ id, stats }: LinkSample, now: number): void {
    const { store } = this.#call;
    const known = participantOf(store.state, id);
    if (!known || known.connection !== 'connected') return;
    this.#reception.observe(id, { audio: known.audio, video: known.video || known.screen }, stats, now);
    this.#options.onConnectedSample(id);
    const path = connectionPath(stats);
    if (path && (path.kind !== known.path?.kind || path.protocol !== known.path.protocol)) store.patchParticipant(id, { path });
    const encryption = encryptionStatus(stats);
    if (JSON.stringify(encryption) !== JSON.stringify(known.encryption)) store.patchParticipant(id, { encryption });
  }

  #showProblems(now: number): void {
    const problems = this.#reception.review(now);
    for (const participant of this.#call.store.state.participants) {
      const problem = problems.get(participant.id) ?? null;
      if (JSON.stringify(problem) !== JSON.stringify(participant.problem)) this.#call.store.patchParticipant(participant.id, { problem });
    }
  }

  /** What I send this participant now: my microphone, and video unless it is off or paused for them. */
  #sendingTo(id: ParticipantId): { audio: boolean; video: boolean } {
    const { audio, video, screen } = this.#call.store.state.local;
    // By transceiver, not by track: a sender that lost its track while my camera is on is a fault to report.
    const transceivers = this.#call.mesh()?.connectionTo(id)?.getTransceivers() ?? [];
    const videoSenders = transceivers.filter((t) => t.receiver.track.kind === 'video' && t.currentDirection !== 'stopped').map((t) => t.sender);
    const active = videoSenders.some((sender) => sender.getParameters().encodings.every((encoding) => encoding.active !== false));
    return { audio, video: (video || screen !== null) && active };
  }

  #scheduleSpeakerReading(): void {
    const { min, max } = SPEAKER_POLL_MS;
    this.#speakerTimer = this.#call.clock.setTimeout(() => {
      if (this.#stopped) return;
      this.#readSpeaker();
      this.#scheduleSpeakerReading();
    }, min + this.#call.clock.random() * (max - min));
  }

  #readSpeaker(): void {
    const mesh = this.#call.mesh();
    if (!mesh) return;
    const levels = mesh.audioLevels();
    // A muted participant's silence is not a reading; someone who says they are muted is never highlighted.
    for (const p of this.#call.store.state.participants) if (!p.audio || p.connection !== 'connected') levels.delete(p.id);
    const speaker = this.#speakers.update(levels, this.#call.clock.now());
    if (speaker !== this.#call.store.state.activeSpeaker) this.#call.store.update({ activeSpeaker: speaker });
  }
}
