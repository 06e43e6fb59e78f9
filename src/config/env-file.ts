import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './app-config.js';

type Env = Record<string, string | undefined>;

/** The environment the gateway reads its settings from, and where the `.env` part came from. */
export interface Environment {
  env: Env;
  /** The `.env` file that was read, if there was one. */
  file: string | undefined;
  /** How many of its settings were used (the environment did not set them). */
  fromFile: number;
}

/** Largest `.env` file read: a settings file is a few KiB; anything far bigger is not one. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

/**
 * The environment with `<cwd>/.env` beneath it: a variable the environment sets (non-empty) wins
 * over the file, as with dotenv; an empty one counts as unset, as loadConfig treats it. Parsed by
 * Node's own `util.parseEnv`. No `.env` is fine; one that cannot be read is a ConfigError.
 */
export function withEnvFile(env: Env, cwd: string): Environment {
  const file = join(cwd, '.env');
  let text: string;
  try {
    if (statSync(file).size > MAX_ENV_FILE_BYTES) throw new ConfigError([`${file} is larger than ${MAX_ENV_FILE_BYTES} bytes`]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { env, file: undefined, fromFile: 0 };
    throw new ConfigError([`${file} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  const merged: Env = { ...env };
  let fromFile = 0;
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (value === undefined || (env[key] !== undefined && env[key].trim() !== '')) continue;
    merged[key] = value;
    fromFile += 1;
  }
  return { env: merged, file, fromFile };
}
