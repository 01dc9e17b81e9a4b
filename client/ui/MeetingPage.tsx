import { useEffect, useState } from 'preact/hooks';
import { Call } from '../call/call.js';
import { loadOrCreateCertificate } from '../call/certificate-store.js';
import { openLocalMedia, stopMedia, type LocalMedia } from '../call/media.js';
import { signallingUrl } from '../call/signalling.js';
import { CallView } from './CallView.js';
import { useT } from './i18n-context.js';
import { JoinScreen } from './JoinScreen.js';
import { useCallState } from './use-call-state.js';

type Stage = { kind: 'setup'; error: string | null } | { kind: 'call'; call: Call; name: string } | { kind: 'left' };

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

  const join = (name: string, relayOnly: boolean) => {
    const call = new Call({ url: signallingUrl(location), room, name, stream: media?.stream ?? null, relayOnly, certificate: certificate ?? null });
    call.start();
    setStage({ kind: 'call', call, name });
  };

  const leave = () => {
    setMedia(null);
    setStage({ kind: 'left' });
  };

  switch (stage.kind) {
    case 'setup':
      return <JoinScreen room={room} media={certificate === undefined ? null : media} error={stage.error} onJoin={join} />;
    case 'call':
      return <CallStage call={stage.call} name={stage.name} onLeave={leave} onCheck={onCheck} onFailed={(error) => setStage({ kind: 'setup', error })} />;
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
function CallStage({ call, name, onLeave, onCheck, onFailed }: { call: Call; name: string; onLeave: () => void; onCheck: () => void; onFailed: (error: string) => void }) {
  const t = useT();
  const state = useCallState(call);
  useEffect(() => {
    if (state.phase === 'failed' && state.error) onFailed(t(`error.${state.error}`));
  }, [state.phase]);
  return <CallView call={call} name={name} onLeave={onLeave} onCheck={onCheck} />;
}
