import { useEffect, useState } from 'preact/hooks';
import type { ParticipantId } from '../../signal/protocol.js';
import type { Call } from '../call/call.js';
import { isModerator } from '../call/state.js';
import { unreadCount } from '../call/chat.js';
import { canShareScreen } from '../call/media/screen.js';
import { ChatPanel } from './ChatPanel.js';
import { CameraIcon, ChatIcon, HandIcon, LeaveIcon, MicIcon, ScreenIcon } from './icons.js';
import { RaisedHands } from './RaisedHands.js';
import { useT } from './i18n-context.js';
import { LobbyActions, ParticipantsPanel } from './ParticipantsPanel.js';
import { SecurityPanel } from './SecurityPanel.js';
import { ShareDialog } from './ShareDialog.js';
import { useCallState } from './use-call-state.js';
import { useCopy } from './use-copy.js';
import { VideoTile } from './VideoTile.js';

export function CallView({ call, name, onLeave, onCheck }: { call: Call; name: string; onLeave: () => void; onCheck: () => void }) {
  const t = useT();
  const state = useCallState(call);
  const { local, participants, you, moderator } = state;
  const count = participants.length + 1;
  const [securityOf, setSecurityOf] = useState<ParticipantId | null>(null);
  const inspected = participants.find((p) => p.id === securityOf);
  const [dialog, setDialog] = useState<'share' | 'people' | null>(null);
  const [chatOpen, setChatOpen] = useState(false);
  /** The id of the last chat message the user has seen, for the unread count. */
  const [seen, setSeen] = useState(0);
  const [screenProblem, setScreenProblem] = useState<'unsupported' | 'failed' | null>(null);
  const unread = chatOpen ? 0 : unreadCount(state.chat, seen);
  const sharing = local.screen !== null;
  const spotlight = participants.find((p) => p.screen);
  useEffect(() => {
    if (chatOpen) setSeen(state.chat[state.chat.length - 1]?.id ?? 0);
  }, [chatOpen, state.chat]);
  const toggleScreen = async () => {
    if (call.state.local.screen) return call.stopScreenShare();
    const result = await call.startScreenShare();
    setScreenProblem('problem' in result && result.problem !== 'cancelled' ? result.problem : null);
  };
  const moderating = isModerator(state);

  // M and V toggle microphone and camera, unless the user is typing somewhere.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      const key = event.key.toLowerCase();
      if (key === 'm' && call.hasTrack('audio')) call.setMicrophone(!call.state.local.audio);
      else if (key === 'v' && call.hasTrack('video')) call.setCamera(!call.state.local.video);
      else if (key === 's' && canShareScreen()) void toggleScreen();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [call]);

  return (
    <main class="call">
      <header class="call-header">
        <h1>{state.room}</h1>
        <span class="count">{t('meeting.participants', { count })}</span>
        {state.settings.locked && <span class="badge">{t('meeting.locked')}</span>}
        <span class="header-actions">
          <button onClick={() => setDialog('people')}>{t('people.open', { count })}</button>
          <button onClick={() => setDialog('share')}>{t('share.open')}</button>
        </span>
      </header>
      {state.weakUplink && (
        <p class="banner" role="status" data-weak-uplink="true">
          {t('meeting.weakUplink')}
        </p>
      )}
      {state.notice && (
        <p class="banner notice-banner" role="status">
          <span>{t(`notice.${state.notice}`)}</span>
          <button onClick={() => call.dismissNotice()}>{t('notice.dismiss')}</button>
        </p>
      )}
      {moderating &&
        state.lobby.map((p) => (
          <p key={p.id} class="banner notice-banner" role="status">
            <span>{t('people.knocking', { name: p.name })}</span>
            <LobbyActions call={call} participant={p} />
          </p>
        ))}
      {dialog === 'share' && <ShareDialog call={call} state={state} onClose={() => setDialog(null)} />}
      {dialog === 'people' && <ParticipantsPanel call={call} state={state} name={name} onClose={() => setDialog(null)} />}
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
      {screenProblem && (
        <p class="banner" role="alert">
          {t(screenProblem === 'unsupported' ? 'screen.unsupported' : 'screen.failed')}
        </p>
      )}
      <RaisedHands state={state} name={name} />
      {/* A shared screen is shown large (spotlight), everyone else in a row beside or below it. */}
      <section class={`grid n${Math.min(count, 9)}${spotlight ? ' spotlight' : ''}${chatOpen ? ' with-chat' : ''}`} aria-live="polite">
        <VideoTile
          name={name}
          stream={local.screen ?? local.stream}
          audio={local.audio}
          video={local.video}
          local
          moderator={moderating}
          hand={local.hand}
          screen={sharing}
        />
        {participants.map((p) => (
          <VideoTile
            key={p.id}
            participantId={p.id}
            name={p.name}
            stream={p.stream}
            audio={p.audio}
            video={p.video}
            moderator={p.id === moderator}
            audioOnly={p.audioOnly === true}
            connection={p.connection}
            path={p.path}
            verified={p.safety.state === 'ready' && p.safety.verified}
            keyChanged={p.safety.state === 'ready' && p.safety.changedSinceVerified}
            onSecurity={() => setSecurityOf(p.id)}
            onResize={(width, height) => call.reportTileSize(p.id, width, height)}
            speaking={p.id === state.activeSpeaker}
            hand={p.hand !== null}
            screen={p.screen}
            problem={p.problem}
          />
        ))}
      </section>
      {state.phase === 'joined' && participants.length === 0 && <InvitePanel />}
      {chatOpen && <ChatPanel messages={state.chat} onSend={(text) => call.sendChat(text)} onClose={() => setChatOpen(false)} />}
      {inspected && <SecurityPanel key={inspected.id} participant={inspected} onVerify={() => call.markVerified(inspected.id)} onClose={() => setSecurityOf(null)} />}
      <nav class="controls" aria-label={t('call.controls')}>
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
        <button
          class={`round ${sharing ? 'active' : ''}`}
          disabled={!canShareScreen() || call.audioOnly}
          aria-pressed={sharing}
          title={t(sharing ? 'screen.stop' : 'screen.start')}
          aria-label={t(sharing ? 'screen.stop' : 'screen.start')}
          onClick={() => void toggleScreen()}
        >
          <ScreenIcon off={sharing} />
        </button>
        <button
          class={`round ${local.hand ? 'active' : ''}`}
          aria-pressed={local.hand}
          title={t(local.hand ? 'hand.lower' : 'hand.raise')}
          aria-label={t(local.hand ? 'hand.lower' : 'hand.raise')}
          onClick={() => call.setHand(!local.hand)}
        >
          <HandIcon />
        </button>
        <button
          class={`round ${chatOpen ? 'active' : ''}`}
          aria-expanded={chatOpen}
          title={t(unread ? 'chat.openUnread' : 'chat.open', { count: unread })}
          aria-label={t(unread ? 'chat.openUnread' : 'chat.open', { count: unread })}
          onClick={() => setChatOpen(!chatOpen)}
        >
          <ChatIcon />
          {unread > 0 && (
            <span class="unread" aria-hidden="true">
              {unread}
            </span>
          )}
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
  const link = location.href;
  const { copied, copy } = useCopy(link, 2000);
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
