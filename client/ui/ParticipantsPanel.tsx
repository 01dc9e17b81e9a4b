import { useEffect, useRef } from 'preact/hooks';
import type { Knocker, Participant } from '../../signal/protocol.js';
import type { Call } from '../call/call.js';
import { isModerator, type CallState } from '../call/state.js';
import { useT } from './i18n-context.js';

/** Everyone in the meeting; for the moderator also the lobby queue and the meeting's rules. */
export function ParticipantsPanel({ call, state, name, onClose }: { call: Call; state: CallState; name: string; onClose: () => void }) {
  const t = useT();
  const ref = useRef<HTMLDialogElement>(null);
  const moderating = isModerator(state);

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  return (
    <dialog ref={ref} class="people" aria-labelledby="people-title" onClose={onClose}>
      <h2 id="people-title">{t('people.title')}</h2>
      <ul class="people-list">
        <li>
          <span class="name">
            {name} ({t('meeting.you')})
          </span>
          {moderating && <span class="badge">{t('meeting.moderator')}</span>}
        </li>
        {state.participants.map((p) => (
          <li key={p.id} data-participant={p.id}>
            <span class="name">{p.name}</span>
            {p.id === state.moderator && <span class="badge">{t('meeting.moderator')}</span>}
            {moderating && (
              <span class="row">
                <button onClick={() => call.moderation.makeModerator(p.id)}>{t('people.makeModerator', { name: p.name })}</button>
                <button onClick={() => call.moderation.remove(p.id)}>{t('people.remove', { name: p.name })}</button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {moderating && (
        <>
          <h3>{t('people.waiting')}</h3>
          {state.lobby.length === 0 && <p class="hint">{t('people.nobodyWaiting')}</p>}
          <ul class="people-list lobby">
            {state.lobby.map((p) => (
              <li key={p.id}>
                <span class="name">{p.name}</span>
                {(p as Knocker).passwordUnchecked && <p class="hint warning" data-password-unchecked="true">{t('people.passwordUnchecked')}</p>}
                <LobbyActions call={call} participant={p} />
              </li>
            ))}
          </ul>
          <label class="option">
            <input type="checkbox" checked={state.settings.locked} onChange={(event) => call.moderation.lock(event.currentTarget.checked)} />
            <span>{t('people.lock')}</span>
          </label>
          <label class="option">
            <input type="checkbox" checked={state.settings.lobby} onChange={(event) => call.moderation.setLobby(event.currentTarget.checked)} />
            <span>{t('people.lobby')}</span>
          </label>
          <p>
            <button onClick={() => call.moderation.muteAll()}>{t('people.muteAll')}</button>
          </p>
        </>
      )}
      <form method="dialog">
        <button class="primary">{t('people.close')}</button>
      </form>
    </dialog>
  );
}

/** Admit or decline someone waiting in the lobby (in the panel and in the banner). */
export function LobbyActions({ call, participant }: { call: Call; participant: Participant }) {
  const t = useT();
  return (
    <span class="row">
      <button class="primary" onClick={() => call.moderation.letIn(participant.id)}>
        {t('people.admit', { name: participant.name })}
      </button>
      <button onClick={() => call.moderation.turnAway(participant.id)}>{t('people.decline', { name: participant.name })}</button>
    </span>
  );
}
