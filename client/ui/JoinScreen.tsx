import { useState } from 'preact/hooks';
import { normalizeDisplayName } from '../../signal/names.js';
import type { LocalMedia } from '../call/media.js';
import type { MessageKey } from '../i18n/index.js';
import { useT } from './i18n-context.js';
import { VideoTile } from './VideoTile.js';

const NAME_KEY = 'treff.name';

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
  onJoin: (name: string) => void;
}

export function JoinScreen({ room, media, error, onJoin }: JoinScreenProps) {
  const t = useT();
  const [name, setName] = useState(() => rememberedName());
  const [invalid, setInvalid] = useState(false);

  const submit = (event: Event) => {
    event.preventDefault();
    const result = normalizeDisplayName(name);
    if (!result.ok) return setInvalid(true);
    rememberName(result.value);
    onJoin(result.value);
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
      </form>
    </main>
  );
}

function rememberedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // private mode: asked again next time
  }
}
