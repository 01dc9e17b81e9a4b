import { useEffect, useState } from 'preact/hooks';
import type { MessageKey } from '../i18n/index.js';
import { useT } from './i18n-context.js';

const SECTIONS: Array<[title: MessageKey, body: MessageKey]> = [
  ['help.needTitle', 'help.need'],
  ['help.noPictureTitle', 'help.noPicture'],
  ['help.screenTitle', 'help.screen'],
  ['help.chatTitle', 'help.chat'],
  ['help.encryptionTitle', 'help.encryption'],
  ['help.safetyTitle', 'help.safety'],
  ['help.limitsTitle', 'help.limits'],
  ['help.shortcutsTitle', 'help.shortcuts'],
];

/** /-/help: the common questions, how the encryption and its check work, and the app code's hash. */
export function HelpPage({ onBack }: { onBack: () => void }) {
  const t = useT();
  const [bundle, setBundle] = useState<{ script: string; sha256: string } | null>(null);

  useEffect(() => {
    fetch('/build-info.json')
      .then((response) => (response.ok ? response.json() : null))
      .then(setBundle, () => undefined);
  }, []);

  return (
    <main class="help">
      <h1>{t('help.title')}</h1>
      {SECTIONS.map(([title, body]) => (
        <section key={title}>
          <h2>{t(title)}</h2>
          <p>{t(body)}</p>
        </section>
      ))}
      <section>
        <h2>{t('help.codeTitle')}</h2>
        <p>{t('help.code')}</p>
        {bundle && (
          <p class="fingerprint" data-bundle-sha256={bundle.sha256}>
            {bundle.script}
            <br />
            {bundle.sha256}
          </p>
        )}
      </section>
      <button onClick={onBack}>{t('help.back')}</button>
    </main>
  );
}
