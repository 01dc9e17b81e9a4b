import { useEffect, useRef } from 'preact/hooks';
import type { RemoteParticipant } from '../call/state.js';
import { EMOJI_NAMES } from '../call/safety/safety-number.js';
import { useT } from './i18n-context.js';

/** How a participant's connection is encrypted, in plain words, and the safety number to compare. */
export function SecurityPanel({ participant, onVerify, onClose }: { participant: RemoteParticipant; onVerify: () => void; onClose: () => void }) {
  const t = useT();
  // Read aloud in the language of the call: the emoji are the same on both sides whatever the language.
  const localNames = t('security.emojiNames').split(',');
  const emojiName = (english: string) => localNames[EMOJI_NAMES.indexOf(english)] ?? english;
  const ref = useRef<HTMLDialogElement>(null);
  const { name, connection, path, encryption, safety } = participant;

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const summary =
    connection === 'insecure'
      ? t('security.insecure')
      : connection === 'failed'
        ? t('security.failedConnection')
        : connection === 'connecting' || !path
          ? t('security.connecting')
          : path.kind === 'direct'
            ? t('security.direct')
            : t('security.relayed', { protocol: path.protocol.toUpperCase() });

  return (
    <dialog ref={ref} class="security" aria-labelledby="security-title" onClose={onClose} data-participant={participant.id}>
      <h2 id="security-title">{t('security.title', { name })}</h2>
      <p class={`summary ${connection}`} data-summary={connection === 'connected' ? path?.kind : connection}>
        {summary}
      </p>
      {encryption && (
        <dl class="details">
          <dt>{t('security.dtls')}</dt>
          <dd data-field="dtls">
            {encryption.dtlsVersion ?? 'DTLS'} · {encryption.dtlsState ?? '?'}
            {encryption.dtlsCipher && ` · ${encryption.dtlsCipher}`}
          </dd>
          <dt>{t('security.srtp')}</dt>
          <dd data-field="srtp">{encryption.srtpCipher ?? '?'}</dd>
          {encryption.localFingerprint && (
            <>
              <dt>{t('security.myKey')}</dt>
              <dd class="fingerprint">{encryption.localFingerprint}</dd>
            </>
          )}
          {encryption.remoteFingerprint && (
            <>
              <dt>{t('security.theirKey', { name })}</dt>
              <dd class="fingerprint">{encryption.remoteFingerprint}</dd>
            </>
          )}
        </dl>
      )}
      <h3>{t('security.safetyNumber')}</h3>
      {safety.state === 'pending' && <p>{t('security.pending')}</p>}
      {safety.state === 'failed' && (
        <p class="warning" role="alert">
          {t('security.failed')}
        </p>
      )}
      {safety.state === 'ready' && (
        <>
          {safety.changedSinceVerified && (
            <p class="warning" role="alert" data-warning="key-changed">
              {t('security.changed', { name })}
            </p>
          )}
          <p class="safety-digits" data-safety-digits={safety.code.digits}>
            {safety.code.digits}
          </p>
          <p class="safety-emoji" aria-label={safety.code.names.map(emojiName).join(', ')}>
            {safety.code.words.map((emoji, i) => (
              <span key={i} title={emojiName(safety.code.names[i]!)}>
                {emoji}
              </span>
            ))}
          </p>
          <p class="hint">{t('security.compare', { name })}</p>
          {safety.verified ? (
            <p class="verified" data-verified="true">
              ✓ {t('security.verified', { name })}
            </p>
          ) : (
            <button onClick={onVerify}>{t('security.markVerified', { name })}</button>
          )}
        </>
      )}
      <form method="dialog">
        <button class="primary">{t('security.close')}</button>
      </form>
    </dialog>
  );
}
