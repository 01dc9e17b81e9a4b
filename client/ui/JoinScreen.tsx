import { useState } from 'preact/hooks';
import { normalizeDisplayName } from '../../signal/names.js';
import type { LocalMedia } from '../call/media.js';
import type { MessageKey } from '../i18n/index.js';
import { useT } from './i18n-context.js';
import { VideoTile } from './VideoTile.js';

const NAME_KEY = 'treff.name';
const RELAY_ONLY_KEY = 'treff.relayOnly';

const PROBLEM_TEXT: Record<NonNullable<LocalMedia['problem']>, MessageKey> = {
  denied: 'join.deviceDenied',
  'no-devices': 'join.noDevices',
  insecure: 'join.noDevices',
  'audio-only': 'join.audioOnly',
  'video-only': 'join.videoOnly',
};

export interface JoinScreenProps {
  room: string;
  /** null while the browser is still asking for camera and microphone. */
  media: LocalMedia | null;
  error: string | null;
  onJoin: (name: string, relayOnly: boolean) => void;
}

export function JoinScreen({ room, media, error, onJoin }: JoinScreenProps) {
  const t = useT();
  const [name, setName] = useState(() => remembered(NAME_KEY) ?? '');
  const [relayOnly, setRelayOnly] = useState(() => remembered(RELAY_ONLY_KEY) === 'true');
  const [invalid, setInvalid] = useState(false);

  const submit = (event: Event) => {
    event.preventDefault();
    const result = normalizeDisplayName(name);
    if (!result.ok) return setInvalid(true);
    remember(NAME_KEY, result.value);
    remember(RELAY_ONLY_KEY, String(relayOnly));
    onJoin(result.value, relayOnly);
  };

  const stream = media?.stream ?? null;
  const message = invalid ? t('error.invalid-name') : error;
  return (
    <main class="join">
      <h1>{t('join.title', { room })}</h1>
      <div class="preview">
        <VideoTile name={name || '?'} stream={stream} local audio={Boolean(stream?.getAudioTracks().length)} video={Boolean(stream?.getVideoTracks().length)} />
      </div>
      {media?.problem && <p class="notice">{t(PROBLEM_TEXT[media.problem])}</p>}
      <form onSubmit={submit}>
        <label for="display-name">{t('join.nameLabel')}</label>
        <div class="row">
          <input
            id="display-name"
            name="name"
            autocomplete="nickname"
            autoFocus
            maxLength={40}
            placeholder={t('join.namePlaceholder')}
            value={name}
            aria-invalid={message ? 'true' : undefined}
            onInput={(event) => {
              setName(event.currentTarget.value);
              setInvalid(false);
            }}
          />
          <button type="submit" class="primary" disabled={!media}>
            {t('join.join')}
          </button>
        </div>
        {message && (
          <p class="error" role="alert">
            {message}
          </p>
        )}
        <label class="option">
          <input type="checkbox" id="relay-only" checked={relayOnly} onChange={(event) => setRelayOnly(event.currentTarget.checked)} />
          <span>
            {t('join.relayOnly')}
            <small>{t('join.relayOnlyHint')}</small>
          </span>
        </label>
      </form>
    </main>
  );
}

function remembered(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: asked again next time
  }
}
