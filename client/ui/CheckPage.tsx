import { useEffect, useState } from 'preact/hooks';
import { CHECKS, runConnectionCheck, verdict, type CheckReport } from '../check/connection-check.js';
import { signallingUrl } from '../call/connection/signalling.js';
import { useT } from './i18n-context.js';

/** /-/check: what this network lets through, in plain words, and what to ask IT for. */
export function CheckPage({ onHome }: { onHome: () => void }) {
  const t = useT();
  const [report, setReport] = useState<CheckReport | null>(null);
  const [run, setRun] = useState(0);

  useEffect(() => {
    let current = true;
    void runConnectionCheck(signallingUrl(location), (update) => current && setReport(update));
    return () => {
      current = false;
    };
  }, [run]);

  const results = report?.results;
  const done = results && CHECKS.every((id) => results[id] !== 'pending' && results[id] !== 'running');
  const relay = report?.relay;
  const params = { host: relay?.host ?? location.hostname, port: relay?.port || '10000', tlsPort: relay?.tlsPort ?? '443' };

  return (
    <main class="check">
      <h1>{t('check.title')}</h1>
      <p class="hint">{t('check.intro')}</p>
      <ul class="checks">
        {CHECKS.map((id) => {
          const status = results?.[id] ?? 'pending';
          return (
            <li key={id} class={`check-item ${status}`} data-check={id} data-status={status}>
              <span class="check-name">{t(`check.${id}`, { port: id === 'turns' ? params.tlsPort : params.port })}</span>
              <span class="check-status">{t(`check.status.${status}`)}</span>
            </li>
          );
        })}
      </ul>
      {done && (
        <p class="verdict" role="status" data-verdict={verdict(results)}>
          {t(`check.verdict.${verdict(results)}`, params)}
        </p>
      )}
      <div class="row">
        <button class="primary" disabled={!done} onClick={() => setRun(run + 1)}>
          {t('check.run')}
        </button>
        <button onClick={onHome}>{t('check.back')}</button>
      </div>
    </main>
  );
}
