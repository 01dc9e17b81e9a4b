// What this browser says about itself to the others over the data channels (microphone, camera,
// shared screen, raised hand) and what they say about themselves.

import type { ParticipantId } from '../../signal/protocol.js';
import type { PeerMessage } from './connection/peer-protocol.js';
import type { CallContext, CallFeature } from './context.js';
import { openScreen, type ScreenResult } from './media/screen.js';
import { unhandled } from './exhaustive.js';
import { participantOf, type CallState } from './state.js';

type PresenceMessage = Extract<PeerMessage, { type: 'media' | 'screen' | 'hand' }>;

export class Presence implements CallFeature {
  readonly #call: CallContext;
  readonly #audioOnly: boolean;
  constructor(
    call: CallContext,
    /** A listener's seat was given on the promise of sending no video. */
    audioOnly: boolean,
  ) {
    this.#call = call;
    this.#audioOnly = audioOnly;
  }

  hasTrack(kind: 'audio' | 'video'): boolean {
    return Boolean(this.#call.stream?.getTracks().some((track) => track.kind === kind));
  }

  setMicrophone(on: boolean): void {
    this.#call.stream?.getAudioTracks().forEach((track) => (track.enabled = on));
    this.#setLocal({ audio: on && this.hasTrack('audio') });
    this.#announceMedia();
  }

  setCamera(on: boolean): void {
    this.#call.stream?.getVideoTracks().forEach((track) => (track.enabled = on));
    this.#setLocal({ video: on && this.hasTrack('video') });
    this.#announceMedia();
  }

  setHand(raised: boolean): void {
    this.#setLocal({ hand: raised });
    this.#call.mesh()?.broadcast({ type: 'hand', raised });
  }

  /** Shares a screen in place of the camera until stopScreenShare() or the browser's own "stop sharing". */
  async startScreenShare(): Promise<ScreenResult> {
    const { store } = this.#call;
    if (this.#audioOnly) return { problem: 'unsupported' };
    if (store.state.local.screen) return { track: store.state.local.screen.getVideoTracks()[0]! };
    const result = await openScreen();
    if (!('track' in result)) return result;
    if (store.state.phase === 'left' || store.state.phase === 'failed') {
      result.track.stop();
      return { problem: 'cancelled' };
    }
    result.track.addEventListener('ended', () => this.stopScreenShare());
    this.#call.mesh()?.setScreen(result.track);
    this.#setLocal({ screen: new MediaStream([result.track]) });
    this.#call.mesh()?.broadcast({ type: 'screen', sharing: true });
    return result;
  }

  stopScreenShare(): void {
    const screen = this.#call.store.state.local.screen;
    if (!screen) return;
    screen.getTracks().forEach((track) => track.stop());
    this.#call.mesh()?.setScreen(null);
    this.#setLocal({ screen: null });
    this.#call.mesh()?.broadcast({ type: 'screen', sharing: false });
  }

  /** Someone new (or reconnected) learns of my microphone and camera, a shared screen and a raised hand. */
  peerConnected(id: ParticipantId): void {
    this.#announceMedia(id);
    const { local } = this.#call.store.state;
    if (local.screen) this.#call.mesh()?.send(id, { type: 'screen', sharing: true });
    if (local.hand) this.#call.mesh()?.send(id, { type: 'hand', raised: true });
  }

  receive(from: ParticipantId, message: PresenceMessage): void {
    const { store } = this.#call;
    switch (message.type) {
      case 'media':
        return store.patchParticipant(from, { audio: message.audio, video: message.video });
      case 'screen':
        return store.patchParticipant(from, { screen: message.sharing });
      case 'hand': {
        const hand = participantOf(store.state, from)?.hand ?? null;
        return store.patchParticipant(from, { hand: message.raised ? (hand ?? this.#call.clock.now()) : null });
      }
      default:
        return unhandled(message);
    }
  }

  stop(): void {
    this.#call.store.state.local.screen?.getTracks().forEach((track) => track.stop());
  }

  #announceMedia(to?: ParticipantId): void {
    const { audio, video } = this.#call.store.state.local;
    const message: PeerMessage = { type: 'media', audio, video };
    if (to) this.#call.mesh()?.send(to, message);
    else this.#call.mesh()?.broadcast(message);
  }

  #setLocal(patch: Partial<CallState['local']>): void {
    this.#call.store.update({ local: { ...this.#call.store.state.local, ...patch } });
  }
}
