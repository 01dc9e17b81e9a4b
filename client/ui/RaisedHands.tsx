import type { CallState } from '../call/state.js';
import { useT } from './i18n-context.js';

/** Everyone with a raised hand, in the order they raised it (as this browser heard it). */
export function RaisedHands({ state, name }: { state: CallState; name: string }) {
  const t = useT();
  const raised = state.participants.filter((p) => p.hand !== null).sort((a, b) => a.hand! - b.hand!);
  if (raised.length === 0 && !state.local.hand) return null;
  return (
    <section class="hands" aria-labelledby="hands-title">
      <h2 id="hands-title">✋ {t('hand.list')}</h2>
      <ol>
        {state.local.hand && (
          <li>
            {name} ({t('meeting.you')})
          </li>
        )}
        {raised.map((p) => (
          <li key={p.id} data-participant={p.id}>
            {p.name}
          </li>
        ))}
      </ol>
    </section>
  );
}
