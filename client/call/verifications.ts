// Runs the commit-then-reveal safety-number exchange with every connected participant, once per
// connection (fresh nonces each time), and reports each result.

import type { ParticipantId } from '../../signal/protocol.js';
import { createVerification, type PeerVerifyMessage, type Verification, type VerifyResult } from './commit-reveal.js';

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

export class Verifications {
  private readonly running = new Map<ParticipantId, { verification: Verification; fingerprints: Fingerprints }>();

  constructor(private readonly options: VerificationsOptions) {}

  /** The data channel to `id` is open: send our commitment. */
  async begin(id: ParticipantId): Promise<void> {
    const entry = this.entryFor(id);
    if (entry) this.options.send(id, await entry.verification.start());
  }

  /** A message may arrive before our side saw the channel open: the exchange starts on whichever comes first. */
  async receive(from: ParticipantId, message: PeerVerifyMessage): Promise<void> {
    const entry = this.entryFor(from);
    if (!entry) return;
    const step = await entry.verification.receive(message);
    step.send.forEach((reply) => this.options.send(from, reply));
    if (step.result) this.options.result(from, step.result, entry.fingerprints);
  }

  forget(id: ParticipantId): void {
    this.running.delete(id);
  }

  private entryFor(id: ParticipantId) {
    const existing = this.running.get(id);
    if (existing) return existing;
    const fingerprints = this.options.fingerprints(id);
    if (!fingerprints) return null;
    const entry = { verification: createVerification(fingerprints.mine, fingerprints.theirs), fingerprints };
    this.running.set(id, entry);
    return entry;
  }
}
