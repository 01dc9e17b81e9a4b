import { useState } from 'preact/hooks';

/**
 * Copies `text` to the clipboard on request; `copied` says it worked (for `resetMs` when given).
 * A blocked clipboard changes nothing: the text stays selectable in its field.
 */
export function useCopy(text: string, resetMs?: number): { copied: boolean; copy: () => Promise<void> } {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      return;
    }
    setCopied(true);
    if (resetMs !== undefined) setTimeout(() => setCopied(false), resetMs);
  };
  return { copied, copy };
}
