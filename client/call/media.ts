// The local camera and microphone: asks for both, and settles for less rather than failing.

export type MediaProblem = 'denied' | 'no-devices' | 'audio-only' | 'video-only' | 'insecure';

export interface LocalMedia {
  stream: MediaStream | null;
  problem?: MediaProblem;
}

/** A mesh sends one copy per peer: a modest resolution keeps eight people within home upload rates. */
const VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export async function openLocalMedia(): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) return { stream: null, problem: 'insecure' };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: VIDEO }) };
  } catch (error) {
    if (isDenied(error)) return { stream: null, problem: 'denied' };
  }
  for (const [constraints, problem] of [
    [{ audio: AUDIO }, 'audio-only'],
    [{ video: VIDEO }, 'video-only'],
  ] as const) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), problem };
    } catch (error) {
      if (isDenied(error)) return { stream: null, problem: 'denied' };
    }
  }
  return { stream: null, problem: 'no-devices' };
}

export function stopMedia(stream: MediaStream | null): void {
  stream?.getTracks().forEach((track) => track.stop());
}

function isDenied(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
}
