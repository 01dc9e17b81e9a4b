import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../signal/protocol.js';
import type { Call } from '../call/call.js';
import { isModerator, type CallState } from '../call/state.js';
import { useT } from './i18n-context.js';
import { useCopy } from './use-copy.js';

/** Invite people (link, e-mail, share sheet) and, as moderator, set or remove the password. */
export function ShareDialog({ call, state, onClose }: { call: Call; state: CallState; onClose: () => void }) {
  const t = useT();
  const ref = useRef<HTMLDialogElement>(null);
  const [includePassword, setIncludePassword] = useState(false);
  const [newPassword, setNewPassword] = useState('');
  const link = `${location.origin}/${encodeURIComponent(state.room)}`;
  const moderating = isModerator(state);
  const { copied, copy } = useCopy(link);

  useEffect(() => {
    ref.current?.showModal();
  }, []);


  const body = [t('share.emailBody', { room: state.room, link }), ...(includePassword && state.password ? [t('share.emailPassword', { password: state.password })] : [])].join('\n');
  const mailto = `mailto:?subject=${encodeURIComponent(t('share.emailSubject', { room: state.room }))}&body=${encodeURIComponent(body)}`;

  return (
    <dialog ref={ref} class="share" aria-labelledby="share-title" onClose={onClose}>
      <h2 id="share-title">{t('share.title', { room: state.room })}</h2>
      <label for="share-link">{t('share.link')}</label>
      <div class="row">
        <input id="share-link" readOnly value={link} onFocus={(event) => event.currentTarget.select()} />
        <button onClick={copy}>{t(copied ? 'meeting.copied' : 'meeting.copy')}</button>
      </div>
      <div class="row actions">
        <a class="button" href={mailto}>
          {t('share.email')}
        </a>
        {'share' in navigator && (
          <button onClick={() => navigator.share({ title: t('share.emailSubject', { room: state.room }), url: link }).catch(() => undefined)}>{t('share.system')}</button>
        )}
      </div>
      {state.password && (
        <label class="option">
          <input type="checkbox" checked={includePassword} onChange={(event) => setIncludePassword(event.currentTarget.checked)} />
          <span>{t('share.includePassword')}</span>
        </label>
      )}
      {moderating && (
        <section class="password">
          <h3>{t('share.passwordTitle')}</h3>
          {state.settings.hasPassword && <p data-password-set="true">{t('share.passwordIsSet')}</p>}
          <p class="hint">{t('share.passwordHint')}</p>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              // The server refuses shorter ones too (invalid-password): guessing must stay infeasible.
              if (newPassword.length < MIN_PASSWORD_LENGTH) return;
              call.moderation.setPassword(newPassword);
              setNewPassword('');
            }}
          >
            <label for="new-password">{t('share.passwordLabel')}</label>
            <div class="row">
              <input
                id="new-password"
                type="password"
                autocomplete="new-password"
                minLength={MIN_PASSWORD_LENGTH}
                maxLength={MAX_PASSWORD_LENGTH}
                aria-describedby="new-password-rule"
                value={newPassword}
                onInput={(event) => setNewPassword(event.currentTarget.value)}
              />
              <button type="submit">{t(state.settings.hasPassword ? 'share.passwordChange' : 'share.passwordSet')}</button>
            </div>
            <p id="new-password-rule" class="hint" data-password-too-short={newPassword.length > 0 && newPassword.length < MIN_PASSWORD_LENGTH ? 'true' : undefined}>
              {t('share.passwordTooShort', { min: String(MIN_PASSWORD_LENGTH) })}
            </p>
          </form>
          {state.settings.hasPassword && <button onClick={() => call.moderation.setPassword(null)}>{t('share.passwordRemove')}</button>}
        </section>
      )}
      <form method="dialog">
        <button class="primary">{t('share.close')}</button>
      </form>
    </dialog>
  );
}
