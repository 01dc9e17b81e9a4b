// Picks the user's language (German or English) and formats texts with {placeholders}.
import { de } from './de.js';
import { en, type MessageKey, type Messages } from './en.js';
import { localStore } from '../storage.js';

export type Language = 'de' | 'en';
export type { MessageKey };
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

const dictionaries: Record<Language, Messages> = { de, en };
const STORAGE_KEY = 'treff.language';

export function isLanguage(value: unknown): value is Language {
  return value === 'de' || value === 'en';
}

export function detectLanguage(stored: string | null, preferred: readonly string[], fallback: Language = 'en'): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split('-')[0];
    if (isLanguage(primary)) return primary;
  }
  return fallback;
}

/** Whether the user chose a language, or the browser prefers one of ours: then the operator's default does not apply. */
export function languageIsSettled(): boolean {
  return isLanguage(localStore.getItem(STORAGE_KEY)) || (navigator.languages ?? [navigator.language]).some((tag) => isLanguage(tag.toLowerCase().split('-')[0]));
}

export function initialLanguage(): Language {
  // Without storage the browser's language still applies.
  return detectLanguage(localStore.getItem(STORAGE_KEY), navigator.languages ?? [navigator.language]);
}

export function rememberLanguage(language: Language): void {
  localStore.setItem(STORAGE_KEY, language); // not remembered without storage, still switched
}

export function translator(language: Language): Translate {
  const messages = dictionaries[language];
  return (key, params) => messages[key].replace(/\{(\w+)\}/g, (match, name: string) => String(params?.[name] ?? match));
}
