import { useState } from 'preact/hooks';
import { MAX_ROOM_NAME_LENGTH, normalizeRoomName } from '../../signal/names.js';
import { randomMeetingName } from '../random-name.js';
import { useT } from './i18n-context.js';

export function Home({ onGo, onCheck, initialError = null }: { onGo: (room: string) => void; onCheck: () => void; initialError?: string | null }) {
  const t = useT();
  const [suggestion] = useState(() => randomMeetingName());
  const [value, setValue] = useState('');
  const [error, setError] = useState(initialError);

  const submit = (event: Event) => {
    event.preventDefault();
    const result = normalizeRoomName(value.trim() || suggestion);
    if (result.ok) onGo(result.value);
    else setError(t('error.invalid-room-name'));
  };

  return (
    <main class="home">
      <p class="tagline">{t('app.tagline')}</p>
      <form class="go" onSubmit={submit}>
        <label for="meeting-name">{t('home.label')}</label>
        <div class="row">
          <input
            id="meeting-name"
            name="room"
            autocomplete="off"
            autoFocus
            maxLength={MAX_ROOM_NAME_LENGTH}
            placeholder={suggestion}
            value={value}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby="meeting-hint"
            onInput={(event) => {
              setValue(event.currentTarget.value);
              setError(null);
            }}
          />
          <button type="submit" class="primary">
            {t('home.go')}
          </button>
        </div>
        {error ? (
          <p id="meeting-hint" class="error" role="alert">
            {error}
          </p>
        ) : (
          <p id="meeting-hint" class="hint">
            {t('home.hint', { name: suggestion })}
          </p>
        )}
      </form>
      <p class="privacy">{t('home.privacy')}</p>
      <p>
        <a href="/-/check" onClick={(event) => (event.preventDefault(), onCheck())}>
          {t('home.check')}
        </a>
      </p>
    </main>
  );
}
