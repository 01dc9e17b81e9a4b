// Structured logs: one JSON object per line with time, level and message, plus fields.
// What a participant says or is called never reaches a log: callers pass only ids, codes and
// counts, and as a second line of defence fields with names that could carry such content are
// dropped here.

import type { LogLevel } from './config.js';

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names never written, whatever a caller passes: meeting names, display names, passwords, SDP, chat. */
const FORBIDDEN_FIELDS = /^(name|displayname|room|password|sdp|candidate|chat|text|data|token|secret|credential)$/i;

export interface LoggerOptions {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
  /** Written on every line, e.g. a cluster node's id. */
  base?: Fields;
}

export function createLogger({ level, write = (line) => process.stdout.write(line + '\n'), now = () => new Date(), base = {} }: LoggerOptions): Logger {
  const at = (lineLevel: LogLevel) => (message: string, fields: Fields = {}) => {
    if (RANK[lineLevel] < RANK[level]) return;
    const entry: Record<string, unknown> = { time: now().toISOString(), level: lineLevel, msg: message };
    for (const [key, value] of Object.entries({ ...fields, ...base })) {
      if (value !== undefined && !FORBIDDEN_FIELDS.test(key) && !(key in entry)) entry[key] = value;
    }
    write(JSON.stringify(entry));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** For tests and embedders that want silence. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
