import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from '../call/chat.js';
import { MAX_CHAT_LENGTH } from '../call/connection/peer-protocol.js';
import { useT } from './i18n-context.js';

/**
 * The chat beside the tiles. Texts are rendered as text nodes (preact escapes them), never as HTML:
 * whatever a participant types, including markup, is shown literally.
 */
export function ChatPanel({ messages, onSend, onClose }: { messages: ChatMessage[]; onSend: (text: string) => boolean; onClose: () => void }) {
  const t = useT();
  const [draft, setDraft] = useState('');
  const [invalid, setInvalid] = useState(false);
  const log = useRef<HTMLOListElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  // Times in the UI's language (App keeps <html lang> in step with it).
  const time = useMemo(() => new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: '2-digit', minute: '2-digit' }), []);

  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    const element = log.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [messages.length]);

  const send = (event?: Event) => {
    event?.preventDefault();
    if (!draft.trim()) return;
    if (!onSend(draft)) return setInvalid(true);
    setDraft('');
    setInvalid(false);
  };

  return (
    <aside class="chat" aria-labelledby="chat-title" onKeyDown={(event) => event.key === 'Escape' && onClose()}>
      <header class="chat-header">
        <h2 id="chat-title">{t('chat.title')}</h2>
        <button class="link" onClick={onClose} aria-label={t('chat.close')} title={t('chat.close')}>
          ✕
        </button>
      </header>
      <p class="hint">{t('chat.noHistory')}</p>
      <ol class="chat-log" ref={log} aria-live="polite">
        {messages.length === 0 && <li class="hint">{t('chat.empty')}</li>}
        {messages.map((message) => (
          <li key={message.id} class={message.from === null ? 'mine' : ''} data-from={message.from ?? 'me'}>
            <span class="chat-meta">
              <span class="chat-name">{message.from === null ? `${message.name} (${t('meeting.you')})` : message.name}</span>{' '}
              <time dateTime={new Date(message.at).toISOString()}>{time.format(message.at)}</time>
            </span>
            <p class="chat-text">{message.text}</p>
          </li>
        ))}
      </ol>
      <form class="chat-form" onSubmit={send}>
        <textarea
          ref={input}
          rows={2}
          maxLength={MAX_CHAT_LENGTH}
          aria-label={t('chat.label')}
          placeholder={t('chat.placeholder')}
          aria-invalid={invalid ? 'true' : undefined}
          value={draft}
          onInput={(event) => {
            setDraft(event.currentTarget.value);
            setInvalid(false);
          }}
          // Enter sends, Shift+Enter starts a new line.
          onKeyDown={(event) => {
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) send(event);
          }}
        />
        <button type="submit" class="primary">
          {t('chat.send')}
        </button>
      </form>
      {invalid && (
        <p class="error" role="alert">
          {t('chat.invalid', { max: MAX_CHAT_LENGTH })}
        </p>
      )}
    </aside>
  );
}
