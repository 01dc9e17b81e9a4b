import { useEffect, useState } from 'preact/hooks';
import type { ParticipantId } from '../../signal/protocol.js';
import type { Call } from '../call/call.js';
import { CameraIcon, LeaveIcon, MicIcon } from './icons.js';
import { useT } from './i18n-context.js';
import { SecurityPanel } from './SecurityPanel.js';
import { useCallState } from './use-call-state.js';
import { VideoTile } from './VideoTile.js';

export function CallView({ call, name, onLeave, onCheck }: { call: Call; name: string; onLeave: () => void; onCheck: () => void }) {
  const t = useT();
  const state = useCallState(call);
  const { local, participants, you, moderator } = state;
  const count = participants.length + 1;
  const [securityOf, setSecurityOf] = useState<ParticipantId | null>(null);
  const inspected = participants.find((p) => p.id === securityOf);

  // M and V toggle microphone and camera, unless the user is typing somewhere.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      const key = event.key.toLowerCase();
      if (key === 'm' && call.hasTrack('audio')) call.setMicrophone(!call.state.local.audio);
      else if (key === 'v' && call.hasTrack('video')) call.setCamera(!call.state.local.video);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [call]);

  return (
    <main class="call">
      <header class="call-header">
        <h1>{state.room}</h1>
        <span class="count">{t('meeting.participants', { count })}</span>
      </header>
      {state.phase === 'joined' && !state.serverConnected && (
        <p class="banner" role="status">
          {t('meeting.serverLost')}
        </p>
      )}
      {state.phase === 'joined' && state.relayOnly && !state.relayAvailable && (
        <p class="banner" role="alert">
          {t('meeting.noRelay')}
        </p>
      )}
      {participants.some((p) => p.connection === 'insecure') && (
        <p class="banner danger" role="alert">
          {t('security.insecure')}
        </p>
      )}
      {participants.some((p) => p.connection === 'failed') && (
        <p class="banner" role="status">
          {t('meeting.connectionFailed')} —{' '}
          <a href="/-/check" onClick={(event) => (event.preventDefault(), onCheck())}>
            {t('meeting.checkConnection')}
          </a>
        </p>
      )}
      <section class={`grid n${Math.min(count, 9)}`} aria-live="polite">
        <VideoTile name={name} stream={local.stream} audio={local.audio} video={local.video} local moderator={you !== null && you === moderator} />
        {participants.map((p) => (
          <VideoTile
            key={p.id}
            participantId={p.id}
            name={p.name}
            stream={p.stream}
            audio={p.audio}
            video={p.video}
            moderator={p.id === moderator}
            connection={p.connection}
            path={p.path}
            verified={p.safety.state === 'ready' && p.safety.verified}
            keyChanged={p.safety.state === 'ready' && p.safety.changedSinceVerified}
            onSecurity={() => setSecurityOf(p.id)}
          />
        ))}
      </section>
      {state.phase === 'joined' && participants.length === 0 && <InvitePanel />}
      {inspected && <SecurityPanel key={inspected.id} participant={inspected} onVerify={() => call.markVerified(inspected.id)} onClose={() => setSecurityOf(null)} />}
      <nav class="controls" aria-label="call controls">
        <button
          class={`round ${local.audio ? '' : 'off'}`}
          disabled={!call.hasTrack('audio')}
          aria-pressed={!local.audio}
          title={t(local.audio ? 'meeting.micOn' : 'meeting.micOff')}
          aria-label={t(local.audio ? 'meeting.micOn' : 'meeting.micOff')}
          onClick={() => call.setMicrophone(!local.audio)}
        >
          <MicIcon off={!local.audio} />
        </button>
        <button
          class={`round ${local.video ? '' : 'off'}`}
          disabled={!call.hasTrack('video')}
          aria-pressed={!local.video}
          title={t(local.video ? 'meeting.camOn' : 'meeting.camOff')}
          aria-label={t(local.video ? 'meeting.camOn' : 'meeting.camOff')}
          onClick={() => call.setCamera(!local.video)}
        >
          <CameraIcon off={!local.video} />
        </button>
        <button class="round leave" title={t('meeting.leave')} aria-label={t('meeting.leave')} onClick={onLeave}>
          <LeaveIcon />
        </button>
      </nav>
    </main>
  );
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

function InvitePanel() {
  const t = useT();
  const [copied, setCopied] = useState(false);
  const link = location.href;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // clipboard blocked: the link stays selectable
    }
  };
  return (
    <aside class="invite">
      <p>{t('meeting.alone')}</p>
      <div class="row">
        <input readOnly value={link} onFocus={(event) => event.currentTarget.select()} aria-label={t('meeting.copy')} />
        <button onClick={copy}>{t(copied ? 'meeting.copied' : 'meeting.copy')}</button>
      </div>
    </aside>
  );
}
