// Asking the browser for a screen, window or tab to share.

export type ScreenResult = { track: MediaStreamTrack } | { problem: 'unsupported' | 'cancelled' | 'failed' };

export function canShareScreen(): boolean {
  return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

export async function openScreen(): Promise<ScreenResult> {
  if (!canShareScreen()) return { problem: 'unsupported' };
  try {
    // Modest frame rate: a mesh sends one copy per participant, and text needs sharpness, not motion.
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) return { problem: 'failed' };
    track.contentHint = 'detail';
    return { track };
  } catch (error) {
    return { problem: error instanceof DOMException && error.name === 'NotAllowedError' ? 'cancelled' : 'failed' };
  }
}
