import { useEffect, useState } from 'preact/hooks';
import { Call } from '../call/call.js';
import { loadOrCreateCertificate } from '../call/safety/certificate.js';
import { openLocalMedia, stopMedia, type LocalMedia } from '../call/media/local-media.js';
import { signallingUrl } from '../call/connection/signalling.js';
import { CallView } from './CallView.js';
import { useT } from './i18n-context.js';
import { JoinScreen, type JoinChoice } from './JoinScreen.js';
import { useCallState } from './use-call-state.js';

/** passwordRequired: the last attempt was refused for want of the right password. */
type Stage = { kind: 'setup'; error: string | null; passwordRequired?: boolean; audioOnlyOffered?: boolean } | { kind: 'call'; call: Call; name: string } | { kind: 'left' };

const PASSWORD_ERRORS: ReadonlySet<string> = new Set(['password-required', 'wrong-password', 'too-many-attempts']);

/** One meeting link: the join screen, then the call, then the goodbye screen. */
export function MeetingPage({ room, onHome, onCheck }: { room: string; onHome: () => void; onCheck: () => void }) {
  const t = useT();
  const [stage, setStage] = useState<Stage>({ kind: 'setup', error: null });
  const [media, setMedia] = useState<LocalMedia | null>(null);
  /** undefined while loading; null when none could be kept (the browser then makes a throwaway one). */
  const [certificate, setCertificate] = useState<RTCCertificate | null | undefined>(undefined);

  // The same DTLS certificate on every visit, so a verified safety number stays verified.
  useEffect(() => {
    loadOrCreateCertificate().then(setCertificate, (error: unknown) => {
      console.warn('no persistent certificate', error);
      setCertificate(null);
    });
  }, []);

  // Ask for camera and microphone as soon as the join screen shows, so the preview is ready when the name is.
  useEffect(() => {
    if (stage.kind !== 'setup' || media) return;
    let cancelled = false;
    openLocalMedia().then((opened) => (cancelled ? stopMedia(opened.stream) : setMedia(opened)));
    return () => {
      cancelled = true;
    };
  }, [stage.kind, media]);

  useEffect(() => () => stopMedia(media?.stream ?? null), [media]);
  useEffect(() => () => (stage.kind === 'call' ? stage.call.leave() : undefined), [stage]);
  // Closing the tab or reloading is leaving: the others drop the tile at once, instead of showing
  // it frozen until the server gives up the seat (which it keeps for a connection that only dropped).
  // A page kept for the Back button comes back on the goodbye screen, with Rejoin.
  useEffect(() => {
    if (stage.kind !== 'call') return;
    const onPageHide = () => {
      stage.call.leave();
      leave();
    };
    addEventListener('pagehide', onPageHide);
    return () => removeEventListener('pagehide', onPageHide);
  }, [stage]);

  const join = ({ name, relayOnly, microphone, camera, password, audioOnly }: JoinChoice) => {
    // Audio-only: the camera is not even in the call, so nothing can turn it on.
    const stream = media?.stream && audioOnly ? new MediaStream(media.stream.getAudioTracks()) : (media?.stream ?? null);
    const call = new Call({
      url: signallingUrl(location),
      room,
      name,
      stream,
      relayOnly,
      ...(audioOnly ? { audioOnly } : {}),
      certificate: certificate ?? null,
      ...(password ? { password } : {}),
    });
    call.start();
    call.setMicrophone(microphone);
    call.setCamera(camera);
    setStage({ kind: 'call', call, name });
  };

  const leave = () => {
    setMedia(null);
    setStage({ kind: 'left' });
  };

  switch (stage.kind) {
    case 'setup':
      return (
        <JoinScreen
          room={room}
          media={certificate === undefined ? null : media}
          error={stage.error}
          passwordRequired={stage.passwordRequired ?? false}
          audioOnlyOffered={stage.audioOnlyOffered ?? false}
          onJoin={join}
          onMedia={setMedia}
        />
      );
    case 'call':
      return (
        <CallStage
          call={stage.call}
          name={stage.name}
          onLeave={leave}
          onCheck={onCheck}
          onFailed={(error, code) => setStage({ kind: 'setup', error, passwordRequired: PASSWORD_ERRORS.has(code), audioOnlyOffered: code === 'room-full-video' })}
        />
      );
    case 'left':
      return (
        <main class="left">
          <h1>{t('left.title')}</h1>
          <div class="row">
            <button class="primary" onClick={() => setStage({ kind: 'setup', error: null })}>
              {t('left.rejoin')}
            </button>
            <button onClick={onHome}>{t('left.home')}</button>
          </div>
        </main>
      );
  }
}

/** The call, until it fails: then back to the join screen with the reason. */
function CallStage(props: { call: Call; name: string; onLeave: () => void; onCheck: () => void; onFailed: (error: string, code: string) => void }) {
  const { call, name, onLeave, onCheck, onFailed } = props;
  const t = useT();
  const state = useCallState(call);
  useEffect(() => {
    if (state.phase === 'failed' && state.error) onFailed(t(`error.${state.error}`), state.error);
  }, [state.phase]);
  if (state.phase === 'waiting') {
    return (
      <main class="waiting" aria-busy="true">
        <h1>{t('waiting.title')}</h1>
        <p>{t('waiting.text', { room: state.room })}</p>
        <button onClick={onLeave}>{t('waiting.leave')}</button>
      </main>
    );
  }
  return <CallView call={call} name={name} onLeave={onLeave} onCheck={onCheck} />;
}
