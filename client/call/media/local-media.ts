// The local camera and microphone: asks for both, and settles for less rather than failing.

export type MediaProblem = 'denied' | 'no-devices' | 'audio-only' | 'video-only' | 'insecure';

export interface LocalMedia {
  stream: MediaStream | null;
  problem?: MediaProblem;
}

/** A mesh sends one copy per peer: a modest resolution keeps eight people within home upload rates. */
const VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Chosen devices (deviceId); undefined: the browser's default. */
export interface DeviceChoice {
  microphone?: string | undefined;
  camera?: string | undefined;
}

export interface Device {
  id: string;
  label: string;
}

export async function openLocalMedia(choice: DeviceChoice = {}): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) return { stream: null, problem: 'insecure' };
  const audio = choice.microphone ? { ...AUDIO, deviceId: { exact: choice.microphone } } : AUDIO;
  const video = choice.camera ? { ...VIDEO, deviceId: { exact: choice.camera } } : VIDEO;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }) };
  } catch (error) {
    if (isDenied(error)) return { stream: null, problem: 'denied' };
  }
  for (const [constraints, problem] of [
    [{ audio }, 'audio-only'],
    [{ video }, 'video-only'],
  ] as const) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), problem };
    } catch (error) {
      if (isDenied(error)) return { stream: null, problem: 'denied' };
    }
  }
  return { stream: null, problem: 'no-devices' };
}

/** Microphones and cameras, with names once the user allowed access (before that browsers hide them). */
export async function listDevices(): Promise<{ microphones: Device[]; cameras: Device[] }> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.().catch(() => [])) ?? [];
  const of = (kind: MediaDeviceKind) =>
    all.filter((d) => d.kind === kind && d.deviceId).map((d, i) => ({ id: d.deviceId, label: d.label || `${kind === 'audioinput' ? '🎤' : '📷'} ${i + 1}` }));
  return { microphones: of('audioinput'), cameras: of('videoinput') };
}

/** The device a track comes from, to preselect it. */
export function deviceOf(stream: MediaStream | null, kind: 'audio' | 'video'): string | undefined {
  const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
  return track?.getSettings().deviceId;
}

export function stopMedia(stream: MediaStream | null): void {
  stream?.getTracks().forEach((track) => track.stop());
}

function isDenied(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
}
