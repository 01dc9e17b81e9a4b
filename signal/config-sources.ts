// Where settings come from: the JSON config file, then the environment, then command-line flags,
// each overriding the one before. Everything is flattened into one record keyed by environment
// variable, which loadConfig validates; `origins` remembers where each value came from so an
// error can point the operator at the right line.

import { readFileSync } from 'node:fs';
import { ConfigError } from './config.js';
import { SETTING_LIST, flagOf, type Setting } from './settings.js';

export const CONFIG_FILE_ENV = 'TREFF_CONFIG';

export type Values = Record<string, string | undefined>;

export interface Sources {
  help: boolean;
  values: Values;
  /** env name → "--port", "TREFF_PORT" or `"port" in /etc/treff/config.json` */
  origins: Map<string, string>;
}

type Env = Record<string, string | undefined>;

export function gatherSettings(argv: readonly string[], env: Env, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): Sources {
  const args = parseArgs(argv);
  const origins = new Map<string, string>();
  const values: Values = {};
  const configPath = args.config ?? (env[CONFIG_FILE_ENV] || undefined);
  if (configPath && !args.help) {
    for (const [name, value] of Object.entries(settingsFromFile(readConfigFile(configPath, readFile), configPath))) {
      values[name] = value;
      origins.set(name, `"${keyOf(name)}" in ${configPath}`);
    }
  }
  for (const setting of SETTING_LIST) {
    const value = env[setting.env];
    if (value !== undefined && value !== '') {
      values[setting.env] = value;
      origins.set(setting.env, setting.env);
    }
  }
  for (const [name, value] of args.values) {
    values[name] = value;
    origins.set(name, flagOf(byEnv.get(name)!));
  }
  const secretFile = values.TREFF_TURN_SECRET_FILE;
  if (secretFile && !args.help) {
    if (values.TREFF_TURN_SECRET) throw new ConfigError('TREFF_TURN_SECRET_FILE', 'give either the secret or the file holding it, not both');
    values.TREFF_TURN_SECRET = readSecretFile(secretFile, readFile);
    origins.set('TREFF_TURN_SECRET', `the file ${secretFile}`);
  }
  return { help: args.help, values, origins };
}

/** Adds where the bad value came from to a ConfigError, when it did not come from the environment. */
export function explain(error: unknown, origins: Map<string, string>): unknown {
  if (!(error instanceof ConfigError)) return error;
  const origin = origins.get(error.setting);
  if (!origin || origin === error.setting) return error;
  const explained = new ConfigError(error.setting, error.problem);
  explained.message = `Invalid setting ${error.setting} (from ${origin}): ${error.problem}`;
  return explained;
}

const byEnv = new Map(SETTING_LIST.map((setting) => [setting.env, setting]));
const byFlag = new Map(SETTING_LIST.map((setting) => [flagOf(setting), setting]));
const byKey = new Map(SETTING_LIST.map((setting) => [setting.key, setting]));
const keyOf = (env: string) => byEnv.get(env)?.key ?? env;

interface Args {
  help: boolean;
  config: string | undefined;
  values: Map<string, string>;
}

/** `--port 443`, `--port=443`, `--trust-proxy` (a boolean without value), `--config file`, `--help`. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { help: false, config: undefined, values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      args.help = true;
      continue;
    }
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const setting = byFlag.get(name);
    if (name !== '--config' && !setting) throw new ConfigError(arg, 'unknown option; see --help');
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (setting?.type === 'boolean' && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw new ConfigError(name, 'needs a value');
      else value = argv[++i]!;
    }
    if (setting) args.values.set(setting.env, value);
    else args.config = value;
  }
  return args;
}

function readConfigFile(path: string, readFile: (path: string) => string): unknown {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new ConfigError(CONFIG_FILE_ENV, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(CONFIG_FILE_ENV, `${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** { "tls": { "cert": "/x" } } → { TREFF_TLS_CERT: "/x" }; unknown keys and wrong types are errors, so typos do not pass silently. */
export function settingsFromFile(json: unknown, path: string): Values {
  if (!isObject(json)) throw new ConfigError(CONFIG_FILE_ENV, `${path} must hold a JSON object`);
  const values: Values = {};
  const visit = (object: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [name, value] of Object.entries(object)) {
      const key = prefix + name;
      // "$comment" keys let an operator annotate the file; JSON has no comments.
      if (name.startsWith('$')) continue;
      const setting = byKey.get(key);
      if (!setting && isObject(value) && depth < 3) {
        visit(value, `${key}.`, depth + 1);
        continue;
      }
      if (!setting) throw new ConfigError(`"${key}" in ${path}`, 'is not a setting; see --help for the keys');
      values[setting.env] = fileValue(setting, value, `"${key}" in ${path}`);
    }
  };
  visit(json, '', 0);
  return values;
}

function fileValue(setting: Setting, value: unknown, where: string): string {
  const wrongType = (expected: string) => new ConfigError(where, `must be ${expected}, not ${JSON.stringify(value)}`);
  switch (setting.type) {
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      throw wrongType('a whole number');
    case 'boolean':
      if (typeof value === 'boolean') return String(value);
      throw wrongType('true or false');
    case 'list':
      if (Array.isArray(value) && value.every((item) => typeof item === 'string' && !item.includes(','))) return value.join(',');
      throw wrongType('a list of strings');
    case 'text':
    case 'choice':
      if (typeof value === 'string') return value;
      throw wrongType('a string');
  }
}

function readSecretFile(path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path).trim();
  } catch (error) {
    throw new ConfigError('TREFF_TURN_SECRET_FILE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
