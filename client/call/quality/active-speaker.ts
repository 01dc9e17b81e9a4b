// Who is speaking, from the audio levels the browser already reads from each participant's RTP
// packets (RTCRtpReceiver.getSynchronizationSources: no audio graph, no decoding of our own).
// Hysteresis keeps the highlight calm: a new speaker must be the loudest for a while before the
// highlight moves, and it stays a moment after someone stops.

export interface ActiveSpeakerOptions {
  /** audioLevel (0…1, linear) from which someone counts as speaking. */
  threshold: number;
  /** How long someone else must be clearly louder before the highlight moves to them. */
  switchAfterMs: number;
  /** How long the highlight stays after everyone fell silent. */
  holdMs: number;
}

export const SPEAKER_DEFAULTS: ActiveSpeakerOptions = { threshold: 0.03, switchAfterMs: 700, holdMs: 1000 };

export class ActiveSpeaker<Id> {
  readonly #smoothed = new Map<Id, number>();
  #current: Id | null = null;
  #candidate: { id: Id; since: number } | null = null;
  #lastHeard = 0;
  #lastUpdate: number | null = null;

  constructor(private readonly options: ActiveSpeakerOptions = SPEAKER_DEFAULTS) {}

  /** Feeds one reading of everyone's levels; returns who is highlighted now. */
  update(levels: ReadonlyMap<Id, number>, now: number): Id | null {
    for (const id of [...this.#smoothed.keys()]) if (!levels.has(id)) this.#smoothed.delete(id);
    // Halves every 250 ms, however often levels are read.
    const decay = this.#lastUpdate === null ? 0 : 0.5 ** ((now - this.#lastUpdate) / 250);
    this.#lastUpdate = now;
    let loudest: Id | null = null;
    let loudestLevel = 0;
    for (const [id, level] of levels) {
      // Fast attack, slow decay: the pauses between words do not count as silence.
      const value = Math.max(level, (this.#smoothed.get(id) ?? 0) * decay);
      this.#smoothed.set(id, value);
      if (value > loudestLevel) [loudest, loudestLevel] = [id, value];
    }
    if (this.#current !== null && !levels.has(this.#current)) this.#current = null;
    const currentLevel = this.#current === null ? 0 : (this.#smoothed.get(this.#current) ?? 0);
    if (currentLevel >= this.options.threshold) this.#lastHeard = now;

    if (loudest === null || loudestLevel < this.options.threshold) {
      this.#candidate = null;
      if (this.#current !== null && now - this.#lastHeard >= this.options.holdMs) this.#current = null;
      return this.#current;
    }
    if (loudest === this.#current || loudestLevel < currentLevel * 1.5) {
      this.#candidate = null;
      return this.#current;
    }
    if (this.#candidate?.id !== loudest) this.#candidate = { id: loudest, since: now };
    // Nobody highlighted yet: the first speaker gets it at once.
    if (this.#current === null || now - this.#candidate.since >= this.options.switchAfterMs) {
      this.#current = loudest;
      this.#lastHeard = now;
      this.#candidate = null;
    }
    return this.#current;
  }
}
