import { useEffect, useRef } from 'preact/hooks';
import type { ConnectionPath } from '../call/quality/connection-path.js';
import type { ConnectionState } from '../call/connection/mesh.js';
import type { ReceptionProblem } from '../call/quality/reception-watch.js';
import type { MessageKey } from '../i18n/index.js';
import { LockIcon, MicIcon } from './icons.js';
import { useT } from './i18n-context.js';

export interface VideoTileProps {
  /** Told the tile's size in device pixels whenever it changes (remote tiles: the sender adapts to it). */
  onResize?: (width: number, height: number) => void;
  name: string;
  stream: MediaStream | null;
  audio: boolean;
  video: boolean;
  local?: boolean;
  moderator?: boolean;
  /** Joined on a seat for listeners: sends no video. */
  audioOnly?: boolean;
  connection?: ConnectionState;
  participantId?: string;
  path?: ConnectionPath | null;
  /** Opens the participant's security panel (encryption details and safety number). */
  onSecurity?: () => void;
  verified?: boolean;
  keyChanged?: boolean;
  /** The loudest voice right now (the highlight), a raised hand, a shared screen in the stream. */
  speaking?: boolean;
  hand?: boolean;
  screen?: boolean;
  /** Something sent between this participant and me does not arrive. */
  problem?: ReceptionProblem | null;
}

export function VideoTile(props: VideoTileProps) {
  const { name, stream, audio, video, local = false, moderator = false, connection = 'connected', participantId, path = null } = props;
  const t = useT();
  const ref = useRef<HTMLVideoElement>(null);
  const figure = useRef<HTMLElement>(null);
  const onResize = useRef(props.onResize);
  onResize.current = props.onResize;

  useEffect(() => {
    const element = figure.current;
    if (!element || !onResize.current || typeof ResizeObserver === 'undefined') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(([entry]) => {
      if (!entry) return;
      const { width, height } = entry.contentRect;
      // A window being dragged resizes many times a second: report once it settles.
      clearTimeout(timer);
      timer = setTimeout(() => onResize.current?.(width * devicePixelRatio, height * devicePixelRatio), 300);
    });
    observer.observe(element);
    return () => {
      clearTimeout(timer);
      observer.disconnect();
    };
  }, []);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    element.srcObject = stream;
    // Joining was a click, so the page may autoplay sound; play() only fails if the browser still refuses.
    if (stream) element.play().catch(() => undefined);
  }, [stream]);

  const { speaking = false, hand = false, screen = false } = props;
  const showVideo = Boolean(stream) && (video || screen);
  return (
    <figure
      ref={figure}
      class={`tile ${local ? 'local' : 'remote'}${speaking ? ' speaking' : ''}${screen ? ' screen' : ''}`}
      data-participant={participantId}
      data-screen={screen ? 'true' : undefined}
      data-speaking={speaking ? 'true' : undefined}
      data-connection={local ? undefined : connection}
      data-reception={props.problem ? 'broken' : undefined}
    >
      {/* The element stays when the camera is off: it also plays the participant's sound. */}
      <video ref={ref} autoplay playsInline muted={local} class={showVideo ? '' : 'hidden'} />
      {!showVideo && (
        <div class="avatar" aria-hidden="true">
          {initials(name)}
        </div>
      )}
      <figcaption>
        <span class="name">{local ? `${name} (${t('meeting.you')})` : name}</span>
        {moderator && <span class="badge">{t('meeting.moderator')}</span>}
        {props.audioOnly && (
          <span class="badge" data-badge="audio-only">
            {t('meeting.audioOnly')}
          </span>
        )}
        {screen && <span class="badge">{t('screen.sharing')}</span>}
        {hand && (
          <span class="badge hand" data-badge="hand" title={t('hand.raised')}>
            ✋ <span class="sr-only">{t('hand.raised')}</span>
          </span>
        )}
        {speaking && <span class="sr-only">{t('meeting.speaking')}</span>}
        {path && connection === 'connected' && (
          <span
            class={`path ${path.kind}`}
            data-path={path.kind}
            data-protocol={path.protocol}
            title={t(path.kind === 'direct' ? 'meeting.pathDirectTitle' : 'meeting.pathRelayedTitle', { protocol: path.protocol.toUpperCase() })}
          >
            {t(path.kind === 'direct' ? 'meeting.pathDirect' : 'meeting.pathRelayed')}
          </span>
        )}
        {props.verified && !props.keyChanged && (
          <span class="badge verified" data-badge="verified">
            ✓ {t('meeting.verified')}
          </span>
        )}
        {props.keyChanged && (
          <span class="badge warning" data-badge="key-changed">
            ⚠ {t('meeting.keyChanged')}
          </span>
        )}
        {!audio && (
          <span class="muted" title={t('meeting.muted')}>
            <MicIcon off />
          </span>
        )}
      </figcaption>
      {connection !== 'connected' && <div class={`status ${connection}`}>{t(STATUS_TEXT[connection])}</div>}
      {props.problem && connection === 'connected' && (
        <div class="pair-problem" role="status">
          {props.problem.iCannot.length > 0 && <p>{t(I_CANNOT[kinds(props.problem.iCannot)], { name })}</p>}
          {props.problem.theyCannot.length > 0 && <p>{t(THEY_CANNOT[kinds(props.problem.theyCannot)], { name })}</p>}
        </div>
      )}
      {props.onSecurity && (
        <button class="security-button" onClick={props.onSecurity} aria-label={t('security.open', { name })} title={t('security.open', { name })}>
          <LockIcon />
        </button>
      )}
    </figure>
  );
}

type Kinds = 'audio' | 'video' | 'both';
const kinds = (list: Array<'audio' | 'video'>): Kinds => (list.length === 2 ? 'both' : list[0]!);
const I_CANNOT: Record<Kinds, MessageKey> = { audio: 'pair.iCannotHear', video: 'pair.iCannotSee', both: 'pair.iCannotHearOrSee' };
const THEY_CANNOT: Record<Kinds, MessageKey> = { audio: 'pair.theyCannotHear', video: 'pair.theyCannotSee', both: 'pair.theyCannotHearOrSee' };

const STATUS_TEXT: Record<Exclude<ConnectionState, 'connected'>, MessageKey> = {
  connecting: 'meeting.connecting',
  reconnecting: 'meeting.reconnecting',
  failed: 'meeting.connectionFailed',
  insecure: 'meeting.insecure',
};

export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return letters.map((word) => [...word][0]!.toUpperCase()).join('') || '?';
}
