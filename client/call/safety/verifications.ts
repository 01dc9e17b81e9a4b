// Runs the commit-then-reveal safety-number exchange with every connected participant, once per
// connection (fresh nonces each time), and reports each result.

import type { ParticipantId } from '../../../signal/protocol.js';
import type { PeerVerifyMessage } from '../connection/peer-protocol.js';
import { createVerification, type Verification, type VerifyResult } from './commit-reveal.js';

export interface Fingerprints {
  mine: string;
  theirs: string;
}

export interface VerificationsOptions {
  send(to: ParticipantId, message: PeerVerifyMessage): void;
  /** The fingerprints of both certificates of the connection, once its descriptions are set. */
  fingerprints(of: ParticipantId): Fingerprints | null;
  result(of: ParticipantId, result: VerifyResult, fingerprints: Fingerprints): void;
}

interface Entry {
  verification: Verification;
  fingerprints: Fingerprints;
  /** Everything sent so far, to send again if the exchange stalls; the other side ignores repeats. */
  sent: PeerVerifyMessage[];
  done: boolean;
}

export class Verifications {
  readonly #running = new Map<ParticipantId, Entry>();

  constructor(private readonly options: VerificationsOptions) {}

  /** The data channel to `id` is open: send our commitment. */
  async begin(id: ParticipantId): Promise<void> {
    const entry = this.#entryFor(id);
    if (entry) this.#send(id, entry, await entry.verification.start());
  }

  /**
   * Called now and then for connected participants: starts an exchange that could not start yet
   * (descriptions not set) and repeats our messages where one has not finished, so a message lost
   * in a renegotiation or a closing channel cannot leave the safety number pending for ever.
   */
  async nudge(id: ParticipantId): Promise<void> {
    const entry = this.#running.get(id);
    if (!entry) return this.begin(id);
    if (!entry.done) entry.sent.forEach((message) => this.options.send(id, message));
  }

  /** A message may arrive before our side saw the channel open: the exchange starts on whichever comes first. */
  async receive(from: ParticipantId, message: PeerVerifyMessage): Promise<void> {
    const entry = this.#entryFor(from);
    if (!entry) return;
    const step = await entry.verification.receive(message);
    step.send.forEach((reply) => this.#send(from, entry, reply));
    if (step.result) {
      entry.done = true;
      this.options.result(from, step.result, entry.fingerprints);
    }
  }

  forget(id: ParticipantId): void {
    this.#running.delete(id);
  }

  #entryFor(id: ParticipantId) {
    const existing = this.#running.get(id);
    if (existing) return existing;
    const fingerprints = this.options.fingerprints(id);
    if (!fingerprints) return null;
    const entry: Entry = { verification: createVerification(fingerprints.mine, fingerprints.theirs), fingerprints, sent: [], done: false };
    this.#running.set(id, entry);
    return entry;
  }

  #send(to: ParticipantId, entry: Entry, message: PeerVerifyMessage): void {
    if (!entry.sent.some((sent) => sent.type === message.type)) entry.sent.push(message);
    this.options.send(to, message);
  }
}
