// Inline icons: no icon font, no request to anyone.
import type { JSX } from 'preact';

const icon = (path: JSX.Element) => (
  <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    {path}
  </svg>
);

export const MicIcon = ({ off }: { off?: boolean }) =>
  icon(
    <>
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
      {off && <path d="M3 3l18 18" />}
    </>,
  );

export const CameraIcon = ({ off }: { off?: boolean }) =>
  icon(
    <>
      <rect x="3" y="6" width="13" height="12" rx="2" />
      <path d="M16 10l5-3v10l-5-3" />
      {off && <path d="M3 3l18 18" />}
    </>,
  );

export const LeaveIcon = () => icon(<path d="M10 17l-5-5 5-5M5 12h11M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4" />);

export const LockIcon = () =>
  icon(
    <>
      <rect x="5" y="11" width="14" height="10" rx="2" />
      <path d="M8 11V7a4 4 0 0 1 8 0v4" />
    </>,
  );

export const ScreenIcon = ({ off }: { off?: boolean }) =>
  icon(
    <>
      <rect x="3" y="4" width="18" height="12" rx="2" />
      <path d="M8 20h8M12 16v4" />
      {off && <path d="M3 3l18 18" />}
    </>,
  );

export const HandIcon = () => icon(<path d="M8 13V5.5a1.5 1.5 0 0 1 3 0V12m0-7.5a1.5 1.5 0 0 1 3 0V12m0-6a1.5 1.5 0 0 1 3 0v7a7 7 0 0 1-12.5 4.3L3.4 14a1.5 1.5 0 0 1 2.3-1.9L8 14" />);

export const ChatIcon = () => icon(<path d="M4 5h16v11H9l-5 4z" />);
