import { useEffect, useState } from 'preact/hooks';
import { MAX_DISPLAY_NAME_LENGTH, normalizeDisplayName } from '../../signal/names.js';
import { MAX_PASSWORD_LENGTH } from '../../signal/protocol.js';
import { localStore } from '../storage.js';
import { deviceOf, listDevices, openLocalMedia, type Device, type LocalMedia } from '../call/media/local-media.js';
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

export interface JoinChoice {
  name: string;
  relayOnly: boolean;
  /** Only when the meeting asked for one. */
  password: string | undefined;
  /** Whether to start with the microphone and the camera on. */
  microphone: boolean;
  camera: boolean;
  /** On a seat for listeners: no video at all (offered when the meeting is full for video). */
  audioOnly: boolean;
}

export interface JoinScreenProps {
  room: string;
  /** null while the browser is still asking for camera and microphone. */
  media: LocalMedia | null;
  error: string | null;
  /** The meeting needs a password: show the field for it. */
  passwordRequired?: boolean;
  /** The meeting is full for video but has seats for listeners: offer joining audio-only. */
  audioOnlyOffered?: boolean;
  onJoin: (choice: JoinChoice) => void;
  /** Another camera or microphone was chosen: the new media replaces the old (whose owner stops it). */
  onMedia?: (media: LocalMedia) => void;
}

export function JoinScreen({ room, media, error, passwordRequired = false, audioOnlyOffered = false, onJoin, onMedia }: JoinScreenProps) {
  const t = useT();
  const [name, setName] = useState(() => localStore.getItem(NAME_KEY) ?? '');
  const [relayOnly, setRelayOnly] = useState(() => localStore.getItem(RELAY_ONLY_KEY) === 'true');
  const [password, setPassword] = useState('');
  const [microphone, setMicrophone] = useState(true);
  const [camera, setCamera] = useState(true);
  const [devices, setDevices] = useState<{ microphones: Device[]; cameras: Device[] }>({ microphones: [], cameras: [] });
  const [invalid, setInvalid] = useState(false);

  const stream = media?.stream ?? null;
  const hasAudio = Boolean(stream?.getAudioTracks().length);
  const hasVideo = Boolean(stream?.getVideoTracks().length);

  /** The stream whose devices are listed (and so shown): until then Join waits, see `ready`. */
  const [listedFor, setListedFor] = useState<MediaStream | null>(null);

  // Device names are readable only after access was granted, i.e. once the stream is there.
  useEffect(() => {
    if (stream)
      void listDevices().then((found) => {
        setDevices(found);
        setListedFor(stream);
      });
  }, [stream]);
  // The device pickers appear above the form once listed and push Join down: enabled before they
  // are shown, the button moved under a click aimed at it (which then hit a picker instead).
  const ready = media !== null && (stream === null || listedFor === stream);

  // The preview follows the switches, and a re-opened stream starts as the switches say.
  useEffect(() => {
    stream?.getAudioTracks().forEach((track) => (track.enabled = microphone));
    stream?.getVideoTracks().forEach((track) => (track.enabled = camera));
  }, [stream, microphone, camera]);

  const choose = async (kind: 'microphone' | 'camera', id: string) => {
    const choice = { microphone: deviceOf(stream, 'audio'), camera: deviceOf(stream, 'video'), [kind]: id };
    onMedia?.(await openLocalMedia(choice));
  };

  const submit = (event: Event, audioOnly = false) => {
    event.preventDefault();
    const result = normalizeDisplayName(name);
    if (!result.ok) return setInvalid(true);
    localStore.setItem(NAME_KEY, result.value);
    localStore.setItem(RELAY_ONLY_KEY, String(relayOnly));
    const devices = { microphone: microphone && hasAudio, camera: camera && hasVideo && !audioOnly };
    onJoin({ name: result.value, relayOnly, password: passwordRequired ? password : undefined, ...devices, audioOnly });
  };

  const message = invalid ? t('error.invalid-name') : error;
  return (
    <main class="join">
      <h1>{t('join.title', { room })}</h1>
      <div class="preview">
        <VideoTile name={name || '?'} stream={stream} local audio={hasAudio && microphone} video={hasVideo && camera} />
      </div>
      {media?.problem && <p class="notice">{t(PROBLEM_TEXT[media.problem])}</p>}
      <div class="devices">
        <div>
          <label class="option">
            <input type="checkbox" id="join-microphone" checked={microphone && hasAudio} disabled={!hasAudio} onChange={(e) => setMicrophone(e.currentTarget.checked)} />
            <span>{t('join.micOn')}</span>
          </label>
          {devices.microphones.length > 1 && (
            <select aria-label={t('join.micSelect')} value={deviceOf(stream, 'audio')} onChange={(e) => void choose('microphone', e.currentTarget.value)}>
              {devices.microphones.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.label}
                </option>
              ))}
            </select>
          )}
        </div>
        <div>
          <label class="option">
            <input type="checkbox" id="join-camera" checked={camera && hasVideo} disabled={!hasVideo} onChange={(e) => setCamera(e.currentTarget.checked)} />
            <span>{t('join.camOn')}</span>
          </label>
          {devices.cameras.length > 1 && (
            <select aria-label={t('join.camSelect')} value={deviceOf(stream, 'video')} onChange={(e) => void choose('camera', e.currentTarget.value)}>
              {devices.cameras.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.label}
                </option>
              ))}
            </select>
          )}
        </div>
      </div>
      <form onSubmit={submit}>
        <label for="display-name">{t('join.nameLabel')}</label>
        <div class="row">
          <input
            id="display-name"
            name="name"
            autocomplete="nickname"
            autoFocus
            maxLength={MAX_DISPLAY_NAME_LENGTH}
            placeholder={t('join.namePlaceholder')}
            value={name}
            aria-invalid={message ? 'true' : undefined}
            onInput={(event) => {
              setName(event.currentTarget.value);
              setInvalid(false);
            }}
          />
          <button type="submit" class="primary" disabled={!ready}>
            {t('join.join')}
          </button>
        </div>
        {passwordRequired && (
          <>
            <label for="meeting-password" class="password-label">
              {t('join.passwordLabel')}
            </label>
            <input id="meeting-password" type="password" name="password" autocomplete="off" required maxLength={MAX_PASSWORD_LENGTH} value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
          </>
        )}
        {message && (
          <p class="error" role="alert">
            {message}
          </p>
        )}
        {audioOnlyOffered && (
          <button type="button" class="primary audio-only" disabled={!ready} onClick={(event) => submit(event, true)}>
            {t('join.joinAudioOnly')}
          </button>
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
