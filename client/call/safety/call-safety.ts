// The safety number with each participant, in a call: runs the exchange once a connection is up,
// puts the result on the participant, and marks verified contacts on request.

import type { ParticipantId } from '../../../signal/protocol.js';
import type { PeerVerifyMessage } from '../connection/peer-protocol.js';
import type { CallContext, CallFeature } from '../context.js';
import { participantOf } from '../state.js';
import type { VerifyResult } from './commit-reveal.js';
import { fingerprintOf } from './safety-number.js';
import { Verifications, type Fingerprints } from './verifications.js';
import type { VerifiedContacts } from './verified-contacts.js';

export class CallSafety implements CallFeature {
  readonly #verifications: Verifications;

  readonly #call: CallContext;
  readonly #contacts: VerifiedContacts;
  constructor(
    call: CallContext,
    contacts: VerifiedContacts,
  ) {
    this.#call = call;
    this.#contacts = contacts;
    this.#verifications = new Verifications({
      send: (to, message) => call.mesh()?.send(to, message),
      fingerprints: (of) => this.#fingerprintsWith(of),
      result: (of, result, fingerprints) => this.#onVerified(of, result, fingerprints),
    });
  }

  peerConnected(id: ParticipantId): void {
    void this.#verifications.begin(id);
  }

  peerLost(id: ParticipantId): void {
    this.#verifications.forget(id);
  }

  forget(id: ParticipantId): void {
    this.#verifications.forget(id);
  }

  receive(from: ParticipantId, message: PeerVerifyMessage): void {
    void this.#verifications.receive(from, message);
  }

  /** Now and then, for a connected participant whose number is still pending. */
  nudge(id: ParticipantId): void {
    if (participantOf(this.#call.store.state, id)?.safety.state === 'pending') void this.#verifications.nudge(id);
  }

  /** Remembers on this device that the person really is who the safety number was compared with. */
  markVerified(id: ParticipantId): void {
    const participant = participantOf(this.#call.store.state, id);
    if (participant?.safety.state !== 'ready') return;
    this.#contacts.markVerified(participant.safety.theirFingerprint, participant.name);
    this.#call.store.patchParticipant(id, { safety: { ...participant.safety, verified: true, changedSinceVerified: false } });
  }

  /** Both certificates of the connection, from the descriptions DTLS checked them against. */
  #fingerprintsWith(id: ParticipantId): Fingerprints | null {
    const connection = this.#call.mesh()?.connectionTo(id);
    const mine = connection?.localDescription && fingerprintOf(connection.localDescription.sdp);
    const theirs = connection?.remoteDescription && fingerprintOf(connection.remoteDescription.sdp);
    return mine && theirs ? { mine, theirs } : null;
  }

  #onVerified(id: ParticipantId, result: VerifyResult, fingerprints: Fingerprints): void {
    const participant = participantOf(this.#call.store.state, id);
    if (!participant) return;
    if (!result.ok) return this.#call.store.patchParticipant(id, { safety: { state: 'failed', reason: result.reason } });
    this.#call.store.patchParticipant(id, {
      safety: {
        state: 'ready',
        code: result.code,
        theirFingerprint: fingerprints.theirs,
        verified: this.#contacts.isVerified(fingerprints.theirs),
        changedSinceVerified: this.#contacts.changedSinceVerified(participant.name, fingerprints.theirs),
      },
    });
  }
}
